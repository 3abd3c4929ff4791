from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, OptSampleList, SampleList
from torch import Tensor

from mmwsss.apis.cam_inference import multi_scale_cams
from mmwsss.refinement.cam_utils import cams_to_label_map, max_normalize
from mmwsss.models.utils.img_labels import stack_img_labels


@MODELS.register_module()
class CAMSegmentor(BaseSegmentor):
    """Class-activation-map baseline trained from image-level labels (psa ``resnet38_cls``).

    ``loss()`` sees only the image-level labels (``data_sample.gt_img_labels``); ``predict()`` turns the
    CAMs into a segmentation so that mmseg's ``ValLoop`` + ``IoUMetric`` measure CAM quality on a labelled
    split during training.

    Prediction (``test_cfg``):
        scales (tuple[float]): input scales, summed in this order. Default ``(1.0,)``; psa ``(1.0, 0.5, 1.5, 2.0)``.
        flip (bool): add horizontal flips. Default False; psa True.
        bg_threshold (float): constant background score against max-normalised CAMs (psa ``out_cam_pred``: 0.2).
        gate (str): which classes get a CAM — ``'gt'``: the image's ground-truth labels (the WSSS protocol for
            pseudo-masks, as psa), ``'pred'``: classes whose logit is > ``pred_threshold``, ``'none'``: all.
        pred_threshold (float): logit threshold for ``gate='pred'`` (0 = probability 0.5).
        channels_last (bool): NHWC inputs for the CAM network (faster on some CPUs; see
            tools/benchmark/benchmark_cam_inference.py). Default False.

    ``seg_logits`` of the result holds ``[bg_threshold, cam_1, ..., cam_C]`` (absent classes 0) at the
    original image size.
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.decode_head = MODELS.build(decode_head)
        self.num_classes = self.decode_head.num_classes + 1  # with background
        self.align_corners = False
        self.train_cfg = train_cfg or {}
        self.test_cfg = dict(scales=(1.0, ), flip=False, bg_threshold=0.2, gate='gt', pred_threshold=0.0)
        self.test_cfg.update(test_cfg or {})
        if self.test_cfg['gate'] not in ('gt', 'pred', 'none'):
            raise ValueError(f"test_cfg.gate must be 'gt', 'pred' or 'none', got {self.test_cfg['gate']!r}")

    # ------------------------------------------------------------------ features
    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        feats = self.backbone(inputs)
        return tuple(feats) if isinstance(feats, (list, tuple)) else (feats, )

    def forward_cam(self, inputs: Tensor) -> Tensor:
        """ReLU'd CAMs (B, C-1, h, w) at the feature resolution."""
        return self.decode_head.forward_cam(self.extract_feat(inputs))

    def encode_decode(self, inputs: Tensor, batch_data_samples: SampleList) -> Tensor:
        """Single-scale, ungated scores ``[bg_threshold, max-normalised CAMs]`` at the input size."""
        cams = F.interpolate(self.forward_cam(inputs), size=inputs.shape[-2:], mode='bilinear',
                             align_corners=False)
        cams = max_normalize(cams)
        bg = torch.full_like(cams[:, :1], self.test_cfg['bg_threshold'])
        return torch.cat([bg, cams], dim=1)

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        return self.forward_cam(inputs)

    # ------------------------------------------------------------------ training
    def stack_img_labels(self, data_samples: SampleList) -> Tensor:
        """(B, C-1) multi-hot foreground labels from ``gt_img_labels`` of the data samples."""
        return stack_img_labels(data_samples, self.num_classes - 1, 'the model')

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        labels = self.stack_img_labels(data_samples)
        return self.decode_head.loss(self.extract_feat(inputs), labels)

    # ------------------------------------------------------------------ inference
    def _cam_normalization(self) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        dp = self.data_preprocessor
        if getattr(dp, '_enable_normalize', False):
            return dp.mean, dp.std
        return None, None

    def present_classes(self, data_sample, inputs: Tensor) -> Tensor:
        """Label values (>= 1) of the classes that get a CAM, per ``test_cfg.gate``."""
        gate = self.test_cfg['gate']
        if gate == 'gt':
            labels = self.stack_img_labels([data_sample])[0]
            return torch.nonzero(labels > 0.5).flatten() + 1
        if gate == 'pred':
            logits = self.decode_head(self.extract_feat(inputs))[0]
            return torch.nonzero(logits > self.test_cfg['pred_threshold']).flatten() + 1
        return torch.arange(1, self.num_classes, device=inputs.device)

    def image_cams(self, img: Tensor) -> Tensor:
        """Max-normalised multi-scale/flip CAMs of all foreground classes for one image (C-1, H, W)."""
        mean, std = self._cam_normalization()
        cams = multi_scale_cams(self.forward_cam, img, self.test_cfg['scales'], self.test_cfg['flip'], mean, std,
                                self.test_cfg.get('channels_last', False))
        return max_normalize(cams)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        if data_samples is None:
            from mmseg.structures import SegDataSample
            data_samples = [SegDataSample(metainfo=dict(img_shape=inputs.shape[-2:], ori_shape=inputs.shape[-2:]))
                            for _ in range(inputs.shape[0])]
        for i, ds in enumerate(data_samples):
            h, w = ds.metainfo.get('img_shape', inputs.shape[-2:])
            img = inputs[i:i + 1, :, :h, :w]  # drop batch padding
            class_ids = self.present_classes(ds, img)
            scores = inputs.new_zeros((self.num_classes, h, w))
            scores[0] = self.test_cfg['bg_threshold']
            if class_ids.numel():
                cams = self.image_cams(img)
                scores[class_ids] = cams[class_ids - 1]
            ori = tuple(ds.metainfo.get('ori_shape', (h, w)))
            if (h, w) != ori:
                scores = F.interpolate(scores[None], size=ori, mode='bilinear', align_corners=False)[0]
            label = cams_to_label_map(scores[class_ids], class_ids, self.test_cfg['bg_threshold']) \
                if class_ids.numel() else scores.new_zeros(scores.shape[-2:], dtype=torch.long)
            ds.set_data(dict(seg_logits=PixelData(data=scores), pred_sem_seg=PixelData(data=label[None])))
        return data_samples

    def cam_results(self, inputs: Tensor, data_samples: SampleList) -> List[Tuple[Tensor, Tensor]]:
        """Per image ``(cams (K, H, W), class_ids (K,))`` of the gated classes — what gen_pseudo saves."""
        out = []
        for i, ds in enumerate(data_samples):
            h, w = ds.metainfo.get('img_shape', inputs.shape[-2:])
            img = inputs[i:i + 1, :, :h, :w]
            class_ids = self.present_classes(ds, img)
            cams = self.image_cams(img)[class_ids - 1] if class_ids.numel() else inputs.new_zeros((0, h, w))
            out.append((cams, class_ids))
        return out
