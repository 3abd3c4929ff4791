from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from .crf_postprocess import build_test_crf, crf_refine


@MODELS.register_module()
class CRFEncoderDecoder(EncoderDecoder):
    """mmseg's ``EncoderDecoder`` with an optional dense CRF on each test prediction (deeplab_final.md §3).

    Training and inference are mmseg's. ``test_cfg.crf`` (see :mod:`mmwsss.models.segmentors.crf_postprocess`:
    ``None``, a preset name such as ``'deeplab-v1'``, or ``dict(preset=..., **overrides)``) switches the
    post-processing on: for every image the logits at its original size (mmseg's ``postprocess_result``:
    padding removed, flip undone, bilinear resize) are soft-maxed, refined by the CRF with the original RGB
    image read from ``img_path``, and ``pred_sem_seg`` becomes the arg-max of the marginals. ``seg_logits``
    keeps the network's logits; the marginals go to ``crf_probs``.

    Inside a :class:`CRFSegTTAModel` the CRF runs once on the merged prediction instead (the TTA model turns
    this one off).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.test_cfg is None:
            self.test_cfg = dict(mode='whole')
        self._crf, self._crf_backend = build_test_crf(self.test_cfg.get('crf'))

    @property
    def test_crf(self):
        """The :class:`~mmwsss.refinement.DenseCRF` applied at test time, or None."""
        return self._crf

    def set_test_crf(self, crf) -> None:
        """Replace the test CRF setting (None switches it off)."""
        self.test_cfg['crf'] = crf
        self._crf, self._crf_backend = build_test_crf(crf)

    def postprocess_result(self, seg_logits: Tensor, data_samples: OptSampleList = None) -> SampleList:
        data_samples = super().postprocess_result(seg_logits, data_samples)
        if self._crf is None:
            return data_samples
        if self.out_channels == 1:
            raise ValueError('the test CRF needs a multi-class head (out_channels > 1)')
        for sample in data_samples:
            if 'img_path' not in sample:
                raise KeyError('the test CRF reads the original image: data samples need img_path')
            q, pred = crf_refine(sample.seg_logits.data.softmax(dim=0), sample.img_path, self._crf,
                                 self._crf_backend)
            sample.set_data({'crf_probs': PixelData(data=q), 'pred_sem_seg': PixelData(data=pred)})
        return data_samples
