"""Label colours."""
from typing import List

import numpy as np

__all__ = ['voc_palette', 'voc_palette_array']


def voc_palette(num: int = 256) -> List[int]:
    """PASCAL VOC colour palette, flattened ``[r0, g0, b0, r1, ...]`` (for ``PIL.Image.putpalette``).

    Label ``l`` gets the colour whose bits are the bits of ``l`` dealt round-robin to R, G, B from the most
    significant bit down (1 -> (128, 0, 0), 2 -> (0, 128, 0), 255 -> (224, 224, 192)).
    """
    out: List[int] = []
    for label in range(num):
        rgb = [0, 0, 0]
        value = label
        bit = 7
        while value:
            for ch in range(3):
                rgb[ch] |= (value & 1) << bit
                value >>= 1
            bit -= 1
        out += rgb
    return out


def voc_palette_array(num: int = 256) -> np.ndarray:
    """The VOC palette as a ``(num, 3)`` uint8 array."""
    return np.asarray(voc_palette(num), dtype=np.uint8).reshape(num, 3)
