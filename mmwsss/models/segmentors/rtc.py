"""RTC: single-stage siamese contrastive WSSS with a segmentation branch
(``ChunyanWang1/RTC:contrast_train.py``, ``network/resnet38_contrast.py``, ``contrast_infer.py``; rtc.md)."""
import copy
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.structures import PixelData
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, OptSampleList, SampleList
from torch import Tensor

from mmwsss.apis.cam_inference import resize_normalized, scaled_size
from ..losses.seam_losses import adaptive_min_pooling_loss, ecr_loss, er_loss
from ..utils.bkg_refine import refine_cams_with_bkg
from ..utils.cam_ops import bilinear_upsampled_mean, fg_background, seam_max_norm
from ..utils.img_labels import stack_img_labels
from ..utils.rtc_prototypes import (class_topk, contrast_pseudo_labels, feedback_cams, flatten_positions,
                                    prototype_class_relation, weighted_prototypes)

__all__ = ['RTC']

View = Dict[str, Tensor]


def _up(x: Tensor, size, align_corners: bool = True) -> Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=align_corners)


@MODELS.register_module()
class RTC(BaseSegmentor):
    """RTC (Representation, Transform, Compensator): two views of one image through shared weights.

    View 1 is the (448x448) training crop, view 2 the same normalised tensor bilinearly resized to
    ``train_cfg.view2_size`` (128x128, align_corners=True) inside the model, exactly as the original
    (its zero padding included). The backbone returns (conv3, conv4, conv5, conv6); ``decode_head``
    (:class:`RTCCAMHead`) gives the raw CAM, the projection and the FCM-refined CAM of each view;
    ``seg_head`` (:class:`RTCSegHead`) the stride-4 segmentation logits of view 1.

    Losses of one iteration (rtc.md §3; every weight 1 as in the original):

    * ``loss_cls``: ``(cls1 + cls2) / 2`` multi-label soft margin on the GAP of the CAMs upsampled to the
      view size; ``loss_rvmin``: ``(rvmin1 + rvmin2) / 2`` adaptive min-pooling of the refined CAMs.
    * ``loss_er`` / ``loss_ecr``: SEAM's equivariance terms at the view-2 size.
    * ``loss_struct``: feedback-refined CAM vs raw CAM (winner-take-all, top 80 %), both views.
    * ``loss_intra_nce``, ``loss_cross_nce1``, ``loss_cross_nce2``: InfoNCE against cross-view prototypes
      (each with the internal 0.1 of ``loss_nce``); their sum is RTC's ``loss_nce``.
    * ``loss_seg``: class-balanced CE of the seg branch against VARM-refined two-threshold pseudo-masks,
      from ``train_cfg.seg_begin`` (epoch index 7) on; 0 (no gradient) before.
    * ``class_relation`` is computed and logged, not optimised (it is not a ``loss_*`` key).

    Epoch-dependent behaviour: the current 0-based epoch (or iteration, ``seg_by_epoch=False``) is read from
    mmengine's ``MessageHub`` (``get_info('epoch')`` / ``get_info('iter')``), which the runner's default
    ``RuntimeInfoHook`` updates before every epoch / iteration. Outside a runner the value is taken as 0.

    Multi-GPU: prototypes and top-k positions are per batch in the original (DataParallel on one batch of
    8). With ``train_cfg.gather_prototypes`` the detached inputs of the prototype computation are
    all-gathered across ranks, so 4 GPUs x 2 images build the same prototypes as one batch of 8.

    Args (``train_cfg`` keys, defaults = the original):
        view2_size: (128, 128). contrast_bg_score: 0.2 (``--bg_threshold``). topk_divisor: 8 (k = h w / 8).
        ecr_ratio: 0.2. seg_bg_scores: (0.55, 0.20). seg_refine_down_scale: 2. seg_begin: 7 (None = never).
        seg_by_epoch: True. rvmin_weight, er_weight, ecr_weight: 1. gather_prototypes: True.
        log_class_relation: True.

    ``test_cfg`` keys (``contrast_infer.py``): scales (0.5, 1.0, 1.5, 2.0); flip True; bg_threshold 0.17;
    gate 'none' (the original ignores image labels) or 'gt'; crf None, a ``DenseCRF`` preset name ('rtc')
    or a dict ``dict(preset='rtc', **overrides)``.
    """

    DEFAULT_TRAIN_CFG = dict(view2_size=(128, 128),
                             contrast_bg_score=0.2,
                             topk_divisor=8,
                             ecr_ratio=0.2,
                             seg_bg_scores=(0.55, 0.20),
                             seg_refine_down_scale=2,
                             seg_begin=7,
                             seg_by_epoch=True,
                             rvmin_weight=1.0,
                             er_weight=1.0,
                             ecr_weight=1.0,
                             gather_prototypes=True,
                             log_class_relation=True)
    DEFAULT_TEST_CFG = dict(scales=(0.5, 1.0, 1.5, 2.0), flip=True, bg_threshold=0.17, gate='none', crf=None)

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 seg_head: ConfigType,
                 refiner: ConfigType = dict(type='VARM', num_iter=10, dilations=(1, 2, 4, 8, 12, 24)),
                 loss_cls: ConfigType = dict(type='MultiLabelSoftMarginLoss', loss_weight=1.0),
                 loss_nce: ConfigType = dict(type='PrototypeInfoNCELoss', temperature=0.1, loss_weight=0.1),
                 loss_struct: ConfigType = dict(type='WTAStructLoss', ratio=0.8, loss_weight=1.0),
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.decode_head = MODELS.build(decode_head)
        self.seg_head = MODELS.build(seg_head)
        self.refiner = MODELS.build(refiner)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_nce = MODELS.build(loss_nce)
        self.loss_struct = MODELS.build(loss_struct)
        self.num_classes = self.decode_head.num_classes  # incl. background
        if self.seg_head.num_classes != self.num_classes:
            raise ValueError(f'RTC: decode_head has {self.num_classes} classes, seg_head '
                             f'{self.seg_head.num_classes}')
        self.align_corners = False
        self.train_cfg = copy.deepcopy(self.DEFAULT_TRAIN_CFG)
        self.train_cfg.update(train_cfg or {})
        unknown = set(self.train_cfg) - set(self.DEFAULT_TRAIN_CFG)
        if unknown:
            raise KeyError(f'RTC: unknown train_cfg keys {sorted(unknown)}')
        self.test_cfg = copy.deepcopy(self.DEFAULT_TEST_CFG)
        self.test_cfg.update(test_cfg or {})
        if self.test_cfg['gate'] not in ('gt', 'none'):
            raise ValueError(f"RTC: test_cfg.gate must be 'gt' or 'none', got {self.test_cfg['gate']!r}")

    # ================================================================== features
    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """Backbone taps (conv3, conv4, conv5, conv6)."""
        return tuple(self.backbone(inputs))

    def forward_view(self, img: Tensor, with_seg: bool = False) -> View:
        """One view through the shared network (the original ``Net.forward``).

        Returns ``cam``/``cam_rv`` (raw / FCM-refined, feature size), ``cam_up``/``cam_rv_up`` (both
        upsampled to the view size, align_corners=True), ``f_proj`` and, with ``with_seg``, ``seg``.
        """
        feats = self.extract_feat(img)
        out = dict(self.decode_head(feats, img))
        size = img.shape[-2:]
        out['cam_up'] = _up(out['cam'], size)
        out['cam_rv_up'] = _up(out['cam_rv'], size)
        if with_seg:
            out['seg'] = self.seg_head(feats)
        return out

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        """Segmentation logits of the seg branch (stride 4)."""
        return self.seg_head(self.extract_feat(inputs))

    # ================================================================== training
    def stack_img_labels(self, data_samples: SampleList) -> Tensor:
        """(B, C-1) multi-hot foreground labels from ``gt_img_labels`` of the data samples."""
        return stack_img_labels(data_samples, self.num_classes - 1, 'RTC')

    def current_progress(self) -> int:
        """0-based epoch (``seg_by_epoch``) or iteration from the MessageHub; 0 outside a runner."""
        key = 'epoch' if self.train_cfg['seg_by_epoch'] else 'iter'
        value = MessageHub.get_current_instance().get_info(key)
        return 0 if value is None else int(value)

    def seg_loss_active(self) -> bool:
        begin = self.train_cfg['seg_begin']
        return begin is not None and self.current_progress() >= begin

    def second_view(self, img: Tensor) -> Tensor:
        """View 2: the normalised batch resized to ``view2_size`` (bilinear, align_corners=True)."""
        return F.interpolate(img, size=tuple(self.train_cfg['view2_size']), mode='bilinear', align_corners=True)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        labels = self.stack_img_labels(data_samples).to(inputs.device)
        label = torch.cat([labels.new_ones(labels.shape[0], 1), labels], dim=1)[..., None, None]
        seg_on = self.seg_loss_active()
        v1 = self.forward_view(inputs, with_seg=seg_on)
        v2 = self.forward_view(self.second_view(inputs))

        losses = self.cls_losses(v1, v2, labels, label)
        seam, c1, c2 = self.seam_losses(v1, v2, label)
        losses.update(seam)
        losses.update(self.cross_transform_losses(v1, v2, label, c1, c2))
        if seg_on:
            losses.update(self.seg_loss(v1, inputs, labels, label, data_samples))
        else:
            losses['loss_seg'] = inputs.new_zeros(())
        return losses

    def cls_losses(self, v1: View, v2: View, labels: Tensor, label: Tensor) -> Dict[str, Tensor]:
        """``loss_cls`` on GAP of the upsampled CAMs; ``loss_rvmin`` on the label-masked refined CAMs."""
        cls = (self.loss_cls(v1['cam_up'].mean(dim=(2, 3))[:, 1:], labels) +
               self.loss_cls(v2['cam_up'].mean(dim=(2, 3))[:, 1:], labels)) / 2
        rvmin = (adaptive_min_pooling_loss((v1['cam_rv_up'] * label)[:, 1:]) + adaptive_min_pooling_loss(
            (v2['cam_rv_up'] * label)[:, 1:])) / 2
        return dict(loss_cls=cls, loss_rvmin=self.train_cfg['rvmin_weight'] * rvmin)

    def seam_losses(self, v1: View, v2: View, label: Tensor) -> Tuple[Dict[str, Tensor], Tensor, Tensor]:
        """ER and ECR at the view-2 size; also returns the max-normed CAMs ``c1``/``c2`` with their
        background channel set to ``1 - max fg`` (what the struct loss compares against)."""
        size2 = v2['cam_up'].shape[-2:]
        c1 = _up(seam_max_norm(v1['cam_up']), size2) * label
        r1 = _up(seam_max_norm(v1['cam_rv_up']), size2) * label
        c2 = seam_max_norm(v2['cam_up']) * label
        r2 = seam_max_norm(v2['cam_rv_up']) * label
        er = er_loss(c1, c2)
        c1 = torch.cat([fg_background(c1), c1[:, 1:]], dim=1)
        c2 = torch.cat([fg_background(c2), c2[:, 1:]], dim=1)
        ecr = ecr_loss(c1, c2, r1, r2, self.train_cfg['ecr_ratio'])
        return dict(loss_er=self.train_cfg['er_weight'] * er, loss_ecr=self.train_cfg['ecr_weight'] * ecr), c1, c2

    def _gather(self, t: Tensor) -> Tensor:
        """Concatenate a detached tensor over all ranks (``gather_prototypes``), else return it."""
        from mmengine.dist import all_gather, get_world_size
        if not self.train_cfg['gather_prototypes'] or get_world_size() == 1:
            return t
        return torch.cat(all_gather(t.detach().contiguous()), dim=0)

    @torch.no_grad()
    def prototypes_and_feedback(self, f1: Tensor, f2: Tensor, p1: Tensor, p2: Tensor,
                                label: Tensor) -> Dict[str, Tensor]:
        """Pseudo labels, cross-view prototypes and feedback CAMs on the work grid (rtc.md §3.2 steps 1-4).

        ``f1``/``p1``: view-1 projection / refined CAM resized to the grid; ``f2``/``p2``: view 2's own.
        """
        bg = self.train_cfg['contrast_bg_score']
        s1, y1 = contrast_pseudo_labels(p1, label, bg)
        s2, y2 = contrast_pseudo_labels(p2, label, bg)
        f1, f2 = f1.detach(), f2.detach()
        s1g, s2g, f1g, f2g, label_g = (self._gather(t) for t in (s1, s2, f1, f2, label))
        h, w = f2.shape[-2:]
        k = h * w // self.train_cfg['topk_divisor']
        v1, i1 = class_topk(s1g, k)
        v2, i2 = class_topk(s2g, k)
        tok1 = flatten_positions(f2g)[i1]  # positions chosen on view 1, features of view 2
        tok2 = flatten_positions(f1g)[i2]
        proto1 = F.normalize(weighted_prototypes(v1, tok1), dim=-1)
        proto2 = F.normalize(weighted_prototypes(v2, tok2), dim=-1)
        present = label_g.flatten(1).sum(dim=0) > 0
        new1 = feedback_cams(s1, v1, tok1, flatten_positions(f2), present)
        new2 = feedback_cams(s2, v2, tok2, flatten_positions(f1), present)
        return dict(y1=y1, y2=y2, proto1=proto1, proto2=proto2, new1=new1, new2=new2, present=present)

    def cross_transform_losses(self, v1: View, v2: View, label: Tensor, c1: Tensor, c2: Tensor) -> Dict[str, Tensor]:
        """``loss_struct`` and the three InfoNCE terms (rtc.md §3.2-3.3)."""
        grid = v2['f_proj'].shape[-2:]
        f1 = _up(v1['f_proj'], grid)
        f2 = v2['f_proj']
        pf = self.prototypes_and_feedback(f1, f2, _up(v1['cam_rv'], grid), v2['cam_rv'], label)

        size2 = c1.shape[-2:]
        n1 = _up(seam_max_norm(pf['new1']), size2) * label
        n2 = _up(seam_max_norm(pf['new2']), size2) * label
        losses = dict(loss_struct=self.loss_struct(n1, c1) + self.loss_struct(n2, c2))

        q1 = F.normalize(flatten_positions(f1), dim=-1)
        q2 = F.normalize(flatten_positions(f2), dim=-1)
        y1, y2 = pf['y1'].reshape(-1), pf['y2'].reshape(-1)
        p1, p2 = pf['proto1'], pf['proto2']
        nce = self.loss_nce
        losses['loss_intra_nce'] = (nce(q1, p1, y1) + nce(q2, p2, y2)) / 2
        losses['loss_cross_nce1'] = (nce(q1, p1, y2) + nce(q2, p2, y1)) / 2  # cross pseudo-label
        losses['loss_cross_nce2'] = (nce(q1, p2, y1) + nce(q2, p1, y2)) / 2  # cross prototype
        if self.train_cfg['log_class_relation']:
            losses['class_relation'] = prototype_class_relation(p1, p2, pf['present'])
        return losses

    def denormalize(self, img: Tensor) -> Tensor:
        """Normalised batch -> RGB in [0, 1] (the original ``Net.denorm``; not in place here)."""
        dp = self.data_preprocessor
        if getattr(dp, '_enable_normalize', False):
            img = img * dp.std + dp.mean
        return img / 255.

    def pseudo_masks(self, v1: View, inputs: Tensor, labels: Tensor, label: Tensor, data_samples: SampleList) -> Tensor:
        """VARM-refined two-threshold pseudo-masks (N, H, W) of view 1 (rtc.md §3.4 steps 1-3)."""
        cams = _up(seam_max_norm(v1['cam_rv'].detach()) * label, inputs.shape[-2:])[:, 1:]
        boxes = [ds.metainfo.get('crop_box') for ds in data_samples]
        return refine_cams_with_bkg(self.refiner, self.denormalize(inputs), cams, labels, boxes,
                                    tuple(self.train_cfg['seg_bg_scores']), self.train_cfg['seg_refine_down_scale'])

    def seg_loss(self, v1: View, inputs: Tensor, labels: Tensor, label: Tensor,
                 data_samples: SampleList) -> Dict[str, Tensor]:
        target = self.pseudo_masks(v1, inputs, labels, label, data_samples)
        return self.seg_head.loss(v1['seg'], target, labels)

    # ================================================================== inference
    def _norm_params(self) -> Tuple[Optional[Tensor], Optional[Tensor]]:
        dp = self.data_preprocessor
        if getattr(dp, '_enable_normalize', False):
            return dp.mean, dp.std
        return None, None

    def scale_probs(self, x: Tensor) -> Tensor:
        """``softmax(seg) * sigmoid(GAP(cam))`` (B, C, h, w) at the size of ``x`` (one scale of
        ``contrast_infer.py``). The FCM is not run (its output is unused at inference) and the GAP of the
        upsampled CAM is computed without upsampling (:func:`bilinear_upsampled_mean`)."""
        feats = self.extract_feat(x)
        cam, _ = self.decode_head.forward_cam(feats)
        cls = torch.sigmoid(bilinear_upsampled_mean(cam, x.shape[-2:], align_corners=True))
        seg = _up(self.seg_head(feats), x.shape[-2:])
        return F.softmax(seg, dim=1) * cls[..., None, None]

    def image_probs(self, img: Tensor) -> Tensor:
        """Foreground class scores (C-1, H, W) of one normalised image (1, 3, H, W): mean over the scales
        and flips of :meth:`scale_probs` without background, each resized to H x W (align_corners=False)."""
        mean, std = self._norm_params()
        h, w = img.shape[-2:]
        flip = self.test_cfg['flip']
        total, count = None, 0
        for s in self.test_cfg['scales']:
            x = resize_normalized(img, scaled_size((h, w), s), mean, std)
            if flip:
                x = torch.cat([x, x.flip(-1)], dim=0)
            p = _up(self.scale_probs(x)[:, 1:], (h, w), align_corners=False)
            summed = p[0] + p[1].flip(-1) if flip else p[0]
            total = summed if total is None else total + summed
            count += 2 if flip else 1
        if total is None:
            raise ValueError('RTC: test_cfg.scales is empty')
        return total / count

    def present_classes(self, data_sample, device) -> Tensor:
        """Label values of the classes that get a score map (``test_cfg.gate``)."""
        if self.test_cfg['gate'] == 'gt':
            labels = self.stack_img_labels([data_sample])[0]
            return torch.nonzero(labels > 0.5).flatten().to(device) + 1
        return torch.arange(1, self.num_classes, device=device)

    def encode_decode(self, inputs: Tensor, batch_data_samples: SampleList) -> Tensor:
        """Single-scale, ungated scores ``[bg_threshold, probs]`` (B, C, H, W) at the input size."""
        p = self.scale_probs(inputs)[:, 1:]
        bg = torch.full_like(p[:, :1], self.test_cfg['bg_threshold'])
        return torch.cat([bg, p], dim=1)

    def _crf(self):
        crf = self.test_cfg.get('crf')
        if not crf:
            return None
        from mmwsss.refinement.dense_crf import DenseCRF
        if isinstance(crf, str):
            return DenseCRF.from_preset(crf)
        crf = dict(crf)
        return DenseCRF.from_preset(crf.pop('preset', 'rtc'), **crf)

    def _rgb_uint8(self, img: Tensor, data_sample, size) -> np.ndarray:
        """The RGB image at ``size`` for the CRF: de-normalised input, or the file when it was resized."""
        if tuple(img.shape[-2:]) == tuple(size):
            rgb = (self.denormalize(img)[0] * 255).round().clamp(0, 255).byte()
            return rgb.permute(1, 2, 0).cpu().numpy()
        from mmwsss.apis.pseudo_labels import read_rgb
        arr = read_rgb(data_sample.metainfo['img_path'])
        if arr.shape[:2] != tuple(size):
            raise ValueError(f"{data_sample.metainfo['img_path']}: image is {arr.shape[:2]}, expected {size}")
        return arr

    def _scores(self, img: Tensor, data_sample) -> Tuple[Tensor, Tensor]:
        """``(scores (C, H0, W0), class_ids)`` at the original size; absent classes 0."""
        h, w = img.shape[-2:]
        probs = self.image_probs(img)
        ids = self.present_classes(data_sample, img.device)
        scores = img.new_zeros((self.num_classes, h, w))
        scores[0] = self.test_cfg['bg_threshold']
        scores[ids] = probs[ids - 1]
        ori = tuple(data_sample.metainfo.get('ori_shape', (h, w)))
        if (h, w) != ori:
            scores = _up(scores[None], ori, align_corners=False)[0]
        return scores, ids

    def _samples(self, inputs: Tensor, data_samples: OptSampleList) -> SampleList:
        if data_samples is not None:
            return data_samples
        from mmseg.structures import SegDataSample
        shape = tuple(inputs.shape[-2:])
        return [SegDataSample(metainfo=dict(img_shape=shape, ori_shape=shape)) for _ in range(inputs.shape[0])]

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """Seg-branch prediction, ``contrast_infer.py``: multi-scale + flip probabilities, background score
        ``bg_threshold`` (0.17), arg-max; optionally the dense CRF on that label map."""
        data_samples = self._samples(inputs, data_samples)
        crf = self._crf()
        for i, ds in enumerate(data_samples):
            h, w = ds.metainfo.get('img_shape', inputs.shape[-2:])
            img = inputs[i:i + 1, :, :h, :w]
            scores, _ = self._scores(img, ds)
            label = scores.argmax(dim=0)
            if crf is not None:
                rgb = self._rgb_uint8(img, ds, scores.shape[-2:])
                name = ds.metainfo.get('img_path', '')
                label = torch.from_numpy(crf.label_map(rgb,
                                                       label.cpu().numpy(), self.num_classes, name)).to(scores.device)
            ds.set_data(dict(seg_logits=PixelData(data=scores), pred_sem_seg=PixelData(data=label[None].long())))
        return data_samples

    def cam_results(self, inputs: Tensor, data_samples: SampleList) -> List[Tuple[Tensor, Tensor]]:
        """Per image ``(maps (K, H, W), class_ids (K,))`` -- the seg-branch class scores of the gated
        classes (all 20 with ``gate='none'``, as ``contrast_infer.py --out_cam``) for tools/gen_pseudo.py;
        ``thr:0.17`` masks reproduce ``--out_cam_pred``'s background rule, ``lcrf:0.17`` its ``--out_crf``."""
        out = []
        for i, ds in enumerate(data_samples):
            h, w = ds.metainfo.get('img_shape', inputs.shape[-2:])
            scores, ids = self._scores(inputs[i:i + 1, :, :h, :w], ds)
            out.append((scores[ids], ids))
        return out
