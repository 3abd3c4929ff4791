from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RescaledView(BaseTransform):
    """The second view of siamese WSSS methods: the (cropped) image bilinearly resized (rtc.md §3-4).

    RTC/PPC/SEAM make view 2 inside the training loop: ``img2 = F.interpolate(img1, size=(128, 128),
    mode='bilinear', align_corners=True)`` on the *normalised* 448x448 crop, zero padding included. Here view
    2 is made in the pipeline from the raw-valued crop (mean-coloured padding, see ``RandomCropPad``). Bilinear
    interpolation is an affine combination of pixels with weights summing to 1, so it commutes with the
    per-channel normalisation ``(x - mean) / std``: normalising this view gives RTC's view 2 up to float
    rounding (proved in tests/test_datasets). A model can equally build view 2 itself from the normalised
    batch with the same call -- that is RTC's code path and needs no pipeline support.

    Added keys: ``img_view2`` (``dst_key``): float32 HxWxC, raw pixel values in the pipeline's channel order
    (BGR), NOT normalised -- the model must apply the data preprocessor's ``bgr_to_rgb``/mean/std to it.
    ``PackWSSSInputs`` packs it as ``data_sample.img_view2`` (C, h, w).

    Args:
        size: output (h, w) (RTC: (128, 128)); or
        scale: output = round(input side * scale) (e.g. 128 / 448) when ``size`` is None.
        mode: 'bilinear' (RTC) or 'bicubic' / 'nearest'.
        align_corners: True in RTC.
    """

    def __init__(self, size: Optional[Union[int, Sequence[int]]] = (128, 128), scale: Optional[float] = None,
                 mode: str = 'bilinear', align_corners: bool = True, src_key: str = 'img',
                 dst_key: str = 'img_view2') -> None:
        if size is None and scale is None:
            raise ValueError('give size or scale')
        if isinstance(size, int):
            size = (size, size)
        self.size = tuple(size) if size is not None else None
        self.scale = scale
        self.mode = mode
        self.align_corners = align_corners if mode in ('bilinear', 'bicubic') else None
        self.src_key = src_key
        self.dst_key = dst_key

    def _out_size(self, h: int, w: int) -> Tuple[int, int]:
        if self.size is not None:
            return int(self.size[0]), int(self.size[1])
        return max(1, int(round(h * self.scale))), max(1, int(round(w * self.scale)))

    def transform(self, results: dict) -> dict:
        img = np.asarray(results[self.src_key], dtype=np.float32)
        if img.ndim == 2:
            img = img[..., None]
        h, w = img.shape[:2]
        t = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]
        out = F.interpolate(t, size=self._out_size(h, w), mode=self.mode, align_corners=self.align_corners)
        results[self.dst_key] = out[0].numpy().transpose(1, 2, 0).copy()
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, scale={self.scale}, mode={self.mode!r}, '
                f'align_corners={self.align_corners})')
