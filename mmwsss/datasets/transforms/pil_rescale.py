from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS
from PIL import Image

from .utils import bgr_to_pil, pil_resize_map, pil_to_bgr


def rescaled_size(h: int, w: int, scale: float) -> Tuple[int, int]:
    """psa's multi-scale size ``(round(H*s), round(W*s))`` with Python's banker's rounding
    (affinitynet.md §5.1: 187.5 -> 188, 186.5 -> 186)."""
    return int(round(h * scale)), int(round(w * scale))


@TRANSFORMS.register_module()
class PILRescale(BaseTransform):
    """Rescale by a fixed factor with PIL, as psa's / RTC's multi-scale CAM inference does
    (``VOC12ClsDatasetMSF``: size ``(round(W·s), round(H·s))``, PIL bicubic).

    Use it inside mmcv's ``TestTimeAug`` with one instance per scale, e.g. scales (1.0, 0.5, 1.5, 2.0) times
    ``RandomFlip(prob=0.)`` / ``RandomFlip(prob=1.)``: TestTimeAug's product order then gives psa's input order
    [s1, s1-flip, s0.5, s0.5-flip, ...]. Maps in ``seg_fields`` are resized with PIL (nearest for integer
    maps, bilinear for float maps); leave GT masks out of the pipeline when evaluating at the original size.

    Required keys: img. Modified keys: img, img_shape, seg_fields maps. Added keys: scale_factor
    ``(w_scale, h_scale)`` of the actual sizes, keep_ratio.

    Args:
        scale_factor: the scale s.
        interpolation: 'bicubic' (psa/RTC) or 'bilinear'.
    """

    def __init__(self, scale_factor: float, interpolation: str = 'bicubic') -> None:
        if scale_factor <= 0:
            raise ValueError(f'scale_factor must be positive, got {scale_factor}')
        if interpolation not in ('bicubic', 'bilinear'):
            raise ValueError(f"interpolation must be 'bicubic' or 'bilinear', got {interpolation!r}")
        self.scale_factor = float(scale_factor)
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        new_h, new_w = rescaled_size(h, w, self.scale_factor)
        if (new_h, new_w) != (h, w):
            resample = Image.BICUBIC if self.interpolation == 'bicubic' else Image.BILINEAR
            results['img'] = pil_to_bgr(bgr_to_pil(img).resize((new_w, new_h), resample=resample))
            for key in results.get('seg_fields', []):
                arr = results.get(key)
                if arr is not None:
                    mode = 'bilinear' if np.issubdtype(arr.dtype, np.floating) else 'nearest'
                    results[key] = pil_resize_map(arr, (new_w, new_h), mode)
        results['img_shape'] = (new_h, new_w)
        results['scale_factor'] = (new_w / w, new_h / h)
        results['keep_ratio'] = True
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale_factor={self.scale_factor}, '
                f'interpolation={self.interpolation!r})')
