"""Key mapping of RTC's released checkpoint ``rtc_contrast_best.pth`` (rtc.md §7).

The file is a plain ``state_dict`` of ``ChunyanWang1/RTC:network/resnet38_contrast.py (Net)``: the
ResNet-38 backbone (psa names), the CAM head, the segmentation branch, RTC's dead ``fc8`` and the three
``kernel`` buffers of the never-called PAMR module. Registered name (``tools/model_converters/
original2mmwsss.py --model rtc-res38``) -> the :class:`~mmwsss.models.segmentors.RTC` model of
``configs/rtc/`` (``decode_head`` = :class:`RTCCAMHead`, ``seg_head`` = :class:`RTCSegHead`):

* backbone tensors -> ``backbone.<key>``;
* ``proj1``, ``classifier1``, ``f8_3``, ``f8_4``, ``f8_5``, ``f9_1``, ``f9_2`` -> ``decode_head.<key>``;
* ``fc8_seg_conv1..5``, ``proj2``, ``classifier2`` -> ``seg_head.<key>``;
* dropped on purpose: ``fc8.weight`` (4096, 4352, 1, 1; declared, never used in forward) and
  ``_aff.aff_x.kernel``, ``_aff.aff_m.kernel``, ``_aff.aff_std.kernel`` (constant shift kernels of PAMR).

A leading ``module.`` (DataParallel) is removed.
"""
from collections import OrderedDict
from typing import Dict, Optional

from .original import register_original_mapping, resnet38_backbone_key

__all__ = ['RTC_HEAD_KEYS', 'RTC_DROPPED_KEYS', 'RTC_HEAD_SHAPES', 'rtc_key']

#: original key -> mmwsss key of the two heads
RTC_HEAD_KEYS: Dict[str,
                    str] = OrderedDict([(f'{k}.weight', f'decode_head.{k}.weight')
                                        for k in ('proj1', 'classifier1', 'f8_3', 'f8_4', 'f8_5', 'f9_1', 'f9_2')] +
                                       [(f'fc8_seg_conv{i}.{p}', f'seg_head.fc8_seg_conv{i}.{p}') for i in (1, 2)
                                        for p in ('weight', 'bias')] +
                                       [(f'fc8_seg_conv{i}.weight', f'seg_head.fc8_seg_conv{i}.weight')
                                        for i in (3, 4, 5)] + [('proj2.weight', 'seg_head.proj2.weight'),
                                                               ('classifier2.weight', 'seg_head.classifier2.weight')])

#: tensors of the original that have no counterpart on purpose
RTC_DROPPED_KEYS = ('fc8.weight', '_aff.aff_x.kernel', '_aff.aff_m.kernel', '_aff.aff_std.kernel')

#: full-width shapes of the head tensors (rtc.md §2.2)
RTC_HEAD_SHAPES = OrderedDict([
    ('decode_head.proj1.weight', (256, 4096, 1, 1)),
    ('decode_head.classifier1.weight', (21, 256, 1, 1)),
    ('decode_head.f8_3.weight', (64, 512, 1, 1)),
    ('decode_head.f8_4.weight', (128, 1024, 1, 1)),
    ('decode_head.f8_5.weight', (128, 4096, 1, 1)),
    ('decode_head.f9_1.weight', (128, 256, 1, 1)),
    ('decode_head.f9_2.weight', (64, 67, 1, 1)),
    ('seg_head.fc8_seg_conv1.weight', (512, 4096, 3, 3)),
    ('seg_head.fc8_seg_conv1.bias', (512, )),
    ('seg_head.fc8_seg_conv2.weight', (256, 512, 3, 3)),
    ('seg_head.fc8_seg_conv2.bias', (256, )),
    ('seg_head.fc8_seg_conv3.weight', (256, 4096, 3, 3)),
    ('seg_head.fc8_seg_conv4.weight', (256, 512, 1, 1)),
    ('seg_head.fc8_seg_conv5.weight', (48, 256, 3, 3)),
    ('seg_head.proj2.weight', (256, 304, 1, 1)),
    ('seg_head.classifier2.weight', (21, 256, 1, 1)),
])


def rtc_key(key: str) -> Optional[str]:
    """Original RTC key -> mmwsss key; ``None`` for the deliberately dropped tensors; ``KeyError`` otherwise."""
    bare = key[7:] if key.startswith('module.') else key
    if bare in RTC_DROPPED_KEYS:
        return None
    if bare in RTC_HEAD_KEYS:
        return RTC_HEAD_KEYS[bare]
    return resnet38_backbone_key(bare)


register_original_mapping('rtc-res38',
                          backbone='resnet38',
                          head_shapes=RTC_HEAD_SHAPES,
                          description='ChunyanWang1/RTC rtc_contrast_best.pth (resnet38_contrast.Net) -> RTC '
                          '(configs/rtc); drops the unused fc8 and the PAMR kernel buffers')(rtc_key)
