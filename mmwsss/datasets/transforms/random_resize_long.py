from typing import Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS
from PIL import Image

from .utils import bgr_to_pil, pil_resize_map, pil_to_bgr


def long_side_size(h: int, w: int, target_long: int) -> Tuple[int, int]:
    """psa's ``RandomResizeLong`` geometry: ``(new_h, new_w)`` with the long side = ``target_long``.

    The width is the long side when ``w >= h`` (ties go to the width, as in psa); the other side is
    ``int(round(other * target_long / long))`` with Python's ``round`` (banker's rounding: 343.5 -> 344,
    346.5 -> 346).
    """
    if w < h:
        return target_long, int(round(w * target_long / h))
    return int(round(h * target_long / w)), target_long


@TRANSFORMS.register_module()
class RandomResizeLong(BaseTransform):
    """Resize so that the long side is a uniform random integer in ``[min_long, max_long]`` (both inclusive),
    keeping the aspect ratio -- psa's ``tool.imutils.RandomResizeLong`` (affinitynet.md §4.2).

    The image is resized with PIL bicubic by default (``backend='pillow'``, psa-faithful; needs a uint8
    image). ``backend='cv2'`` uses ``cv2.resize(INTER_CUBIC)`` instead, which is faster but NOT equal: PIL's
    bicubic uses a = -0.5 and widens the kernel (anti-aliasing) when shrinking, cv2 uses a = -0.75 and a fixed
    4x4 kernel. Measured on the 40 toy images of ``make_toy_voc(size=64, seed=0)`` (RGB uint8 outputs,
    every channel and pixel; reproduce with ``tools/benchmark/benchmark_pipeline.py --resize-diff``):

    =================================  ===============  ================
    target long side (from 48..64 px)  max |PIL - cv2|  mean |PIL - cv2|
    =================================  ===============  ================
    enlarge to 96..128                 12               0.60
    toy config range 40..80            47               0.89
    shrink to 32..48                   59               2.57
    =================================  ===============  ================

    (enlarging differs only by the kernel constant; shrinking also by PIL's anti-aliasing, which cv2
    lacks). Maps listed in ``seg_fields`` are resized with PIL too: integer maps nearest, float maps
    (saliency) bilinear.

    Required keys: img. Modified keys: img, img_shape, every key of seg_fields. Added keys: scale_factor
    ``(w_scale, h_scale)``, keep_ratio.

    Randomness: ``np.random.randint`` (psa uses Python's ``random.randint``; same distribution).

    Args:
        min_long: smallest long side (inclusive).
        max_long: largest long side (inclusive).
        backend: 'pillow' (faithful) or 'cv2'.
        interpolation: image interpolation, 'bicubic' (psa) or 'bilinear'.
    """

    def __init__(self, min_long: int, max_long: int, backend: str = 'pillow',
                 interpolation: str = 'bicubic') -> None:
        if not 0 < min_long <= max_long:
            raise ValueError(f'need 0 < min_long <= max_long, got {min_long}, {max_long}')
        if backend not in ('pillow', 'cv2'):
            raise ValueError(f"backend must be 'pillow' or 'cv2', got {backend!r}")
        if interpolation not in ('bicubic', 'bilinear'):
            raise ValueError(f"interpolation must be 'bicubic' or 'bilinear', got {interpolation!r}")
        self.min_long = int(min_long)
        self.max_long = int(max_long)
        self.backend = backend
        self.interpolation = interpolation

    @cache_randomness
    def _random_long(self) -> int:
        return int(np.random.randint(self.min_long, self.max_long + 1))

    def _resize_img(self, img: np.ndarray, size_wh: Tuple[int, int]) -> np.ndarray:
        if self.backend == 'pillow':
            resample = Image.BICUBIC if self.interpolation == 'bicubic' else Image.BILINEAR
            return pil_to_bgr(bgr_to_pil(img).resize(size_wh, resample=resample))
        flag = cv2.INTER_CUBIC if self.interpolation == 'bicubic' else cv2.INTER_LINEAR
        return cv2.resize(img, size_wh, interpolation=flag)

    @staticmethod
    def _resize_map(arr: np.ndarray, size_wh: Tuple[int, int]) -> np.ndarray:
        mode = 'bilinear' if np.issubdtype(arr.dtype, np.floating) else 'nearest'
        return pil_resize_map(arr, size_wh, mode)

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        new_h, new_w = long_side_size(h, w, self._random_long())
        results['img'] = self._resize_img(img, (new_w, new_h))
        for key in results.get('seg_fields', []):
            if results.get(key) is not None:
                results[key] = self._resize_map(results[key], (new_w, new_h))
        results['img_shape'] = (new_h, new_w)
        results['scale_factor'] = (new_w / w, new_h / h)
        results['keep_ratio'] = True
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_long={self.min_long}, max_long={self.max_long}, '
                f'backend={self.backend!r}, interpolation={self.interpolation!r})')
