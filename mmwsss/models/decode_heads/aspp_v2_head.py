"""DeepLab-v2 ASPP head, concatenated (YudeWang / RTC) or summed (DeepLab-v2 paper) branches
(deeplab_final.md §2.2, §2.4, §5.2)."""
from typing import List, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor

from .largefov_head import DROPOUT_LAYERS

FUSIONS = ('concat', 'sum')


@MODELS.register_module()
class ASPPV2Head(BaseDecodeHead):
    """Atrous spatial pyramid pooling with the DeepLab-v2 rates 6/12/18/24.

    ``fusion='concat'`` (default) -- what the code we follow does. YudeWang's ``deeplabv2``
    (``lib/net/deeplabv2.py`` + ``lib/net/operators/ASPP.py``; RTC's ``RTC_deeplabv2_resnet101``) is a
    DeepLab-v3-style ASPP whose branches are **concatenated** (original names in brackets)::

        aspp_convs[i]  [branch1..4]   3x3 conv, dilation d_i, in -> channels (256), no bias, BN(3e-4), ReLU
                                      (a dilation of 0 gives a 1x1 branch, YudeWang's ``rate[0] == 0``)
        image_pool     [branch5_*]    global average pool -> 1x1 conv -> BN -> ReLU -> bilinear back
                                      (align_corners=True)           (``with_global``; YudeWang: True)
        bottleneck     [conv_cat]     concat [b1, b2, b3, b4, pool] -> 1x1 conv -> BN -> ReLU
        fusion_dropout [conv_cat.3]   nn.Dropout(0.5)
        dropout        [dropout1]     nn.Dropout(0.5)      (two dropouts in a row, as the original)
        conv_seg       [cls_conv]     1x1 conv channels -> num_classes, with bias

    Differences to mmseg's ``ASPPHead``: 1x1 (not 3x3) fusion conv, the extra dropout, branch order (pool
    last; only a permutation of ``bottleneck``'s input channels), dilation 0 (not 1) means a 1x1 branch.
    Quirk kept: without the global branch YudeWang's fusion conv has a bias although BN follows it.
    Init as YudeWang: kaiming-normal (fan_out, ReLU) conv weights (``ConvModule``), BN 1/0, ``conv_seg``
    bias left at PyTorch's default.

    ``fusion='sum'`` -- the DeepLab-v2 paper's ASPP (kazuto1011/deeplab-pytorch ``_ASPP``, YudeWang's unused
    ``deeplabv2_caffe``): the classifier *is* the ASPP, four biased 3x3 convs in -> num_classes with the
    dilations, whose outputs are **summed**; no norm, activation, dropout, global branch or ``conv_seg``
    (``channels``, ``norm_cfg``, ``dropout_ratio`` and ``with_global`` are ignored). Init N(0, 0.01), bias 0
    (kazuto1011).

    Args:
        dilations: one branch per value (YudeWang and the paper: (6, 12, 18, 24)).
        fusion: 'concat' or 'sum' (see above).
        with_global: image-pooling branch (``concat`` only).
        fusion_dropout_ratio: dropout after the fusion conv (``concat`` only; YudeWang 0.5).
        dropout_layer: 'Dropout' (element-wise, YudeWang) or 'Dropout2d' (mmseg) for both dropouts.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels``, ``channels``, ``num_classes``,
            ``dropout_ratio``, ``norm_cfg``, ``align_corners``, ``loss_decode``, ...).
    """

    def __init__(self,
                 dilations: Sequence[int] = (6, 12, 18, 24),
                 fusion: str = 'concat',
                 with_global: bool = True,
                 fusion_dropout_ratio: float = 0.5,
                 dropout_layer: str = 'Dropout',
                 init_cfg: Union[dict, List[dict], None] = None,
                 **kwargs) -> None:
        if fusion not in FUSIONS:
            raise ValueError(f'fusion must be one of {FUSIONS}, got {fusion!r}')
        if dropout_layer not in DROPOUT_LAYERS:
            raise ValueError(f'dropout_layer must be one of {sorted(DROPOUT_LAYERS)}, got {dropout_layer!r}')
        dilations = tuple(int(d) for d in dilations)
        if not dilations or min(dilations) < 0:
            raise ValueError(f'dilations must be a non-empty sequence of values >= 0, got {dilations}')
        if fusion == 'sum' and 0 in dilations:
            raise ValueError('fusion="sum" uses 3x3 branches only; dilation 0 (a 1x1 branch) is not allowed')
        if init_cfg is None and fusion == 'sum':
            init_cfg = dict(type='Normal', std=0.01, bias=0, layer='Conv2d')
        super().__init__(init_cfg=init_cfg, **kwargs)
        self.dilations = dilations
        self.fusion = fusion
        self.with_global = with_global and fusion == 'concat'
        dropout_cls = DROPOUT_LAYERS[dropout_layer]
        if fusion == 'sum':
            self.aspp_convs = nn.ModuleList(
                nn.Conv2d(self.in_channels, self.out_channels, 3, padding=d, dilation=d, bias=True)
                for d in dilations)
            self.conv_seg = None
            self.dropout = None
            self.image_pool = self.bottleneck = self.fusion_dropout = None
            self._init_sum_branches()
            return
        self.aspp_convs = nn.ModuleList(self._branch(d) for d in dilations)
        self.image_pool = ConvModule(
            self.in_channels, self.channels, 1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg) if self.with_global else None
        n_in = (len(dilations) + int(self.with_global)) * self.channels
        self.bottleneck = ConvModule(
            n_in,
            self.channels,
            1,
            # QUIRK (YudeWang ASPP.py): the no-global fusion conv keeps a bias even though BN follows it
            bias='auto' if self.with_global else True,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.fusion_dropout = dropout_cls(fusion_dropout_ratio) if fusion_dropout_ratio > 0 else None
        self.dropout = dropout_cls(self.dropout_ratio) if self.dropout_ratio > 0 else None
        if init_cfg is None:
            nn.init.kaiming_normal_(self.conv_seg.weight, mode='fan_out', nonlinearity='relu')

    def _branch(self, dilation: int) -> ConvModule:
        """One ``concat`` branch: 1x1 for dilation 0, else 3x3 with that dilation."""
        k = 1 if dilation == 0 else 3
        return ConvModule(
            self.in_channels,
            self.channels,
            k,
            padding=0 if k == 1 else dilation,
            dilation=max(dilation, 1),
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)

    def _init_sum_branches(self) -> None:
        """kazuto1011's init of the summed classifier: N(0, 0.01) weights, zero bias."""
        for conv in self.aspp_convs:
            nn.init.normal_(conv.weight, 0, 0.01)
            nn.init.zeros_(conv.bias)

    def _forward_feature(self, inputs: Union[Tuple[Tensor, ...], List[Tensor]]) -> Tensor:
        """``concat``: fused features (B, channels, h, w) before the classifier dropout and ``conv_seg``."""
        x = self._transform_inputs(inputs)
        outs = [conv(x) for conv in self.aspp_convs]
        if self.image_pool is not None:
            pooled = self.image_pool(F.adaptive_avg_pool2d(x, 1))
            outs.append(F.interpolate(pooled, size=x.shape[2:], mode='bilinear', align_corners=True))
        x = self.bottleneck(torch.cat(outs, dim=1))
        if self.fusion_dropout is not None:
            x = self.fusion_dropout(x)
        return x

    def forward(self, inputs: Union[Tuple[Tensor, ...], List[Tensor]]) -> Tensor:
        """Class logits (B, num_classes, h, w) at the feature resolution."""
        if self.fusion == 'sum':
            x = self._transform_inputs(inputs)
            out = self.aspp_convs[0](x)
            for conv in self.aspp_convs[1:]:
                out = out + conv(x)
            return out
        return self.cls_seg(self._forward_feature(inputs))
