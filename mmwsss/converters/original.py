"""Registry of key mappings for the original methods' released PyTorch checkpoints.

Each entry maps the keys of one released checkpoint (e.g. psa's ``res38_cls.pth``) onto mmwsss model keys,
with **strict** semantics: every source tensor is either converted or explicitly dropped; a key the mapping
does not know is an error (see ``tools/model_converters/original2mmwsss.py``).

Target naming (the models are written to these names):

* backbone tensors: ``backbone.<ResNet38 key>`` (psa's own names, e.g. ``backbone.b4_5.bn_branch2a.weight``);
* psa CAM network (``resnet38_cls.Net``): ``fc8.weight`` (20,4096,1,1) -> ``decode_head.conv_cam.weight``
  (:data:`PSA_CLS_HEAD_KEYS`);
* psa AffinityNet (``resnet38_aff.Net``): ``f8_3/f8_4/f8_5/f9.weight`` -> ``decode_head.f8_3.weight`` ...
  (:data:`PSA_AFF_HEAD_KEYS`).

Adding a method: write a key function (``str -> str`` target key, ``None`` to drop on purpose, raise
``KeyError`` for an unknown key) and register it::

    @register_original_mapping('sccam-res38-cls', backbone='resnet38',
                               head_shapes={'decode_head.conv_cam.weight': (200, 4096, 1, 1)},
                               description='...')
    def _sccam_cls(key): ...
"""
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Tuple

import torch

from .key_mapping import ConversionResult, KeyFn, convert_with_key_map

__all__ = [
    'OriginalMapping', 'ORIGINAL_MAPPINGS', 'register_original_mapping', 'get_original_mapping',
    'convert_original_state_dict', 'list_original_mappings', 'PSA_CLS_HEAD_KEYS', 'PSA_AFF_HEAD_KEYS',
    'resnet38_backbone_key'
]

#: psa ``resnet38_cls.Net`` head key -> mmwsss key
PSA_CLS_HEAD_KEYS = OrderedDict([('fc8.weight', 'decode_head.conv_cam.weight')])
#: psa ``resnet38_aff.Net`` head key -> mmwsss key
PSA_AFF_HEAD_KEYS = OrderedDict([
    ('f8_3.weight', 'decode_head.f8_3.weight'),
    ('f8_4.weight', 'decode_head.f8_4.weight'),
    ('f8_5.weight', 'decode_head.f8_5.weight'),
    ('f9.weight', 'decode_head.f9.weight'),
])


@dataclass(frozen=True)
class OriginalMapping:
    """One registered checkpoint mapping.

    Attributes:
        name: registry name (``--model`` of original2mmwsss.py).
        key_fn: source key -> target key / ``None`` (drop) / ``KeyError`` (unknown).
        backbone: backbone whose full-width state dict (prefixed ``backbone.``) the targets are checked
            against: ``'resnet38'``, ``'vgg16'`` or ``None`` (no backbone check).
        head_shapes: target head keys -> full-width shape (checked when the backbone width is the real one).
        description: one line, printed by the tool.
    """
    name: str
    key_fn: KeyFn
    backbone: Optional[str] = None
    head_shapes: Mapping[str, Tuple[int, ...]] = field(default_factory=dict)
    description: str = ''

    def expected_shapes(self, width_divisor: int = 1) -> 'OrderedDict[str, Optional[torch.Size]]':
        """Target key -> expected shape; head shapes are only checked at full width (``None`` = any)."""
        expected: 'OrderedDict[str, Optional[torch.Size]]' = OrderedDict()
        if self.backbone is not None:
            for k, shape in _backbone_shapes(self.backbone, width_divisor).items():
                expected[f'backbone.{k}'] = shape
        for k, shape in self.head_shapes.items():
            expected[k] = torch.Size(shape) if width_divisor == 1 else None
        return expected


#: name -> mapping; filled by :func:`register_original_mapping`
ORIGINAL_MAPPINGS: Dict[str, OriginalMapping] = OrderedDict()


def register_original_mapping(name: str,
                              backbone: Optional[str] = None,
                              head_shapes: Optional[Mapping[str, Tuple[int, ...]]] = None,
                              description: str = '') -> Callable[[KeyFn], KeyFn]:
    """Decorator registering a key function under ``name``."""

    def wrap(fn: KeyFn) -> KeyFn:
        if name in ORIGINAL_MAPPINGS:
            raise KeyError(f'an original checkpoint mapping named {name!r} is already registered')
        ORIGINAL_MAPPINGS[name] = OriginalMapping(name, fn, backbone, dict(head_shapes or {}), description)
        return fn

    return wrap


