"""Key mapping: ademxapp ResNet-38 "Model A1" MXNet names -> :class:`mmwsss.models.ResNet38` keys.

The ImageNet weights ``ilsvrc-cls_rna-a1_cls1000_ep-0001.params`` (itijyou/ademxapp) name their tensors

* ``arg:conv1a_weight``
* per block ``<L>`` in 2a, 2b1, 2b2, 3a, 3b1, 3b2, 4a, 4b1..4b5, 5a, 5b1, 5b2, 6a, 7a:
  ``arg:res<L>_branch{1,2a,2b1,2b2}_weight`` (convs) and
  ``arg:bn<L>_branch{2a,2b1,2b2}_{gamma,beta}`` / ``aux:bn<L>_branch..._{moving_mean,moving_var}`` (BNs)
* ``arg:bn7_{gamma,beta}``, ``aux:bn7_{moving_mean,moving_var}``
* ``arg:linear1000_{weight,bias}`` (the ImageNet classifier: dropped)

psa's renaming (``resnet38d.convert_mxnet_to_torch``), reproduced here: block ``<level>a`` -> ``b<level>``,
``<level>b<k>`` -> ``b<level>_<k>``; ``res..._<branch>_weight`` -> ``<block>.conv_<branch>.weight``;
``bn..._<branch>_{gamma,beta,moving_mean,moving_var}`` -> ``<block>.bn_<branch>.{weight,bias,running_mean,
running_var}``. The ``arg:``/``aux:`` prefix is ignored. 191 tensors are converted (43 conv weights,
37 BNs x 4); the two ``linear1000`` tensors are dropped.
"""
import re
from typing import Optional

__all__ = ['resnet38_mxnet_key', 'RESNET38_NUM_TENSORS', 'RESNET38_DROPPED_PREFIXES']

#: tensors a complete ademxapp A1 file converts into (43 conv weights + 37 BN x 4)
RESNET38_NUM_TENSORS = 191
#: parameter name prefixes dropped on purpose
RESNET38_DROPPED_PREFIXES = ('linear1000_', )

_BN_FIELDS = {
    'gamma': 'weight',
    'beta': 'bias',
    'moving_mean': 'running_mean',
    'moving_var': 'running_var',
}
_BLOCK_RE = re.compile(r'^(res|bn)(\d)(a|b(\d+))_(branch1|branch2a|branch2b1|branch2b2)_'
                       r'(weight|gamma|beta|moving_mean|moving_var)$')
_BN7_RE = re.compile(r'^bn7_(gamma|beta|moving_mean|moving_var)$')


def _strip_prefix(name: str) -> str:
    return name[4:] if name[:4] in ('arg:', 'aux:') else name


def resnet38_mxnet_key(name: str) -> Optional[str]:
    """Map one ademxapp A1 tensor name to its ResNet38 state-dict key.

    Returns ``None`` for tensors dropped on purpose (``linear1000_*``) and raises ``KeyError`` for names
    that are not part of Model A1.
    """
    base = _strip_prefix(name)
    if base == 'conv1a_weight':
        return 'conv1a.weight'
    if base.startswith(RESNET38_DROPPED_PREFIXES):
        return None
    m = _BN7_RE.match(base)
    if m:
        return f'bn7.{_BN_FIELDS[m.group(1)]}'
    m = _BLOCK_RE.match(base)
    if m is None:
        raise KeyError(name)
    kind, level, _, index, branch, what = m.groups()
    block = f'b{level}' if index is None else f'b{level}_{index}'
    if kind == 'res':
        if what != 'weight':
            raise KeyError(name)
        return f'{block}.conv_{branch}.weight'
    if what == 'weight' or branch == 'branch1':  # BNs have no 'weight' field and there is no bn_branch1
        raise KeyError(name)
    return f'{block}.bn_{branch}.{_BN_FIELDS[what]}'
