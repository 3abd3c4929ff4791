"""A titled image grid (pure PIL)."""
from typing import Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ['make_grid']


def make_grid(tiles: Sequence[Sequence[Optional[np.ndarray]]],
              titles: Optional[Sequence[Sequence[str]]] = None,
              pad: int = 4,
              title_height: int = 14,
              background: int = 255) -> np.ndarray:
    """Arrange rows of uint8 RGB tiles into one image; ``None`` leaves a cell empty.

    Every cell is as large as the largest tile (and at least as wide as the widest title); tiles sit at the
    cell's top-left below their title.
    Returns a uint8 ``(H, W, 3)`` array.
    """
    rows = [list(r) for r in tiles]
    if not rows or not any(t is not None for r in rows for t in r):
        raise ValueError('make_grid needs at least one tile')
    for r in rows:
        for t in r:
            if t is not None and (t.dtype != np.uint8 or t.ndim != 3 or t.shape[2] != 3):
                raise ValueError(f'tiles must be uint8 (H, W, 3), got {t.dtype} of shape {t.shape}')
    if titles is not None and (len(titles) != len(rows) or any(len(a) > len(b) for a, b in zip(titles, rows))):
        raise ValueError('titles must have one row per tile row and at most one title per tile')
    font = ImageFont.load_default()
    cell_h = max(t.shape[0] for r in rows for t in r if t is not None)
    cell_w = max(t.shape[1] for r in rows for t in r if t is not None)
    if titles is not None:  # widen the cells so that titles do not run into each other
        measure = ImageDraw.Draw(Image.new('RGB', (1, 1)))
        text_w = max((measure.textlength(str(x), font=font) for r in titles for x in r if x), default=0)
        cell_w = max(cell_w, int(np.ceil(text_w)) + 2)
    ncols = max(len(r) for r in rows)
    th = title_height if titles is not None else 0
    height = pad + len(rows) * (cell_h + th + pad)
    width = pad + ncols * (cell_w + pad)
    canvas = Image.new('RGB', (width, height), (background, ) * 3)
    draw = ImageDraw.Draw(canvas)
    for i, r in enumerate(rows):
        y = pad + i * (cell_h + th + pad)
        for j, t in enumerate(r):
            x = pad + j * (cell_w + pad)
            if titles is not None and j < len(titles[i]) and titles[i][j]:
                draw.text((x, y), str(titles[i][j]), fill=(0, 0, 0), font=font)
            if t is not None:
                canvas.paste(Image.fromarray(t), (x, y + th))
    return np.asarray(canvas)
