"""``PackWSSSInputs`` for AffinityNet training: also packs the pair labels of ``ExtractAffinityLabels``."""
import numpy as np
import torch
from mmseg.registry import TRANSFORMS

from .formatting import PackWSSSInputs


@TRANSFORMS.register_module()
class PackAffinityInputs(PackWSSSInputs):
    """``PackWSSSInputs`` that also carries ``gt_aff_labels`` (K, P) into ``data_sample.gt_aff_labels``
    (uint8 tensor), read by ``AffinityNet.loss``."""

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        if results.get('gt_aff_labels') is None:
            raise KeyError(f"{results.get('img_path', '?')}: no gt_aff_labels; put ExtractAffinityLabels before "
                           'PackAffinityInputs')
        packed['data_samples'].gt_aff_labels = torch.from_numpy(np.ascontiguousarray(results['gt_aff_labels']))
        return packed
