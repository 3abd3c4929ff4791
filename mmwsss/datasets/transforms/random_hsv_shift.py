from typing import Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS


def hsv_shift(img: np.ndarray, dh: int, ds: int, dv: int, channel_order: str = 'bgr') -> np.ndarray:
    """Shift a uint8 HxWx3 image in OpenCV's uint8 HSV space (H in 0..179, S and V in 0..255).

    ``H' = (H + dh) mod 180``, ``S' = clip(S + ds, 0, 255)``, ``V' = clip(V + dv, 0, 255)``, converted back to
    ``channel_order`` (deeplab_final.md §3, YudeWang ``RandomHSV``). RGB->HSV of an RGB image equals BGR->HSV of
    the same image in BGR order, so the result does not depend on the order as long as it is declared correctly.
    """
    to_hsv, from_hsv = ((cv2.COLOR_BGR2HSV, cv2.COLOR_HSV2BGR) if channel_order == 'bgr' else
                        (cv2.COLOR_RGB2HSV, cv2.COLOR_HSV2RGB))
    hsv = cv2.cvtColor(img, to_hsv).astype(np.int32)
    hsv[..., 0] = np.mod(hsv[..., 0] + dh, 180)
    hsv[..., 1] = np.clip(hsv[..., 1] + ds, 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] + dv, 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), from_hsv)


@TRANSFORMS.register_module()
class RandomHSVShift(BaseTransform):
    """YudeWang semantic-segmentation-codebase ``RandomHSV(h_r, s_r, v_r)`` (deeplab_final.md §3, §5.3).

    Always applied (no probability): one integer shift per channel is drawn for the whole image, in the order
    H, S, V, each with ``np.random.randint(-delta, delta)``; the hue is shifted modulo 180 (OpenCV uint8 hue
    units), S and V are clipped to 0..255 (see :func:`hsv_shift`). The original converts its RGB image
    (``cv2.imread`` + BGR->RGB) with ``COLOR_RGB2HSV``/``COLOR_HSV2RGB``; mmcv pipelines hold BGR, hence
    ``channel_order='bgr'`` (same result on the same picture).

    Quirk (kept by default): ``np.random.randint`` excludes its upper bound, so the original draws from
    ``[-delta, delta - 1]`` (a shift of +delta never happens). ``inclusive_upper=True`` draws from
    ``[-delta, delta]`` instead. A delta of 0 gives a shift of 0 without a draw (the original would raise).

    Required keys: img (uint8 HxWx3). Modified keys: img.

    Args:
        h_delta: hue shift bound, OpenCV hue units (1 unit = 2 degrees).
        s_delta: saturation shift bound.
        v_delta: value shift bound.
        channel_order: 'bgr' (mmcv's loaders) or 'rgb'.
        inclusive_upper: False = original ``randint(-d, d)`` quirk; True = symmetric ``[-d, d]``.
    """

    def __init__(self, h_delta: int = 10, s_delta: int = 10, v_delta: int = 10, channel_order: str = 'bgr',
                 inclusive_upper: bool = False) -> None:
        for name, val in (('h_delta', h_delta), ('s_delta', s_delta), ('v_delta', v_delta)):
            if int(val) != val or val < 0:
                raise ValueError(f'{name} must be a non-negative integer, got {val!r}')
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
        self.h_delta = int(h_delta)
        self.s_delta = int(s_delta)
        self.v_delta = int(v_delta)
        self.channel_order = channel_order
        self.inclusive_upper = bool(inclusive_upper)

    def _draw(self, delta: int) -> int:
        if delta == 0:
            return 0
        return int(np.random.randint(-delta, delta + 1 if self.inclusive_upper else delta))

    @cache_randomness
    def _random_shifts(self) -> Tuple[int, int, int]:
        """(dh, ds, dv), drawn in this order from numpy's global RNG (as the original)."""
        dh = self._draw(self.h_delta)
        ds = self._draw(self.s_delta)
        dv = self._draw(self.v_delta)
        return dh, ds, dv

    def transform(self, results: dict) -> dict:
        img = results['img']
        if not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3):
            raise TypeError(f"RandomHSVShift needs a uint8 HxWx3 image ({results.get('img_path', '<no img_path>')}), "
                            f'got {type(img).__name__} {getattr(img, "dtype", None)} {getattr(img, "shape", None)}; '
                            'put it before any float conversion / normalisation')
        dh, ds, dv = self._random_shifts()
        results['img'] = hsv_shift(img, dh, ds, dv, self.channel_order)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(h_delta={self.h_delta}, s_delta={self.s_delta}, '
                f'v_delta={self.v_delta}, channel_order={self.channel_order!r}, '
                f'inclusive_upper={self.inclusive_upper})')
