import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS

# dtypes cv2.resize accepts for single-channel maps; others go through int32
_CV2_MAP_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32, np.float64)

_INTERP = {'bicubic': cv2.INTER_CUBIC, 'bilinear': cv2.INTER_LINEAR, 'nearest': cv2.INTER_NEAREST}


@TRANSFORMS.register_module()
class RandomScaleFactor(BaseTransform):
    """YudeWang semantic-segmentation-codebase ``RandomScale`` (deeplab_final.md §3, §5.3).

    One factor ``r ~ U(min_scale, max_scale)`` per sample, relative to the CURRENT image size (not to a target
    scale as mmseg's ``RandomResize``): ``cv2.resize(img, None, fx=r, fy=r)`` with bicubic interpolation, every
    map in ``seg_fields`` with the same ``fx = fy = r`` and nearest neighbour, so image and masks get the same
    (OpenCV-rounded) size and no new label values appear.

    Required keys: img. Modified keys: img, img_shape, every key of seg_fields. Added keys: scale_factor
    ``(w_scale, h_scale)`` = new size / old size (as mmcv's ``Resize``), keep_ratio.

    Randomness: ``np.random.uniform`` (numpy's global RNG).

    Args:
        min_scale: lower bound of the factor.
        max_scale: upper bound of the factor.
        interpolation: image interpolation, 'bicubic' (original), 'bilinear' or 'nearest'.
    """

    def __init__(self, min_scale: float = 0.5, max_scale: float = 1.5, interpolation: str = 'bicubic') -> None:
        if not 0 < min_scale <= max_scale:
            raise ValueError(f'need 0 < min_scale <= max_scale, got {min_scale}, {max_scale}')
        if interpolation not in _INTERP:
            raise ValueError(f'interpolation must be one of {sorted(_INTERP)}, got {interpolation!r}')
        self.min_scale = float(min_scale)
        self.max_scale = float(max_scale)
        self.interpolation = interpolation

    @cache_randomness
    def _random_factor(self) -> float:
        return float(np.random.uniform(self.min_scale, self.max_scale))

    def _resize_img(self, img: np.ndarray, factor: float) -> np.ndarray:
        return cv2.resize(img, None, fx=factor, fy=factor, interpolation=_INTERP[self.interpolation])

    @staticmethod
    def _resize_map(arr: np.ndarray, factor: float) -> np.ndarray:
        if arr.dtype.type in _CV2_MAP_DTYPES:
            return cv2.resize(arr, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)
        out = cv2.resize(arr.astype(np.int32), None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)
        return out.astype(arr.dtype)

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        factor = self._random_factor()
        try:
            img = self._resize_img(img, factor)
        except cv2.error as err:  # e.g. a 1-px side rounded to 0
            raise ValueError(f"RandomScaleFactor: cannot scale {results.get('img_path', 'the image')} of size "
                             f'{h}x{w} by {factor:.4f}: {err}') from err
        new_h, new_w = img.shape[:2]
        results['img'] = img
        for key in results.get('seg_fields', []):
            if results.get(key) is not None:
                results[key] = self._resize_map(results[key], factor)
        results['img_shape'] = (new_h, new_w)
        results['scale_factor'] = (new_w / w, new_h / h)
        results['keep_ratio'] = True
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_scale={self.min_scale}, max_scale={self.max_scale}, '
                f'interpolation={self.interpolation!r})')
