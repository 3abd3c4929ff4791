"""Key mappings of the released final-stage DeepLab checkpoints (deeplab_final.md §2, §4; icam.md §7).

Registered names (``tools/model_converters/original2mmwsss.py --model NAME``):

* ``yudewang-deeplabv1-res38`` / ``-coco``: YudeWang semantic-segmentation-codebase ``deeplabv1`` on
  ResNet-38 (``torch.save(net.state_dict())``: ``backbone.<ResNet-38>``, ``conv_fov``, ``bn_fov``,
  ``conv_fov2``, ``bn_fov2``, ``cls_conv``), 21 / 81 classes -> ``EncoderDecoder`` with ``ResNet38`` +
  :class:`~mmwsss.models.decode_heads.LargeFOVHead`.
* ``icam-final`` / ``icam-final-coco``: ICAM's ``final.pth`` (the same network; icam.md §7).
* ``yudewang-deeplabv2-r101`` / ``-coco``: YudeWang ``deeplabv2`` (RTC ``RTC_deeplabv2_resnet101``):
  PyTorch-Encoding ``resnet101s`` + YudeWang ASPP -> mmseg ``ResNetV1c(stem_channels=128)`` +
  :class:`~mmwsss.models.decode_heads.ASPPV2Head` (``fusion='concat'``; same branch order, no permutation).
* ``yudewang-deeplabv2-caffe-r101``: YudeWang ``deeplabv2_caffe`` (summed ASPP) -> ``ASPPV2Head(fusion='sum')``.
* ``resnet101s-imagenet``: the ImageNet ``resnet101s-03a0f310.pth`` the DeepLab-v2 recipe starts from ->
  ``backbone.*`` of ``ResNetV1c`` (load it with ``init_cfg=dict(type='Pretrained', checkpoint=...,
  prefix='backbone.')``); its ``fc`` is dropped.

Renaming (deeplab_final.md §5.1): ``conv1.{0,1,3,4,6}`` -> ``stem.{0,1,3,4,6}``, ``bn1`` -> ``stem.7``, every
``layer*`` key unchanged. A leading ``module.`` (DataParallel) is removed everywhere.
"""
import re
from collections import OrderedDict
from typing import Dict, Iterator, Mapping, Optional, Tuple

import torch

from .original import ORIGINAL_MAPPINGS, OriginalMapping, register_original_mapping, resnet38_backbone_key

__all__ = [
    'LARGEFOV_HEAD_KEYS', 'largefov_head_key', 'aspp_v2_head_key', 'resnet101s_key', 'RESNET101S_CFG',
    'deeplabv2_head_cfg'
]

_BN = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')

#: YudeWang ``deeplabv1`` head key -> LargeFOVHead key (without ``decode_head.``)
LARGEFOV_HEAD_KEYS: Dict[str, str] = OrderedDict(
    [('conv_fov.weight', 'conv_fov.conv.weight')] + [(f'bn_fov.{p}', f'conv_fov.bn.{p}') for p in _BN] +
    [('conv_fov2.weight', 'conv_fov2.conv.weight')] + [(f'bn_fov2.{p}', f'conv_fov2.bn.{p}') for p in _BN] +
    [('cls_conv.weight', 'conv_seg.weight'), ('cls_conv.bias', 'conv_seg.bias')])

#: mmseg backbone config equal to PyTorch-Encoding ``resnet101s`` (deeplab_final.md §5.1)
RESNET101S_CFG = dict(
    type='ResNetV1c',
    depth=101,
    stem_channels=128,
    num_stages=4,
    out_indices=(3, ),
    dilations=(1, 1, 2, 4),
    strides=(1, 2, 1, 1),
    contract_dilation=True,
    style='pytorch',
    norm_cfg=dict(type='BN', requires_grad=False),
    norm_eval=False)


def deeplabv2_head_cfg(num_classes: int, fusion: str = 'concat') -> dict:
    """The ``ASPPV2Head`` config of YudeWang's ``deeplabv2`` (``concat``) / ``deeplabv2_caffe`` (``sum``)."""
    return dict(type='ASPPV2Head', in_channels=2048, channels=256, num_classes=num_classes, fusion=fusion,
                dilations=(6, 12, 18, 24), norm_cfg=dict(type='BN', momentum=3e-4), align_corners=True)


