"""AffinityNet pair labels from the la/ha CRF marginals (psa ``voc12/data.py``: ``VOC12AffDataset`` and
``ExtractAffinityLabelInRadius``; affinitynet.md §4.3), computed in the data-loader workers.

Pipeline (psa order: jitter, joint crop, joint flip, then labels)::

    AffinityCRFDataset (loads gt_la_crf / gt_ha_crf) -> PhotoMetricJitter -> RandomCropPad -> WSSSRandomFlip
        -> ExtractAffinityLabels -> PackAffinityInputs

``PackAffinityInputs`` (``pack_affinity_inputs.py``) carries the labels into the data sample.
"""
from typing import Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from mmwsss.refinement.random_walk import pair_label_codes

__all__ = ['block_mean', 'affinity_label_map', 'ExtractAffinityLabels', 'PackAffinityInputs']


def block_mean(maps: np.ndarray, stride: int) -> np.ndarray:
    """``skimage.measure.block_reduce(maps, (stride, stride, 1), np.mean)``: mean over ``stride x stride``
    blocks of an ``(H, W, C)`` map, zero-padded bottom/right to a multiple of ``stride`` (the padding counts
    in the mean, as in skimage). Computed in float64; returns ``(ceil(H/s), ceil(W/s), C)``."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3:
        raise ValueError(f'expected an (H, W, C) map, got shape {maps.shape}')
    h, w, c = maps.shape
    ph, pw = -h % stride, -w % stride
    if ph or pw:
        maps = np.pad(maps, ((0, ph), (0, pw), (0, 0)))
    gh, gw = maps.shape[0] // stride, maps.shape[1] // stride
    return maps.reshape(gh, stride, gw, stride, c).mean(axis=(1, 3))


def affinity_label_map(la: np.ndarray,
                       ha: np.ndarray,
                       no_score_eps: float = 1e-5,
                       ignore_index: int = 255) -> np.ndarray:
    """psa's grid label map from the block-averaged la/ha marginals ``(h, w, n)`` each::

        no_score = max over all 2n channels < eps     (only padding)
        L = argmax(la); L[argmax(la) == 0] = ignore; L[argmax(ha) == 0] = 0; L[no_score] = ignore

    Labels are channel indices (0 = background, i = i-th present class), uint8.
    """
    if la.shape != ha.shape:
        raise ValueError(f'la marginals of shape {la.shape} but ha marginals of shape {ha.shape}')
    la_idx = np.argmax(la, axis=-1)
    ha_idx = np.argmax(ha, axis=-1)
    no_score = np.maximum(la.max(axis=-1), ha.max(axis=-1)) < no_score_eps
    label = la_idx.astype(np.uint8)
    label[la_idx == 0] = ignore_index
    label[ha_idx == 0] = 0
    label[no_score] = ignore_index
    return label


@TRANSFORMS.register_module()
class ExtractAffinityLabels(BaseTransform):
    """Pair labels for AffinityNet from the (cropped, flipped) la/ha CRF marginals.

    1. Outside ``crop_box`` (if present, from ``RandomCropPad``) the marginals are set to 0, whatever the crop's
       pad value was (psa crops into a zero container).
    2. ``stride x stride`` block means (psa ``block_reduce``, zero-padded), then :func:`affinity_label_map`.
    3. psa's pairs within ``radius`` on that grid (``mmwsss.refinement.random_walk.pair_label_codes``).

    Required keys: ``gt_la_crf``, ``gt_ha_crf`` (H, W, n). Added keys: ``gt_aff_labels`` (K, P) uint8 codes
    (``AFF_IGNORE``/``AFF_BG_POS``/``AFF_FG_POS``/``AFF_NEG``), ``aff_label_map`` (h, w) uint8 grid labels.
    Removed keys (with ``drop_maps``): the two marginal maps (and their ``seg_fields`` entries).

    Args:
        stride: backbone output stride (psa 8).
        radius: pair radius (psa 5); must equal the model's.
        no_score_eps: psa's 1e-5.
        drop_maps: delete the marginal maps afterwards (they are large and no longer needed).
    """

    def __init__(self,
                 stride: int = 8,
                 radius: int = 5,
                 no_score_eps: float = 1e-5,
                 ignore_index: int = 255,
                 la_key: str = 'gt_la_crf',
                 ha_key: str = 'gt_ha_crf',
                 drop_maps: bool = True) -> None:
        self.stride = stride
        self.radius = radius
        self.no_score_eps = no_score_eps
        self.ignore_index = ignore_index
        self.la_key = la_key
        self.ha_key = ha_key
        self.drop_maps = drop_maps

    def _maps(self, results: dict) -> Tuple[np.ndarray, np.ndarray]:
        where = results.get('img_path', '?')
        if self.la_key not in results or self.ha_key not in results:
            raise KeyError(f"{where}: no '{self.la_key}'/'{self.ha_key}' in the results; load the CRF marginals "
                           'with AffinityCRFDataset')
        la, ha = results[self.la_key], results[self.ha_key]
        img_shape = tuple(results['img'].shape[:2]) if 'img' in results else la.shape[:2]
        if la.shape != ha.shape or la.ndim != 3 or tuple(la.shape[:2]) != img_shape:
            raise ValueError(f'{where}: la/ha marginals of shapes {la.shape} / {ha.shape} do not match the image '
                             f'{img_shape} (H, W, n expected)')
        box: Optional[Tuple[int, int, int, int]] = results.get('crop_box')
        if box is not None:
            y0, y1, x0, x1 = box
            keep = np.zeros(la.shape[:2], bool)
            keep[y0:y1, x0:x1] = True
            la = np.where(keep[..., None], la, 0)
            ha = np.where(keep[..., None], ha, 0)
        return la, ha

    def transform(self, results: dict) -> dict:
        la, ha = self._maps(results)
        label = affinity_label_map(block_mean(la, self.stride), block_mean(ha, self.stride), self.no_score_eps,
                                   self.ignore_index)
        try:
            codes = pair_label_codes(label, self.radius, self.ignore_index)
        except ValueError as e:
            raise ValueError(f"{results.get('img_path', '?')}: {e}") from None
        results['aff_label_map'] = label
        results['gt_aff_labels'] = codes
        if self.drop_maps:
            for key in (self.la_key, self.ha_key):
                results.pop(key, None)
                if key in results.get('seg_fields', []):
                    results['seg_fields'].remove(key)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(stride={self.stride}, radius={self.radius}, '
                f'no_score_eps={self.no_score_eps})')
