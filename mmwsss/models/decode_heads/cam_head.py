from typing import Dict, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class CAMHead(BaseModule):
    """Class-activation-map classifier head (psa ``resnet38_cls``).

    Training: ``logits = conv_cam(GAP(dropout(x)))`` (B, C) with a multi-label loss. CAMs:
    ``conv_cam(x)`` (B, C, h, w) without dropout or pooling; callers apply ReLU (:meth:`forward_cam`).
    ``conv_cam`` is a bias-free 1x1 convolution initialised with ``xavier_uniform_`` (gain 1), as psa's fc8.

    Args:
        in_channels: channels of the selected backbone feature.
        num_classes: number of FOREGROUND classes (background has no CAM).
        in_index: which backbone output to use.
        dropout_ratio: ``Dropout2d`` probability before pooling (psa: 0.5).
        loss_cls: config of the image-level loss.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 in_index: int = -1,
                 dropout_ratio: float = 0.5,
                 loss_cls: Dict = dict(type='MultiLabelSoftMarginLoss', loss_weight=1.0),
                 init_cfg: Union[Dict, Sequence[Dict]] = dict(
                     type='Xavier', layer='Conv2d', distribution='uniform', gain=1.0)):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.in_index = in_index
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.conv_cam = nn.Conv2d(in_channels, num_classes, 1, bias=False)
        self.loss_cls = MODELS.build(loss_cls)

    def _select(self, inputs: Union[Tensor, Tuple[Tensor, ...]]) -> Tensor:
        return inputs if isinstance(inputs, Tensor) else inputs[self.in_index]

    def forward(self, inputs: Union[Tensor, Tuple[Tensor, ...]]) -> Tensor:
        """Image-level logits (B, C)."""
        x = self.dropout(self._select(inputs))
        x = F.adaptive_avg_pool2d(x, 1)
        return self.conv_cam(x).flatten(1)

    def forward_cam(self, inputs: Union[Tensor, Tuple[Tensor, ...]]) -> Tensor:
        """Class activation maps ``ReLU(conv_cam(x))`` (B, C, h, w)."""
        return F.relu(self.conv_cam(self._select(inputs)))

    def loss(self, inputs: Union[Tensor, Tuple[Tensor, ...]], img_labels: Tensor) -> Dict[str, Tensor]:
        """Image-level classification loss from multi-hot ``img_labels`` (B, C)."""
        logits = self.forward(inputs)
        losses = {self.loss_cls.loss_name: self.loss_cls(logits, img_labels)}
        with torch.no_grad():
            losses['acc_cls'] = ((logits > 0).to(img_labels.dtype) == img_labels).float().mean() * 100
        return losses
