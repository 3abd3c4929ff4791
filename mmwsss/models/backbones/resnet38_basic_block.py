"""Pre-activation basic block of ResNet-38 (psa's ``ResBlock``)."""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmseg.utils import ConfigType
from torch import Tensor


class ResNet38BasicBlock(nn.Module):
    """``a = ReLU(BN_2a(x))``; ``out = shortcut + conv_2b1(ReLU(BN_2b1(conv_2a(a))))``.

    The shortcut is ``x`` itself when ``in_channels == out_channels`` and ``stride == 1``, otherwise a 1x1
    strided conv applied to the *pre-activated* ``a``. Both 3x3 convs have padding = dilation; the first uses
    ``first_dilation`` (default: ``dilation``). No conv has a bias; nothing follows the sum.

    Attribute names follow psa (``bn_branch2a``, ``conv_branch2a``, ``bn_branch2b1``, ``conv_branch2b1``,
    ``conv_branch1``), so psa state dicts load unchanged.
    """

    def __init__(self,
                 in_channels: int,
                 mid_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 first_dilation: Optional[int] = None,
                 dilation: int = 1,
                 norm_cfg: ConfigType = dict(type='BN')) -> None:
        super().__init__()
        first_dilation = dilation if first_dilation is None else first_dilation
        self.same_shape = in_channels == out_channels and stride == 1
        self.bn_branch2a = build_norm_layer(norm_cfg, in_channels)[1]
        self.conv_branch2a = nn.Conv2d(
            in_channels,
            mid_channels,
            3,
            stride=stride,
            padding=first_dilation,
            dilation=first_dilation,
            bias=False)
        self.bn_branch2b1 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.conv_branch2b1 = nn.Conv2d(
            mid_channels, out_channels, 3, padding=dilation, dilation=dilation, bias=False)
        if not self.same_shape:
            self.conv_branch1 = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def preact(self, x: Tensor) -> Tensor:
        """The pre-activation ``ReLU(BN_2a(x))`` (psa's ``x_bn_relu``, a feature tap)."""
        return F.relu(self.bn_branch2a(x))

    def shortcut(self, x: Tensor, a: Tensor) -> Tensor:
        """Identity on ``x`` or the 1x1 projection of the pre-activated ``a``."""
        return x if self.same_shape else self.conv_branch1(a)

    def residual(self, a: Tensor) -> Tensor:
        """The 3x3 -> BN -> ReLU -> 3x3 branch on the pre-activated input."""
        h = self.conv_branch2a(a)
        return self.conv_branch2b1(F.relu(self.bn_branch2b1(h)))

    def forward_preact(self, x: Tensor, a: Tensor) -> Tensor:
        """Block output given the input ``x`` and its pre-activation ``a = self.preact(x)``."""
        return self.shortcut(x, a) + self.residual(a)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_preact(x, self.preact(x))

