"""RTC's segmentation branch (``ChunyanWang1/RTC:network/resnet38_contrast.py (Net.forward, require_seg)``;
rtc.md §2.2): an ASPP-lite on conv6 with a stride-4 skip from conv3 (DeepLabV3+-like)."""
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor

__all__ = ['RTCSegHead']


@MODELS.register_module()
class RTCSegHead(BaseModule):
    """Segmentation branch of RTC.

    ``a = fc8_seg_conv2(fc8_seg_conv1(conv6))`` (3x3, dilation 12, with biases, no norm/activation between),
    ``b = fc8_seg_conv3(conv6)`` (3x3), ``deep = fc8_seg_conv4([a, b])`` (1x1) resized to conv3's size
    (bilinear, align_corners=True), ``low = fc8_seg_conv5(conv3)`` (3x3 -> 48), then
    ``classifier2(ReLU(proj2([deep, low])))`` = logits at stride 4. The only non-linearity is the ReLU after
    proj2. conv6 is read BEFORE the CAM head's dropout and is not detached (the seg loss trains the
    backbone from b3 on). All weights xavier_uniform; the two biases keep PyTorch's default init.

    Args:
        in_channels: channels of (conv3, conv6) = (256, 4096).
        in_index: positions of (conv3, conv6) in the backbone output tuple.
        mid_channels: fc8_seg_conv1 width (512).
        channels: width of fc8_seg_conv2/3/4 and proj2 (256).
        low_channels: fc8_seg_conv5 width (48).
        num_classes: incl. background (21).
        dilation: of fc8_seg_conv1/2 (12).
        loss_seg: the class-balanced CE with batch gating.
        align_corners: of the deep-feature upsampling (True).
    """

    def __init__(self,
                 in_channels: Sequence[int] = (256, 4096),
                 in_index: Sequence[int] = (0, 3),
                 mid_channels: int = 512,
                 channels: int = 256,
                 low_channels: int = 48,
                 num_classes: int = 21,
                 dilation: int = 12,
                 loss_seg: Dict = dict(type='BalancedMaskCELoss', loss_weight=1.0),
                 align_corners: bool = True,
                 init_cfg: Optional[Union[Dict, Sequence[Dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        c3, c6 = in_channels
        self.in_channels = tuple(in_channels)
        self.in_index = tuple(in_index)
        self.num_classes = num_classes
        self.align_corners = align_corners
        d = dilation
        self.fc8_seg_conv1 = nn.Conv2d(c6, mid_channels, 3, padding=d, dilation=d, bias=True)
        self.fc8_seg_conv2 = nn.Conv2d(mid_channels, channels, 3, padding=d, dilation=d, bias=True)
        self.fc8_seg_conv3 = nn.Conv2d(c6, channels, 3, padding=1, bias=False)
        self.fc8_seg_conv4 = nn.Conv2d(2 * channels, channels, 1, bias=False)
        self.fc8_seg_conv5 = nn.Conv2d(c3, low_channels, 3, padding=1, bias=False)
        self.proj2 = nn.Conv2d(channels + low_channels, channels, 1, bias=False)
        self.classifier2 = nn.Conv2d(channels, num_classes, 1, bias=False)
        self.loss_seg = MODELS.build(loss_seg)
        self._init_layers()

    def _init_layers(self) -> None:
        for m in (self.fc8_seg_conv1, self.fc8_seg_conv2, self.fc8_seg_conv3, self.fc8_seg_conv4, self.fc8_seg_conv5,
                  self.proj2, self.classifier2):
            nn.init.xavier_uniform_(m.weight)

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        """Segmentation logits (N, num_classes, h3, w3) at conv3's resolution (stride 4)."""
        conv3, conv6 = (feats[i] for i in self.in_index)
        a = self.fc8_seg_conv2(self.fc8_seg_conv1(conv6))
        b = self.fc8_seg_conv3(conv6)
        deep = self.fc8_seg_conv4(torch.cat([a, b], dim=1))
        deep = F.interpolate(deep, size=conv3.shape[-2:], mode='bilinear', align_corners=self.align_corners)
        low = self.fc8_seg_conv5(conv3)
        return self.classifier2(F.relu(self.proj2(torch.cat([deep, low], dim=1))))

    def loss(self, seg_logits: Tensor, pseudo_labels: Tensor, img_labels: Tensor) -> Dict[str, Tensor]:
        """``{loss_seg: ...}`` against pseudo-masks (N, H, W) at the input size."""
        return {self.loss_seg.loss_name: self.loss_seg(seg_logits, pseudo_labels, img_labels)}
