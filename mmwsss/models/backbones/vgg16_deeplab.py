"""DeepLab-style VGG16 (ICD's ``core/model/vgg.py: vgg16_deeplab`` + the fc6/fc7 of ``vgg16_cam``)."""
from collections import OrderedDict
from typing import Dict, Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from torch import Tensor

__all__ = ['VGG16DeepLab', 'VGG16_DEEPLAB_MEAN', 'VGG16_DEEPLAB_STD']

#: Input convention of ICD: RGB 0..255 minus the scalar 127 (no std). The original subtracts it inside the
#: graph; here the data preprocessor does it: ``dict(type='SegDataPreProcessor', mean=[127., 127., 127.],
#: std=[1., 1., 1.], bgr_to_rgb=True, pad_val=127, ...)`` (padding with 127 becomes exactly 0, as in ICD).
VGG16_DEEPLAB_MEAN = (127., 127., 127.)
VGG16_DEEPLAB_STD = (1., 1., 1.)


@MODELS.register_module()
class VGG16DeepLab(BaseModule):
    """VGG16 with DeepLab's output-stride-8 modifications (icd.md §2.2), optionally with fc6/fc7.

    All convs are 3x3 with bias and padding = dilation, each followed by ReLU. Max pools are 3x3 with
    padding 1 (padding ignored, floor size); pool1-3 stride 2, **pool4 stride 1**; conv5_x dilation 2;
    pool5 = max 3x3 s1 p1 then pool5a = avg 3x3 s1 p1 counting the padding (divides by 9 everywhere).
    Output size floor((S-1)/8)+1 (321->41, 448->56, 513->65).

    With ``with_fc`` (ICD's CAM branch, whose weights come from the same pretrained file):
    fc6 = conv 3x3 512->1024 (dilation ``fc6_dilation``: 1 in ICD, 12 for DeepLab-LargeFOV), ReLU,
    Dropout(``fc_dropout``); fc7 = conv 1x1 1024->1024, ReLU, Dropout(``fc_dropout``). Dropouts are
    element-wise (MXNet ``Dropout``). ICD's fc8 (the CAM classifier) belongs to the head.

    Feature taps (``out_features``): ``conv5_3`` (F: the ReLU output of conv5_3, fed to ICD's BN +
    intra-class discriminator and top-down head), ``pool5a``, ``fc6`` / ``fc7`` (after their ReLU and
    dropout; ``fc7`` is the input of ICD's fc8). Default ``('conv5_3', 'fc7')``.

    Args:
        in_channels: input channels (3, RGB minus 127: see :data:`VGG16_DEEPLAB_MEAN`).
        out_features: taps returned by ``forward``, in this order.
        with_fc: build fc6/fc7.
        fc6_dilation: dilation (= padding) of fc6.
        fc_dropout: dropout probability after fc6 and fc7.
        width_divisor: divides every channel width (1 = the real network).
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint='vgg16_20M.pth')`` (converted with
            ``tools/model_converters/mxnet2mmwsss.py --arch vgg16``).
    """

    MEAN = VGG16_DEEPLAB_MEAN
    STD = VGG16_DEEPLAB_STD

    #: conv stages: (conv names, out channels at full width, dilation); each stage is followed by its pool
    ARCH: Tuple[Tuple[Tuple[str, ...], int, int], ...] = (
        (('conv1_1', 'conv1_2'), 64, 1),
        (('conv2_1', 'conv2_2'), 128, 1),
        (('conv3_1', 'conv3_2', 'conv3_3'), 256, 1),
        (('conv4_1', 'conv4_2', 'conv4_3'), 512, 1),
        (('conv5_1', 'conv5_2', 'conv5_3'), 512, 2),
    )
    #: stride of pool1..pool4 (pool5/pool5a have stride 1)
    POOL_STRIDES = (2, 2, 2, 1)
    TAP_NAMES = ('conv5_3', 'pool5a', 'fc6', 'fc7')

    def __init__(self,
                 in_channels: int = 3,
                 out_features: Sequence[str] = ('conv5_3', 'fc7'),
                 with_fc: bool = True,
                 fc6_dilation: int = 1,
                 fc_dropout: float = 0.5,
                 width_divisor: int = 1,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(out_features, str):
            out_features = (out_features, )
        allowed = self.TAP_NAMES if with_fc else self.TAP_NAMES[:2]
        unknown = [n for n in out_features if n not in allowed]
        if unknown or not out_features:
            raise ValueError(f'VGG16DeepLab: unknown or empty out_features {tuple(out_features)}; '
                             f'choose from {allowed} (with_fc={with_fc})')
        if not isinstance(width_divisor, int) or width_divisor < 1 or 64 % width_divisor:
            raise ValueError(f'VGG16DeepLab: width_divisor must be a positive divisor of 64, '
                             f'got {width_divisor}')
        self.out_features = tuple(out_features)
        self.with_fc = with_fc
        self.width_divisor = width_divisor

        d = width_divisor
        cin = in_channels
        self.conv_names = []
        for names, cout, dil in self.ARCH:
            for name in names:
                self.add_module(name, nn.Conv2d(cin, cout // d, 3, padding=dil, dilation=dil))
                self.conv_names.append(name)
                cin = cout // d
        for i, stride in enumerate(self.POOL_STRIDES, start=1):
            self.add_module(f'pool{i}', nn.MaxPool2d(3, stride=stride, padding=1))
        self.pool5 = nn.MaxPool2d(3, stride=1, padding=1)
        self.pool5a = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=True)
        if with_fc:
            self.fc6 = nn.Conv2d(cin, 1024 // d, 3, padding=fc6_dilation, dilation=fc6_dilation)
            self.drop6 = nn.Dropout(fc_dropout)
            self.fc7 = nn.Conv2d(1024 // d, 1024 // d, 1)
            self.drop7 = nn.Dropout(fc_dropout)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Return the taps named in ``out_features``, in that order."""
        feats = self.forward_dict(x)
        return tuple(feats[n] for n in self.out_features)

    def forward_dict(self, x: Tensor) -> Dict[str, Tensor]:
        """All taps up to the deepest requested one, as an ordered dict."""
        feats: Dict[str, Tensor] = OrderedDict()
        last = max(self.TAP_NAMES.index(n) for n in self.out_features)
        for stage, (names, _, _) in enumerate(self.ARCH, start=1):
            for name in names:
                x = F.relu(getattr(self, name)(x))
            if stage <= len(self.POOL_STRIDES):
                x = getattr(self, f'pool{stage}')(x)
        feats['conv5_3'] = x
        if last == 0:
            return feats
        x = self.pool5a(self.pool5(x))
        feats['pool5a'] = x
        if last == 1:
            return feats
        x = self.drop6(F.relu(self.fc6(x)))
        feats['fc6'] = x
        if last == 2:
            return feats
        feats['fc7'] = self.drop7(F.relu(self.fc7(x)))
        return feats