def get_original_mapping(name: str) -> OriginalMapping:
    """The mapping registered as ``name`` (``KeyError`` listing the known names otherwise)."""
    if name not in ORIGINAL_MAPPINGS:
        raise KeyError(f'no original checkpoint mapping {name!r}; known: {sorted(ORIGINAL_MAPPINGS)}')
    return ORIGINAL_MAPPINGS[name]


def _backbone_shapes(backbone: str, width_divisor: int) -> 'OrderedDict[str, torch.Size]':
    # imported here: the backbones need mmseg/mmengine, the key functions do not
    from mmwsss.models.backbones import ResNet38, VGG16DeepLab
    builders = {'resnet38': ResNet38, 'vgg16': VGG16DeepLab}
    if backbone not in builders:
        raise KeyError(f'unknown backbone {backbone!r}; known: {sorted(builders)}')
    with torch.device('meta'):
        model = builders[backbone](width_divisor=width_divisor)
    return OrderedDict((k, v.shape) for k, v in model.state_dict().items())


def convert_original_state_dict(state_dict: Mapping[str, torch.Tensor],
                                name: str,
                                width_divisor: int = 1,
                                check_shapes: bool = True,
                                source_name: str = '<checkpoint>') -> ConversionResult:
    """Convert an original checkpoint's state dict with the mapping ``name``.

    Shapes are checked when ``check_shapes`` and the mapping declares a backbone or head shapes.
    Non-strict by itself: the caller decides what to do with ``unused`` / ``unexpected`` / ``missing``
    (the tool refuses to write unless all are empty).
    """
    mapping = get_original_mapping(name)
    checkable = mapping.backbone is not None or bool(mapping.head_shapes)
    expected = mapping.expected_shapes(width_divisor) if check_shapes and checkable else None
    return convert_with_key_map(state_dict, mapping.key_fn, expected=expected, source_name=source_name)


# ------------------------------------------------------------------------------------------------ psa
_RES38_KEY_RE = re.compile(r'^(conv1a\.weight'
                           r'|b\d(_\d+)?\.conv_branch(1|2a|2b1|2b2)\.weight'
                           r'|(b\d(_\d+)?\.bn_branch(2a|2b1|2b2)|bn7)\.'
                           r'(weight|bias|running_mean|running_var|num_batches_tracked))$')


def resnet38_backbone_key(key: str) -> str:
    """psa/SEAM ResNet-38 key (``b4_5.bn_branch2a.weight``) -> ``backbone.<key>``; ``KeyError`` if the key is
    not a ResNet-38 backbone key. A leading ``module.`` (DataParallel) is removed."""
    key = key[7:] if key.startswith('module.') else key
    if _RES38_KEY_RE.match(key) is None:
        raise KeyError(key)
    return f'backbone.{key}'


def _with_head(head_keys: Mapping[str, str]) -> KeyFn:

    def key_fn(key: str) -> Optional[str]:
        bare = key[7:] if key.startswith('module.') else key
        if bare in head_keys:
            return head_keys[bare]
        return resnet38_backbone_key(bare)

    return key_fn


_psa_cls = _with_head(PSA_CLS_HEAD_KEYS)
_psa_aff = _with_head(PSA_AFF_HEAD_KEYS)
register_original_mapping(
    'psa-res38-cls',
    backbone='resnet38',
    head_shapes={'decode_head.conv_cam.weight': (20, 4096, 1, 1)},
    description="jiwoon-ahn/psa res38_cls.pth (resnet38_cls.Net): ResNet-38 + fc8 (20,4096,1,1), no bias")(
        _psa_cls)
register_original_mapping(
    'psa-res38-aff',
    backbone='resnet38',
    head_shapes={
        'decode_head.f8_3.weight': (64, 512, 1, 1),
        'decode_head.f8_4.weight': (128, 1024, 1, 1),
        'decode_head.f8_5.weight': (256, 4096, 1, 1),
        'decode_head.f9.weight': (448, 448, 1, 1),
    },
    description='jiwoon-ahn/psa res38_aff.pth (resnet38_aff.Net): ResNet-38 + f8_3/f8_4/f8_5/f9, no biases')(
        _psa_aff)


def list_original_mappings() -> List[str]:
    """Registered names, in registration order."""
    return list(ORIGINAL_MAPPINGS)
