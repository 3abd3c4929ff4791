"""Independent reference networks written from the layer tables of deeplab_final.md §2 (NOT from mmwsss code):
module and parameter names are the original YudeWang code base's, so their ``state_dict()`` is a synthetic
"released checkpoint" for the converters, and their outputs are the expected values for the ported heads."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, momentum=0.0003)


def randomize_bn(module: nn.Module, seed: int = 0) -> None:
    """Non-trivial BN statistics and affine parameters (so a wrong BN mapping shows in the outputs)."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.weight.data = torch.rand(n, generator=g) + 0.5
            m.bias.data = torch.randn(n, generator=g) * 0.1
            m.running_mean.data = torch.randn(n, generator=g) * 0.1
            m.running_var.data = torch.rand(n, generator=g) + 0.5


class RefDeepLabV1Head(nn.Module):
    """§2.1 table: conv_fov 3x3 d12 (no bias) + bn_fov + ReLU, conv_fov2 1x1 + bn_fov2 + ReLU, Dropout, cls_conv."""

    def __init__(self, cin: int, mid: int, n_cls: int, dilation: int = 12) -> None:
        super().__init__()
        self.conv_fov = nn.Conv2d(cin, mid, 3, 1, padding=dilation, dilation=dilation, bias=False)
        self.bn_fov = bn(mid)
        self.conv_fov2 = nn.Conv2d(mid, mid, 1, bias=False)
        self.bn_fov2 = bn(mid)
        self.dropout1 = nn.Dropout(0.5)
        self.cls_conv = nn.Conv2d(mid, n_cls, 1)

    def forward(self, x):
        x = F.relu(self.bn_fov(self.conv_fov(x)))
        x = F.relu(self.bn_fov2(self.conv_fov2(x)))
        return self.cls_conv(self.dropout1(x))


class RefASPP(nn.Module):
    """§2.2 table: branch1..4 = 3x3 dilated conv + BN + ReLU, branch5 = GAP -> 1x1 conv -> BN -> ReLU ->
    upsample (align_corners=True); concat [b1, b2, b3, b4, b5] -> conv_cat (1x1 + BN + ReLU + Dropout)."""

    def __init__(self, cin: int, cout: int, rates=(6, 12, 18, 24)) -> None:
        super().__init__()
        for i, r in enumerate(rates, 1):
            setattr(self, f'branch{i}', nn.Sequential(
                nn.Conv2d(cin, cout, 3, 1, padding=r, dilation=r, bias=False), bn(cout), nn.ReLU()))
        self.branch5_conv = nn.Conv2d(cin, cout, 1, bias=False)
        self.branch5_bn = bn(cout)
        self.branch5_relu = nn.ReLU()
        self.conv_cat = nn.Sequential(nn.Conv2d(cout * 5, cout, 1, bias=False), bn(cout), nn.ReLU(), nn.Dropout(0.5))

    def forward(self, x):
        h, w = x.shape[2:]
        outs = [getattr(self, f'branch{i}')(x) for i in range(1, 5)]
        g = self.branch5_relu(self.branch5_bn(self.branch5_conv(F.adaptive_avg_pool2d(x, 1))))
        outs.append(F.interpolate(g, (h, w), mode='bilinear', align_corners=True))
        return self.conv_cat(torch.cat(outs, 1))


class RefDeepLabV2Head(nn.Module):
    """§2.2: aspp -> Dropout(0.5) -> cls_conv (bias)."""

    def __init__(self, cin: int, mid: int, n_cls: int, rates=(6, 12, 18, 24)) -> None:
        super().__init__()
        self.aspp = RefASPP(cin, mid, rates)
        self.dropout1 = nn.Dropout(0.5)
        self.cls_conv = nn.Conv2d(mid, n_cls, 1)

    def forward(self, x):
        return self.cls_conv(self.dropout1(self.aspp(x)))


class RefResNet101sStem(nn.Module):
    """§2.3 deep stem of PyTorch-Encoding resnet101s: conv1 = [3x3 s2 3->64, BN, ReLU, 3x3 64->64, BN, ReLU,
    3x3 64->128], bn1(128), ReLU, max pool 3x3/s2/p1."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
            nn.Conv2d(64, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
            nn.Conv2d(64, 128, 3, 1, 1, bias=False))
        self.bn1 = nn.BatchNorm2d(128)

    def forward(self, x):
        return F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
