from typing import List, Union

import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel
from mmseg.registry import MODELS
from mmseg.utils import SampleList

from .crf_postprocess import CRFConfig, build_test_crf, crf_refine

MERGES = ('logits', 'probs')


@MODELS.register_module()
class CRFSegTTAModel(SegTTAModel):
    """Multi-scale + flip test with the YudeWang merge rule and an optional dense CRF (deeplab_final.md §3,
    icam.md §5.3).

    Each augmented pass comes from the wrapped segmentor (its ``postprocess_result`` undoes the flip and
    resizes the logits to the original size, bilinear with the head's ``align_corners``). Then

    * ``merge='logits'`` (YudeWang / ICAM ``test.py``): the mean of the **logits**, then softmax;
    * ``merge='probs'`` (mmseg ``SegTTAModel``): the mean of the softmax probabilities;

    and, if ``crf`` is set, the dense CRF refines those probabilities once, with the original image
    (``img_path``). ``pred_sem_seg`` = arg-max; ``seg_logits`` holds the merged probabilities, ``crf_probs``
    the marginals.

    Args:
        module: the segmentor config (``tools/test.py --tta`` fills it with ``cfg.model``).
        merge: 'logits' or 'probs'.
        crf: 'module' (default: take the wrapped segmentor's ``test_cfg.crf``), None, a preset name or a dict
            (see :mod:`mmwsss.models.segmentors.crf_postprocess`). The wrapped segmentor's own CRF is switched
            off, so the CRF never runs per augmented pass.
    """

    def __init__(self, module: Union[dict, torch.nn.Module], merge: str = 'logits', crf: CRFConfig = 'module',
                 **kwargs) -> None:
        if merge not in MERGES:
            raise ValueError(f'merge must be one of {MERGES}, got {merge!r}')
        super().__init__(module=module, **kwargs)
        self.merge = merge
        module_crf = None
        if hasattr(self.module, 'set_test_crf'):
            module_crf = self.module.test_cfg.get('crf')
            self.module.set_test_crf(None)
        self.crf_cfg = module_crf if isinstance(crf, str) and crf == 'module' else crf
        self._crf, self._crf_backend = build_test_crf(self.crf_cfg)

    @property
    def test_crf(self):
        """The CRF applied to the merged prediction, or None."""
        return self._crf

    def merge_probs(self, data_samples: SampleList) -> torch.Tensor:
        """Merged class probabilities (C, H, W) of the augmented passes of one image."""
        logits = torch.stack([s.seg_logits.data for s in data_samples]).float()
        if self.merge == 'logits':
            return logits.mean(dim=0).softmax(dim=0)
        return logits.softmax(dim=1).mean(dim=0)

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        if getattr(self.module, 'out_channels', 2) == 1:
            raise ValueError('CRFSegTTAModel needs a multi-class head (out_channels > 1)')
        predictions = []
        for data_samples in data_samples_list:
            probs = self.merge_probs(data_samples)
            merged = data_samples[0].clone()
            if self._crf is not None:
                q, pred = crf_refine(probs, merged.img_path, self._crf, self._crf_backend)
                merged.set_data({'crf_probs': PixelData(data=q)})
            else:
                pred = probs.argmax(dim=0, keepdim=True)
            merged.set_data({'seg_logits': PixelData(data=probs), 'pred_sem_seg': PixelData(data=pred)})
            predictions.append(merged)
        return predictions
