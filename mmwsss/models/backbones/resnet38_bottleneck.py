"""Pre-activation bottleneck block of ResNet-38 (psa's ``ResBlock_bot``, ademxapp's "b131")."""
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmseg.utils import ConfigType
from torch import Tensor


class ResNet38Bottleneck(nn.Module):
    """``a = ReLU(BN_2a(x))``; shortcut = 1x1 conv (stride) of ``a`` (always present);
    branch = 1x1 (in -> out/4, stride) -> BN -> ReLU -> Dropout2d -> 3x3 (out/4 -> out/2, padding = dilation
    = ``dilation``) -> BN -> ReLU -> Dropout2d -> 1x1 (out/2 -> out); ``out = shortcut + branch``.

    Dropout placement is psa's: channel dropout (``Dropout2d(dropout)``) before **both** the 3x3 and the last
    1x1 conv. ademxapp's MXNet symbol had it only before the last conv; psa's version is reproduced because
    every downstream method trains with it (irrelevant at test time). No conv has a bias.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 dilation: int = 1,
                 dropout: float = 0.,
                 norm_cfg: ConfigType = dict(type='BN')) -> None:
        super().__init__()
        if out_channels % 4:
            raise ValueError(f'out_channels must be a multiple of 4, got {out_channels}')
        mid1, mid2 = out_channels // 4, out_channels // 2
        self.same_shape = False  # psa: the projection shortcut always exists in the bottlenecks
        self.bn_branch2a = build_norm_layer(norm_cfg, in_channels)[1]
        self.conv_branch1 = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
        self.conv_branch2a = nn.Conv2d(in_channels, mid1, 1, stride=stride, bias=False)
        self.bn_branch2b1 = build_norm_layer(norm_cfg, mid1)[1]
        self.dropout_2b1 = nn.Dropout2d(dropout)
        self.conv_branch2b1 = nn.Conv2d(mid1, mid2, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn_branch2b2 = build_norm_layer(norm_cfg, mid2)[1]
        self.dropout_2b2 = nn.Dropout2d(dropout)
        self.conv_branch2b2 = nn.Conv2d(mid2, out_channels, 1, bias=False)

    def preact(self, x: Tensor) -> Tensor:
        """The pre-activation ``ReLU(BN_2a(x))`` (a feature tap)."""
        return F.relu(self.bn_branch2a(x))

    def shortcut(self, x: Tensor, a: Tensor) -> Tensor:
        """The 1x1 projection of the pre-activated input."""
        return self.conv_branch1(a)

    def residual(self, a: Tensor) -> Tensor:
        """1x1 -> BN/ReLU/Dropout2d -> 3x3 -> BN/ReLU/Dropout2d -> 1x1 on the pre-activated input."""
        h = self.conv_branch2a(a)
        h = self.conv_branch2b1(self.dropout_2b1(F.relu(self.bn_branch2b1(h))))
        return self.conv_branch2b2(self.dropout_2b2(F.relu(self.bn_branch2b2(h))))

    def forward_preact(self, x: Tensor, a: Tensor) -> Tensor:
        """Block output given the input ``x`` and its pre-activation ``a = self.preact(x)``."""
        return self.shortcut(x, a) + self.residual(a)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_preact(x, self.preact(x))