def _strip_module(key: str) -> str:
    return key[7:] if key.startswith('module.') else key


def largefov_head_key(key: str) -> str:
    """YudeWang ``deeplabv1`` head key -> ``decode_head.<LargeFOVHead key>`` (``KeyError`` if unknown)."""
    return 'decode_head.' + LARGEFOV_HEAD_KEYS[key]


_ASPP_BRANCH = re.compile(r'^aspp\.branch([1-4])\.([01])\.(\w+)$')
_ASPP_SUM_BRANCH = re.compile(r'^aspp\.branch([1-4])\.(weight|bias)$')


def aspp_v2_head_key(key: str) -> str:
    """YudeWang ``deeplabv2`` (ASPP.py) head key -> ``decode_head.<ASPPV2Head key>``."""
    m = _ASPP_BRANCH.match(key)
    if m:
        idx, layer, param = int(m.group(1)) - 1, m.group(2), m.group(3)
        if (layer == '0' and param != 'weight') or (layer == '1' and param not in _BN):
            raise KeyError(key)
        return f'decode_head.aspp_convs.{idx}.' + ('conv.weight' if layer == '0' else f'bn.{param}')
    simple = {'aspp.branch5_conv.weight': 'image_pool.conv.weight', 'aspp.conv_cat.0.weight': 'bottleneck.conv.weight',
              'aspp.conv_cat.0.bias': 'bottleneck.conv.bias', 'cls_conv.weight': 'conv_seg.weight',
              'cls_conv.bias': 'conv_seg.bias'}
    simple.update({f'aspp.branch5_bn.{p}': f'image_pool.bn.{p}' for p in _BN})
    simple.update({f'aspp.conv_cat.1.{p}': f'bottleneck.bn.{p}' for p in _BN})
    return 'decode_head.' + simple[key]


def aspp_sum_head_key(key: str) -> str:
    """YudeWang ``deeplabv2_caffe`` (``ASPP_v2_caffe``) key -> ``decode_head.aspp_convs.<i>.<param>``."""
    m = _ASPP_SUM_BRANCH.match(key)
    if not m:
        raise KeyError(key)
    return f'decode_head.aspp_convs.{int(m.group(1)) - 1}.{m.group(2)}'


_R101S_STEM = re.compile(r'^conv1\.([01346])\.(\w+)$')
_R101S_LAYER = re.compile(r'^layer[1-4]\.\d+\.(conv[123]\.weight|bn[123]\.\w+|downsample\.[01]\.\w+)$')


def resnet101s_key(key: str) -> Optional[str]:
    """PyTorch-Encoding ``resnet101s`` key -> ``backbone.<ResNetV1c key>``; ``fc.*`` -> None (dropped)."""
    m = _R101S_STEM.match(key)
    if m:
        return f'backbone.stem.{m.group(1)}.{m.group(2)}'
    if key.startswith('bn1.') and key[4:] in _BN:
        return f'backbone.stem.7.{key[4:]}'
    if _R101S_LAYER.match(key):
        return f'backbone.{key}'
    if key in ('fc.weight', 'fc.bias'):
        return None
    raise KeyError(key)


class _ModelShapes(Mapping):
    """``{target key: full-width shape}`` of an mmseg backbone + head, built lazily on the meta device (the
    registry's own backbone check covers only ResNet-38 and VGG-16)."""

    def __init__(self, backbone: Optional[dict], head: Optional[dict]) -> None:
        self._cfgs = (backbone, head)
        self._shapes: Optional[Dict[str, Tuple[int, ...]]] = None

    def _get(self) -> Dict[str, Tuple[int, ...]]:
        if self._shapes is None:
            import mmwsss.models  # noqa: F401  (registers the heads)
            from mmseg.registry import MODELS
            shapes = OrderedDict()
            with torch.device('meta'):
                for prefix, cfg in zip(('backbone.', 'decode_head.'), self._cfgs):
                    if cfg is not None:
                        for k, v in MODELS.build(dict(cfg)).state_dict().items():
                            shapes[prefix + k] = tuple(v.shape)
            self._shapes = shapes
        return self._shapes

    def __getitem__(self, key: str) -> Tuple[int, ...]:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __bool__(self) -> bool:  # never empty; do not build the model just to answer this
        return True


