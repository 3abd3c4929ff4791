"""Wide ResNet-38 "Model A1" (Wu, Shen, van den Hengel), output stride 8, as used by psa / SEAM / SC-CAM /
SBNet / ICAM / RTC (``network/resnet38d.py``)."""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptMultiConfig
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from .resnet38_basic_block import ResNet38BasicBlock
from .resnet38_bottleneck import ResNet38Bottleneck

__all__ = ['ResNet38', 'RESNET38_MEAN', 'RESNET38_STD']

#: Input normalisation of ResNet-38 (psa ``Normalize`` = ademxapp "rna"): RGB, ImageNet mean/std, on the
#: 0..255 scale used by mmseg's ``SegDataPreProcessor`` ((x/255 - m)/s == (x - 255 m)/(255 s)).
#: Config: ``data_preprocessor = dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
#: std=[58.395, 57.12, 57.375], bgr_to_rgb=True, ...)``.
RESNET38_MEAN = (123.675, 116.28, 103.53)
RESNET38_STD = (58.395, 57.12, 57.375)


@MODELS.register_module()
class ResNet38(BaseModule):
    """Wide ResNet-38 "A1" with pre-activation blocks and dilation, output stride 8 (size ceil(H/8)).

    Layers (full width; psa's names, so psa/SEAM state dicts load unchanged):

    ========== ======================================== ======== ================
    name        block (in, mid, out)                     stride   dilation
    ========== ======================================== ======== ================
    conv1a      conv 3x3 3->64, pad 1                    1
    b2, b2_1-2  basic (64,128,128), (128,128,128) x2     2        1
    b3, b3_1-2  basic (128,256,256), (256,256,256) x2    2        1
    b4, b4_1-5  basic (256,512,512), (512,512,512) x5    2        1
    b5, b5_1-2  basic (512,512,1024), (1024,512,1024)x2  1        b5: 1 then 2; b5_1/2: 2
    b6          bottleneck 1024->(512,1024)->2048        1        4, Dropout2d p=dropout[0]
    b7          bottleneck 2048->(1024,2048)->4096       1        4, Dropout2d p=dropout[1]
    bn7         BN(4096) + ReLU -> ``conv6``
    ========== ======================================== ======== ================

    Feature taps (``out_features``), each the **pre-activation** ReLU(BN_2a(.)) computed inside a block:

    * ``conv1`` (64, stride 1): entering b2      * ``conv2`` (128, stride 2): entering b3
    * ``conv3`` (256, stride 4): entering b4     * ``conv4`` (512, stride 8): entering b5
    * ``conv5`` (1024, stride 8): entering b6    * ``pre_b7`` (2048, stride 8): entering b7
    * ``conv6`` (4096, stride 8): ReLU(bn7(b7 output)) -- psa's ``forward`` output

    psa/SEAM/RTC/ICAM ``forward_as_dict`` use the names conv3..conv6 with the same meaning. SBNet shifts
    the names: its conv1..conv7 are ours ``conv1, conv2, conv3, conv4, conv5, pre_b7, conv6``.

    Args:
        in_channels: input channels (3).
        out_features: taps returned by ``forward``, as a tuple in this order. Default
            ``('conv4', 'conv5', 'conv6')`` = psa's ``forward_as_dict`` (AffinityNet, SEAM PCM, DeepLab
            backbones); single-tap heads select ``in_index=-1`` (conv6).
        width_divisor: divides every channel width (1 = the real network; e.g. 16 for CPU toy configs).
        dropout: Dropout2d probabilities of b6 and b7 (psa: 0.3, 0.5). Active in train mode.
        frozen_stages: freeze (``requires_grad=False`` and eval mode) stages 0..frozen_stages, where stage 0
            is conv1a, stage 1 = b2/b2_1/b2_2, 2 = b3*, 3 = b4*, 4 = b5*, 5 = b6, 6 = b7 + bn7; -1 freezes
            nothing. psa's ``not_training`` list (conv1a, b2, b2_1, b2_2) is ``frozen_stages=1`` (default).
        norm_eval: keep every BN in eval mode (ImageNet running statistics) even in training (psa: True).
            The YudeWang DeepLab stage never calls psa's ``train()``: use ``norm_eval=False`` there.
        freeze_bn: BN gamma/beta get ``requires_grad=False`` (psa: True; YudeWang's DeepLab: they are in no
            optimiser group, i.e. also frozen).
        norm_cfg: norm layer config (psa: PyTorch BN defaults, eps 1e-5, momentum 0.1; ademxapp's MXNet
            original used eps 1.001e-5; YudeWang's DeepLab uses momentum 0.0003).
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint='ilsvrc-cls_rna-a1_cls1000_ep-0001.pth')`` (a
            file produced by ``tools/model_converters/mxnet2mmwsss.py``).

    Unlike psa's ``Net.train`` (which returns ``None``), :meth:`train` returns ``self``.
    """

    #: input normalisation (RGB, 0..255 scale) -- see the module constants
    MEAN = RESNET38_MEAN
    STD = RESNET38_STD

    #: taps -> block whose pre-activation they are (``conv6`` is the bn7 output)
    PREACT_TAPS = OrderedDict([('conv1', 'b2'), ('conv2', 'b3'), ('conv3', 'b4'), ('conv4', 'b5'),
                               ('conv5', 'b6'), ('pre_b7', 'b7')])
    TAP_NAMES = tuple(PREACT_TAPS) + ('conv6', )

    #: (name, kind, in, mid, out, stride, first_dilation, dilation) at full width
    ARCH: Tuple[Tuple, ...] = (
        ('b2', 'basic', 64, 128, 128, 2, None, 1),
        ('b2_1', 'basic', 128, 128, 128, 1, None, 1),
        ('b2_2', 'basic', 128, 128, 128, 1, None, 1),
        ('b3', 'basic', 128, 256, 256, 2, None, 1),
        ('b3_1', 'basic', 256, 256, 256, 1, None, 1),
        ('b3_2', 'basic', 256, 256, 256, 1, None, 1),
        ('b4', 'basic', 256, 512, 512, 2, None, 1),
        ('b4_1', 'basic', 512, 512, 512, 1, None, 1),
        ('b4_2', 'basic', 512, 512, 512, 1, None, 1),
        ('b4_3', 'basic', 512, 512, 512, 1, None, 1),
        ('b4_4', 'basic', 512, 512, 512, 1, None, 1),
        ('b4_5', 'basic', 512, 512, 512, 1, None, 1),
        ('b5', 'basic', 512, 512, 1024, 1, 1, 2),
        ('b5_1', 'basic', 1024, 512, 1024, 1, None, 2),
        ('b5_2', 'basic', 1024, 512, 1024, 1, None, 2),
        ('b6', 'bottleneck', 1024, None, 2048, 1, None, 4),
        ('b7', 'bottleneck', 2048, None, 4096, 1, None, 4),
    )
    #: module names of each stage (index = stage number used by ``frozen_stages``)
    STAGES: Tuple[Tuple[str, ...], ...] = (
        ('conv1a', ),
        ('b2', 'b2_1', 'b2_2'),
        ('b3', 'b3_1', 'b3_2'),
        ('b4', 'b4_1', 'b4_2', 'b4_3', 'b4_4', 'b4_5'),
        ('b5', 'b5_1', 'b5_2'),
        ('b6', ),
        ('b7', 'bn7'),
    )

    def __init__(self,
                 in_channels: int = 3,
                 out_features: Sequence[str] = ('conv4', 'conv5', 'conv6'),
                 width_divisor: int = 1,
                 dropout: Sequence[float] = (0.3, 0.5),
                 frozen_stages: int = 1,
                 norm_eval: bool = True,
                 freeze_bn: bool = True,
                 norm_cfg: ConfigType = dict(type='BN', eps=1e-5, momentum=0.1),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(out_features, str):
            out_features = (out_features, )
        unknown = [n for n in out_features if n not in self.TAP_NAMES]
        if unknown or not out_features:
            raise ValueError(f'ResNet38: unknown or empty out_features {tuple(out_features)}; '
                             f'choose from {self.TAP_NAMES}')
        if not isinstance(width_divisor, int) or width_divisor < 1 or 64 % width_divisor:
            raise ValueError(f'ResNet38: width_divisor must be a positive divisor of 64, got {width_divisor}')
        if len(dropout) != 2:
            raise ValueError(f'ResNet38: dropout needs two probabilities (b6, b7), got {dropout}')
        if not -1 <= frozen_stages < len(self.STAGES):
            raise ValueError(f'ResNet38: frozen_stages must be in [-1, {len(self.STAGES) - 1}], '
                             f'got {frozen_stages}')
        self.out_features = tuple(out_features)
        self.width_divisor = width_divisor
        self.dropout = tuple(float(p) for p in dropout)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.freeze_bn = freeze_bn
        self.norm_cfg = norm_cfg

        d = width_divisor
        self.conv1a = nn.Conv2d(in_channels, 64 // d, 3, padding=1, bias=False)
        self.block_names: List[str] = []
        for name, kind, cin, mid, cout, stride, first_dil, dil in self.ARCH:
            self.add_module(name, self._make_block(name, kind, cin // d, None if mid is None else mid // d,
                                                   cout // d, stride, first_dil, dil))
            self.block_names.append(name)
        self.bn7 = build_norm_layer(norm_cfg, 4096 // d)[1]
        # the deepest block whose output is needed: blocks after it are skipped in forward
        self._last_block = self._last_needed_block()
        self._freeze_stages()
        self._freeze_norm_params()

    # --------------------------------------------------------------------------------------------- build
    def _make_block(self, name: str, kind: str, cin: int, mid: Optional[int], cout: int, stride: int,
                    first_dilation: Optional[int], dilation: int) -> nn.Module:
        """Build one block (override to change the block types)."""
        if kind == 'basic':
            return ResNet38BasicBlock(
                cin, mid, cout, stride=stride, first_dilation=first_dilation, dilation=dilation,
                norm_cfg=self.norm_cfg)
        p = self.dropout[0] if name == 'b6' else self.dropout[1]
        return ResNet38Bottleneck(cin, cout, stride=stride, dilation=dilation, dropout=p, norm_cfg=self.norm_cfg)

    def _last_needed_block(self) -> str:
        if 'conv6' in self.out_features:
            return self.block_names[-1]
        # a pre-activation tap of block X only needs the blocks before X
        idx = max(self.block_names.index(self.PREACT_TAPS[n]) for n in self.out_features)
        return self.block_names[idx]

    # --------------------------------------------------------------------------------------------- forward
    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Return the taps named in ``out_features``, in that order."""
        feats = self.forward_dict(x)
        return tuple(feats[n] for n in self.out_features)

    def forward_dict(self, x: Tensor) -> Dict[str, Tensor]:
        """All taps up to the deepest requested one, as a dict (psa's ``forward_as_dict``, extended)."""
        taps = {v: k for k, v in self.PREACT_TAPS.items()}
        feats: Dict[str, Tensor] = {}
        x = self.conv1a(x)
        for name in self.block_names:
            block = getattr(self, name)
            a = block.preact(x)
            if name in taps:
                feats[taps[name]] = a
            if name == self._last_block and 'conv6' not in self.out_features:
                return feats
            x = block.forward_preact(x, a)
        feats['conv6'] = F.relu(self.bn7(x))
        return feats

    # --------------------------------------------------------------------------------------------- freezing
    def _freeze_stages(self) -> None:
        """Stages 0..frozen_stages: parameters ``requires_grad=False``, modules in eval mode."""
        for stage in self.STAGES[:self.frozen_stages + 1]:
            for name in stage:
                m = getattr(self, name)
                m.eval()
                for p in m.parameters():
                    p.requires_grad = False

    def _freeze_norm_params(self) -> None:
        """psa: every BN's gamma/beta frozen (``freeze_bn``)."""
        if not self.freeze_bn:
            return
        for m in self.modules():
            if isinstance(m, (_BatchNorm, nn.GroupNorm, nn.LayerNorm)):
                for p in m.parameters():
                    p.requires_grad = False

    def train(self, mode: bool = True) -> 'ResNet38':
        """Switch mode, then re-apply psa's freezing: frozen stages, frozen BN affine parameters and (if
        ``norm_eval``) every BN in eval mode. Dropout layers follow ``mode``. Returns ``self``."""
        super().train(mode)
        self._freeze_stages()
        self._freeze_norm_params()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

