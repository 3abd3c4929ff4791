"""RTC's CAM head: projection, CAM classifier on the projection, and the dual-representation PCM refinement
(``ChunyanWang1/RTC:network/resnet38_contrast.py (Net.__init__, forward, FCM, PCM)``; rtc.md §2.2)."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor

from ..utils.cam_ops import pcm_seed
from ..utils.pcm import pcm_refine

__all__ = ['RTCCAMHead']


@MODELS.register_module()
class RTCCAMHead(BaseModule):
    """Projection + CAM classifier + FCM (two-feature PCM) of RTC.

    Layers (original names; all 1x1, bias-free):

    ============  ===============================================  =========================
    name          definition                                       init
    ============  ===============================================  =========================
    dropout7      Dropout2d(``dropout_ratio``) on conv6 (training)  --
    proj1         conv6 -> ``channels``, then ReLU = ``f_proj``    xavier_uniform
    classifier1   ``channels`` -> ``num_classes`` = raw CAM         xavier_uniform
    f8_3          conv4.detach() -> 64, ReLU                        kaiming_normal (fan_in, sqrt 2)
    f8_4          conv5.detach() -> 128, ReLU                       kaiming_normal
    f8_5          conv6.detach() -> 128, ReLU                       kaiming_normal
    f9_1          [f8_4, f8_5] -> 128 (high-level affinity feature) xavier_uniform gain 4
    f9_2          [image, f8_3] -> 64 (low-level affinity feature)  xavier_uniform gain 1
    fc8           4352 -> 4096, never used in forward (only with    torch default
                  ``with_unused_fc8``, for state-dict parity)
    ============  ===============================================  =========================

    ``num_classes`` INCLUDES the background: channel 0 of the raw CAM is dead (no loss reaches it; it is
    overwritten or dropped everywhere), as in RTC's 21-way ``classifier1``.

    FCM (:meth:`refine`): the seed :func:`~mmwsss.models.utils.pcm_seed` of the raw CAM (no gradient) is
    propagated with each affinity feature by :func:`~mmwsss.models.utils.pcm_refine` and the two results
    are averaged -> ``cam_rv`` at the feature resolution. Its gradients reach only f8_*/f9_* (inputs are
    detached).

    Args:
        in_channels: channels of (conv4, conv5, conv6).
        in_index: positions of (conv4, conv5, conv6) in the backbone's output tuple.
        channels: projection width (256).
        num_classes: CAM channels incl. background (21).
        aff_channels: widths of (f8_3, f8_4, f8_5, f9_1, f9_2) = (64, 128, 128, 128, 64).
        img_channels: channels of the input image concatenated into f9_2 (3).
        dropout_ratio: dropout7 probability (0.5).
        f9_gains: xavier gains of (f9_1, f9_2) = (4, 1).
        with_unused_fc8: build RTC's dead ``fc8`` (4352 -> 4096; 17.8 M parameters that receive no gradient).
            Off by default; the checkpoint converter drops it.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (512, 1024, 4096),
                 in_index: Sequence[int] = (1, 2, 3),
                 channels: int = 256,
                 num_classes: int = 21,
                 aff_channels: Sequence[int] = (64, 128, 128, 128, 64),
                 img_channels: int = 3,
                 dropout_ratio: float = 0.5,
                 f9_gains: Tuple[float, float] = (4.0, 1.0),
                 with_unused_fc8: bool = False,
                 init_cfg: Optional[Union[Dict, Sequence[Dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != 3 or len(in_index) != 3:
            raise ValueError('RTCCAMHead: in_channels and in_index name (conv4, conv5, conv6)')
        if len(aff_channels) != 5:
            raise ValueError('RTCCAMHead: aff_channels = (f8_3, f8_4, f8_5, f9_1, f9_2)')
        c4, c5, c6 = in_channels
        a3, a4, a5, a91, a92 = aff_channels
        self.in_channels = tuple(in_channels)
        self.in_index = tuple(in_index)
        self.channels = channels
        self.num_classes = num_classes
        self.dropout7 = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.proj1 = nn.Conv2d(c6, channels, 1, bias=False)
        self.classifier1 = nn.Conv2d(channels, num_classes, 1, bias=False)
        self.f8_3 = nn.Conv2d(c4, a3, 1, bias=False)
        self.f8_4 = nn.Conv2d(c5, a4, 1, bias=False)
        self.f8_5 = nn.Conv2d(c6, a5, 1, bias=False)
        self.f9_1 = nn.Conv2d(a4 + a5, a91, 1, bias=False)
        self.f9_2 = nn.Conv2d(img_channels + a3, a92, 1, bias=False)
        self.fc8 = nn.Conv2d(c6 + channels, c6, 1, bias=False) if with_unused_fc8 else None
        self.f9_gains = tuple(f9_gains)
        self._init_layers()

    def _init_layers(self) -> None:
        """The original's explicit initialisation (done at construction, as in RTC's ``Net.__init__``)."""
        for m in (self.proj1, self.classifier1):
            nn.init.xavier_uniform_(m.weight)
        for m in (self.f8_3, self.f8_4, self.f8_5):
            nn.init.kaiming_normal_(m.weight)
        nn.init.xavier_uniform_(self.f9_1.weight, gain=self.f9_gains[0])
        nn.init.xavier_uniform_(self.f9_2.weight, gain=self.f9_gains[1])

    def _select(self, feats: Sequence[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
        return tuple(feats[i] for i in self.in_index)  # type: ignore[return-value]

    def forward_cam(self, feats: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
        """``(cam, f_proj)``: raw CAM logits (N, C, h, w) and the ReLU'd projection (N, channels, h, w)."""
        conv6 = self._select(feats)[2]
        f_proj = F.relu(self.proj1(self.dropout7(conv6)))
        return self.classifier1(f_proj), f_proj

    def affinity_features(self, feats: Sequence[Tensor], img: Tensor) -> Tuple[Tensor, Tensor]:
        """The high-level ``f9_1([f8_4, f8_5])`` and low-level ``f9_2([image, f8_3])`` features; the
        image is bilinearly resized to the feature size with ``align_corners=True``."""
        conv4, conv5, conv6 = self._select(feats)
        h, w = conv6.shape[-2:]
        f8_3 = F.relu(self.f8_3(conv4.detach()))
        f8_4 = F.relu(self.f8_4(conv5.detach()))
        f8_5 = F.relu(self.f8_5(conv6.detach()))
        x_s = F.interpolate(img, (h, w), mode='bilinear', align_corners=True)
        return self.f9_1(torch.cat([f8_4, f8_5], dim=1)), self.f9_2(torch.cat([x_s, f8_3], dim=1))

    def refine(self, cam: Tensor, feats: Sequence[Tensor], img: Tensor) -> Tensor:
        """FCM: ``(PCM(seed, f_high) + PCM(seed, f_low)) / 2`` at the feature resolution."""
        seed = pcm_seed(cam)
        f_high, f_low = self.affinity_features(feats, img)
        return (pcm_refine(seed, f_high) + pcm_refine(seed, f_low)) / 2

    def forward(self, feats: Sequence[Tensor], img: Tensor) -> Dict[str, Tensor]:
        """``dict(cam=raw CAM, f_proj=projection, cam_rv=FCM-refined CAM)``, all at the feature size."""
        cam, f_proj = self.forward_cam(feats)
        return dict(cam=cam, f_proj=f_proj, cam_rv=self.refine(cam, feats, img))