def _largefov_shapes(num_classes: int) -> Dict[str, Tuple[int, ...]]:
    shapes = OrderedDict([('decode_head.conv_fov.conv.weight', (512, 4096, 3, 3))])
    for conv in ('conv_fov', 'conv_fov2'):
        if conv == 'conv_fov2':
            shapes['decode_head.conv_fov2.conv.weight'] = (512, 512, 1, 1)
        for p in _BN:
            shapes[f'decode_head.{conv}.bn.{p}'] = () if p == 'num_batches_tracked' else (512, )
    shapes['decode_head.conv_seg.weight'] = (num_classes, 512, 1, 1)
    shapes['decode_head.conv_seg.bias'] = (num_classes, )
    return shapes


def _deeplabv1_key(key: str) -> str:
    key = _strip_module(key)
    if key.startswith('backbone.'):
        return resnet38_backbone_key(key[len('backbone.'):])
    return largefov_head_key(key)


def _deeplabv2_key(key: str) -> Optional[str]:
    key = _strip_module(key)
    if key.startswith('backbone.'):
        return resnet101s_key(key[len('backbone.'):])
    return aspp_v2_head_key(key)


def _deeplabv2_caffe_key(key: str) -> Optional[str]:
    key = _strip_module(key)
    if key.startswith('backbone.'):
        return resnet101s_key(key[len('backbone.'):])
    return aspp_sum_head_key(key)


def _register_lazy(name: str, key_fn, shapes: _ModelShapes, description: str) -> None:
    """Register a mapping whose expected shapes are built only when a conversion checks them
    (``register_original_mapping`` copies ``head_shapes`` into a dict at import time)."""
    if name in ORIGINAL_MAPPINGS:
        raise KeyError(f'an original checkpoint mapping named {name!r} is already registered')
    ORIGINAL_MAPPINGS[name] = OriginalMapping(name, key_fn, None, shapes, description)


for _suffix, _n in (('', 21), ('-coco', 81)):
    _what = 'COCO, 81 classes' if _n == 81 else 'VOC, 21 classes'
    register_original_mapping(
        f'yudewang-deeplabv1-res38{_suffix}',
        backbone='resnet38',
        head_shapes=_largefov_shapes(_n),
        description=f'YudeWang codebase deeplabv1 + ResNet-38 ({_what}) -> ResNet38 + LargeFOVHead')(_deeplabv1_key)
    register_original_mapping(
        f'icam-final{_suffix}',
        backbone='resnet38',
        head_shapes=_largefov_shapes(_n),
        description=f'arvijj/icam final.pth (YudeWang deeplabv1 + ResNet-38, {_what}) -> ResNet38 + LargeFOVHead')(
            _deeplabv1_key)
    _register_lazy(
        f'yudewang-deeplabv2-r101{_suffix}', _deeplabv2_key, _ModelShapes(RESNET101S_CFG, deeplabv2_head_cfg(_n)),
        f'YudeWang codebase deeplabv2 + resnet101s ({_what}; RTC deeplabv2) -> ResNetV1c(stem 128) + '
        'ASPPV2Head(concat)')
_register_lazy(
    'yudewang-deeplabv2-caffe-r101', _deeplabv2_caffe_key, _ModelShapes(RESNET101S_CFG, deeplabv2_head_cfg(21, 'sum')),
    'YudeWang codebase deeplabv2_caffe + resnet101s (VOC; summed ASPP) -> ResNetV1c(stem 128) + ASPPV2Head(sum)')
_register_lazy(
    'resnet101s-imagenet', lambda key: resnet101s_key(_strip_module(key)), _ModelShapes(RESNET101S_CFG, None),
    'PyTorch-Encoding resnet101s-03a0f310.pth (ImageNet) -> backbone.* of ResNetV1c(stem_channels=128); fc dropped')
