from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS

# pad values of the extra maps mmwsss loads ('max+1': a new segment id covering the padding, as ICD does)
DEFAULT_MAP_PAD_VALS: Dict[str, Union[int, float, str]] = {
    'gt_seg_map': 255,
    'gt_pseudo_seg': 255,
    'gt_saliency': 0.0,
    'gt_superpixels': 'max+1',
}


def psa_crop_offsets(size: int, crop: int, rand: float) -> Tuple[int, int]:
    """One axis of psa's ``RandomCrop``: ``(container_offset, image_offset)``.

    If the image is longer than the crop, a window starts at a uniform image offset in
    ``0..size-crop`` (container offset 0); otherwise the whole image goes to a uniform container offset in
    ``0..crop-size`` (image offset 0). ``rand`` in [0, 1) selects the offset.
    """
    space = size - crop
    if space > 0:
        return 0, int(rand * (space + 1))
    return int(rand * (-space + 1)), 0


@TRANSFORMS.register_module()
class RandomCropPad(BaseTransform):
    """psa-style random crop into a fixed-size container (affinitynet.md §4.2, rtc.md §4).

    Per axis: a random ``crop_size`` window if the image is longer, otherwise the image is placed at a random
    offset (``placement='random'``, psa/RTC) or at offset 0 (``placement='top_left'``, ICD pads bottom/right)
    inside the container. The rest of the container is padding.

    **Normalisation convention.** psa normalises first and pads with 0. mmwsss follows mmseg: the image stays
    in raw pixel values here and is normalised by ``SegDataPreProcessor``; the padding is therefore filled
    with ``img_pad_val`` = the preprocessor's mean **in the pipeline's channel order** (BGR after
    ``LoadImageFromFile``; i.e. ``mean[::-1]`` when the preprocessor has ``bgr_to_rgb=True``), which
    normalises to exactly 0. The output image is float32 (the mean is fractional). ``tests/test_datasets``
    proves this equals psa's normalise-then-crop tensor. Pipelines that crop *before* normalising pad with
    raw black instead -- ICAM's AffinityNet stage does (icam.md §4.1, a quirk): ``img_pad_val=0`` reproduces it.

    Maps in ``seg_fields`` get the same window; their padding comes from ``map_pad_vals`` (defaults: masks
    255 = ignore, saliency 0, superpixels a new id max+1), any other map ``seg_pad_val``.

    Required keys: img. Modified keys: img (float32, crop_size), img_shape, seg_fields maps. Added keys:
    ``crop_box = (y0, y1, x0, x1)``: the container region that holds image pixels (RTC's ``img_box``), also
    ``crop_offset = (img_top, img_left)``: where the window starts in the input image.

    Geometric transforms that follow must keep ``crop_box`` in sync (``WSSSRandomFlip`` does); psa and RTC
    flip before cropping.

    Args:
        crop_size: (h, w) or an int.
        img_pad_val: a number or one value per channel, in the image's channel order.
        seg_pad_val: pad value of maps without an entry in ``map_pad_vals``.
        map_pad_vals: per results key pad values; merged over ``DEFAULT_MAP_PAD_VALS``.
        placement: 'random' (psa) or 'top_left' (ICD).
    """

    def __init__(self, crop_size: Union[int, Sequence[int]],
                 img_pad_val: Union[float, Sequence[float]] = 0.,
                 seg_pad_val: int = 255,
                 map_pad_vals: Optional[Dict[str, Union[int, float, str]]] = None,
                 placement: str = 'random') -> None:
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        crop_size = tuple(int(c) for c in crop_size)
        if len(crop_size) != 2 or min(crop_size) <= 0:
            raise ValueError(f'crop_size must be a positive int or (h, w), got {crop_size}')
        if placement not in ('random', 'top_left'):
            raise ValueError(f"placement must be 'random' or 'top_left', got {placement!r}")
        self.crop_size = crop_size
        self.img_pad_val = img_pad_val
        self.seg_pad_val = seg_pad_val
        self.map_pad_vals = dict(DEFAULT_MAP_PAD_VALS)
        self.map_pad_vals.update(map_pad_vals or {})
        self.placement = placement

    @cache_randomness
    def _rand(self) -> Tuple[float, float]:
        """Two uniform numbers in [0, 1): width first, then height (psa's draw order)."""
        return float(np.random.random_sample()), float(np.random.random_sample())

    def _offsets(self, h: int, w: int) -> Tuple[int, int, int, int]:
        """``(cont_top, img_top, cont_left, img_left)``."""
        rw, rh = self._rand()
        cont_left, img_left = psa_crop_offsets(w, self.crop_size[1], rw)
        cont_top, img_top = psa_crop_offsets(h, self.crop_size[0], rh)
        if self.placement == 'top_left':  # ICD: a short image sits at the top left (padding bottom/right)
            cont_top = cont_left = 0
        return cont_top, img_top, cont_left, img_left

    def _pad_value(self, key: str, arr: np.ndarray):
        val = self.map_pad_vals.get(key, self.seg_pad_val)
        if val == 'max+1':
            return (int(arr.max()) + 1) if arr.size else 0
        return val

    @staticmethod
    def _paste(arr: np.ndarray, container: np.ndarray, box, src) -> np.ndarray:
        y0, y1, x0, x1 = box
        sy, sx = src
        container[y0:y1, x0:x1] = arr[sy:sy + y1 - y0, sx:sx + x1 - x0]
        return container

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        ch, cw = self.crop_size
        cont_top, img_top, cont_left, img_left = self._offsets(h, w)
        box = (cont_top, cont_top + min(ch, h), cont_left, cont_left + min(cw, w))
        shape = (ch, cw) + img.shape[2:]
        container = np.empty(shape, dtype=np.float32)
        container[...] = np.asarray(self.img_pad_val, dtype=np.float32)
        results['img'] = self._paste(img, container, box, (img_top, img_left))
        for key in results.get('seg_fields', []):
            arr = results.get(key)
            if arr is None:
                continue
            cont = np.full((ch, cw) + arr.shape[2:], self._pad_value(key, arr), dtype=arr.dtype)
            results[key] = self._paste(arr, cont, box, (img_top, img_left))
        results['img_shape'] = (ch, cw)
        results['crop_box'] = tuple(int(v) for v in box)
        results['crop_offset'] = (int(img_top), int(img_left))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, img_pad_val={self.img_pad_val}, '
                f'seg_pad_val={self.seg_pad_val}, placement={self.placement!r})')
