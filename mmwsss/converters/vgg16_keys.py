"""Key mapping: ICD's ``vgg16_20M.params`` (DeepLab "VGG16 20M" in MXNet) -> :class:`VGG16DeepLab` keys.

Expected content (icd.md §7.1): ``arg:conv{1_1..5_3}_{weight,bias}``, ``arg:fc6_weight`` (1024,512,3,3),
``arg:fc6_bias``, ``arg:fc7_weight`` (1024,1024,1,1), ``arg:fc7_bias``; possibly an ``fc8`` of another
shape, which ICD drops (re-initialised) -- dropped here too, whatever its shape. ``X_weight`` ->
``X.weight``, ``X_bias`` -> ``X.bias``; the ``arg:``/``aux:`` prefix is ignored. 32 tensors in all
(13 convs + fc6 + fc7, weight and bias each).
"""
import re
from typing import Optional

__all__ = ['vgg16_mxnet_key', 'VGG16_NUM_TENSORS', 'VGG16_LAYERS']

#: layers of VGG16DeepLab holding parameters, in order
VGG16_LAYERS = ('conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'conv3_1', 'conv3_2', 'conv3_3', 'conv4_1',
                'conv4_2', 'conv4_3', 'conv5_1', 'conv5_2', 'conv5_3', 'fc6', 'fc7')
#: tensors a complete file converts into (15 layers x weight/bias)
VGG16_NUM_TENSORS = 2 * len(VGG16_LAYERS)

_KEY_RE = re.compile(r'^(conv\d_\d|fc\d)_(weight|bias)$')


def vgg16_mxnet_key(name: str) -> Optional[str]:
    """Map one ``vgg16_20M.params`` name to its VGG16DeepLab key; ``None`` for ``fc8_*`` (dropped);
    ``KeyError`` for any other name."""
    base = name[4:] if name[:4] in ('arg:', 'aux:') else name
    m = _KEY_RE.match(base)
    if m is None:
        raise KeyError(name)
    layer, what = m.groups()
    if layer == 'fc8':
        return None
    if layer not in VGG16_LAYERS:
        raise KeyError(name)
    return f'{layer}.{what}'
