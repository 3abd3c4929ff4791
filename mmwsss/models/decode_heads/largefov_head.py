"""DeepLab-v1 "LargeFOV" head (deeplab_final.md §2.1, icam.md §2.4)."""
from typing import List, Tuple, Union

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor

#: element-wise (YudeWang ``nn.Dropout``) or channel (mmseg ``nn.Dropout2d``) dropout before ``conv_seg``
DROPOUT_LAYERS = {'Dropout': nn.Dropout, 'Dropout2d': nn.Dropout2d}


@MODELS.register_module()
class LargeFOVHead(BaseDecodeHead):
    """DeepLab-v1 LargeFOV head as the YudeWang code base (``lib/net/deeplabv1.py``, class ``deeplabv1``)
    defines it -- the final stage of ICAM and of RTC's ``RTC_deeplabv1_resnet38``.

    Layers (defaults = YudeWang, on ResNet-38 ``conv6``; original names in brackets)::

        conv_fov  [conv_fov + bn_fov]    3x3 conv, dilation 12, in -> 512, no bias, BN(momentum 3e-4), ReLU
        conv_fov2 [conv_fov2 + bn_fov2]  1x1 conv 512 -> 512, no bias, BN, ReLU
        dropout   [dropout1]             element-wise nn.Dropout(0.5) (``dropout_layer='Dropout'``)
        conv_seg  [cls_conv]             1x1 conv 512 -> num_classes, with bias

    Output at the feature resolution (stride 8); the segmentor upsamples it bilinearly with
    ``align_corners`` (YudeWang: True). Initialisation as YudeWang: ``ConvModule`` gives kaiming-normal
    (fan_out, ReLU) conv weights and BN 1/0; ``conv_seg`` gets kaiming-normal (fan_out, ReLU) weights and keeps
    PyTorch's default uniform bias (mmseg's N(0, 0.01) is not used). Pass ``init_cfg`` to replace it.

    Options for the other LargeFOV variants: ``norm_cfg=None`` gives biased convs without BN;
    ``pre_pool=True`` adds the 3x3/stride-1 max pool of the classic VGG LargeFOV (pool5) and of YudeWang's
    ``deeplabv1_caffe``; ``mid_dropout_ratio`` adds a dropout after ``conv_fov`` (classic fc6 dropout 0.5).
    Classic VGG-16 LargeFOV: ``channels=1024, norm_cfg=None, pre_pool=True, mid_dropout_ratio=0.5``.

    Args:
        fov_dilation: dilation (= padding) of the 3x3 ``conv_fov``.
        kernel_size: kernel of ``conv_fov``.
        pre_pool: 3x3 max pool, stride 1, padding 1, before ``conv_fov``.
        mid_dropout_ratio: dropout probability after ``conv_fov`` (0 = none).
        dropout_layer: 'Dropout' (element-wise, YudeWang) or 'Dropout2d' (mmseg's channel dropout), used for
            both dropouts.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels``, ``channels``, ``num_classes``,
            ``dropout_ratio``, ``norm_cfg``, ``align_corners``, ``loss_decode``, ...).
    """

    def __init__(self,
                 fov_dilation: int = 12,
                 kernel_size: int = 3,
                 pre_pool: bool = False,
                 mid_dropout_ratio: float = 0.,
                 dropout_layer: str = 'Dropout',
                 init_cfg: Union[dict, List[dict], None] = None,
                 **kwargs) -> None:
        if dropout_layer not in DROPOUT_LAYERS:
            raise ValueError(f'dropout_layer must be one of {sorted(DROPOUT_LAYERS)}, got {dropout_layer!r}')
        if fov_dilation < 1 or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f'fov_dilation must be >= 1 and kernel_size odd, got {fov_dilation}, {kernel_size}')
        super().__init__(init_cfg=init_cfg, **kwargs)
        self.fov_dilation = fov_dilation
        self.pre_pool = nn.MaxPool2d(3, stride=1, padding=1) if pre_pool else None
        self.conv_fov = ConvModule(
            self.in_channels,
            self.channels,
            kernel_size,
            padding=fov_dilation * (kernel_size // 2),
            dilation=fov_dilation,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        dropout_cls = DROPOUT_LAYERS[dropout_layer]
        self.mid_dropout = dropout_cls(mid_dropout_ratio) if mid_dropout_ratio > 0 else None
        self.conv_fov2 = ConvModule(
            self.channels,
            self.channels,
            1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        # BaseDecodeHead builds nn.Dropout2d; YudeWang's dropout1 is element-wise nn.Dropout
        self.dropout = dropout_cls(self.dropout_ratio) if self.dropout_ratio > 0 else None
        if init_cfg is None:
            self.init_conv_seg()

    def init_conv_seg(self) -> None:
        """YudeWang's ``cls_conv`` init: kaiming-normal (fan_out, ReLU) weight, PyTorch default bias."""
        nn.init.kaiming_normal_(self.conv_seg.weight, mode='fan_out', nonlinearity='relu')

    def _forward_feature(self, inputs: Union[Tensor, Tuple[Tensor, ...], List[Tensor]]) -> Tensor:
        """Features before ``cls_seg`` (B, channels, h, w)."""
        x = self._transform_inputs(inputs)
        if self.pre_pool is not None:
            x = self.pre_pool(x)
        x = self.conv_fov(x)
        if self.mid_dropout is not None:
            x = self.mid_dropout(x)
        return self.conv_fov2(x)

    def forward(self, inputs: Union[Tuple[Tensor, ...], List[Tensor]]) -> Tensor:
        """Class logits (B, num_classes, h, w) at the feature resolution."""
        return self.cls_seg(self._forward_feature(inputs))
