"""Convert MXNet ImageNet weights (``.params``) into an mmwsss backbone state dict (``.pth``).

    python tools/model_converters/mxnet2mmwsss.py ilsvrc-cls_rna-a1_cls1000_ep-0001.params \
        pretrain/resnet38_a1_imagenet.pth --arch resnet38
    python tools/model_converters/mxnet2mmwsss.py vgg16_20M.params pretrain/vgg16_20M.pth --arch vgg16

``resnet38``: itijyou/ademxapp Model A1 (psa's renaming; ``linear1000`` dropped) -> :class:`ResNet38`.
``vgg16``: ICD's DeepLab "VGG16 20M" (``fc8`` dropped) -> :class:`VGG16DeepLab` (with fc6/fc7).

The result is a plain state dict of tensors (no ``backbone.`` prefix), loadable with
``init_cfg=dict(type='Pretrained', checkpoint=DST)`` on the backbone. Every key is checked against the
model's shapes; the summary lists converted, dropped, unused and missing tensors. Unused source tensors
or missing model tensors make the tool fail unless ``--allow-unused`` / ``--allow-missing`` is given.
Exit status: 0 on success, 1 on a bad input file or an incomplete conversion.
"""
import argparse
import sys
from typing import List, Optional

import torch

ARCHS = ('resnet38', 'vgg16')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert MXNet .params weights to an mmwsss backbone .pth')
    parser.add_argument('src', help='MXNet .params file')
    parser.add_argument('dst', help='output .pth (written atomically)')
    parser.add_argument('--arch', required=True, choices=ARCHS, help='target backbone')
    parser.add_argument(
        '--width-divisor',
        type=int,
        default=1,
        help='check shapes against the backbone built with this width_divisor (1 = the real network; '
        'other values are for tests)')
    parser.add_argument('--allow-unused', action='store_true', help='do not fail on unknown source tensors')
    parser.add_argument('--allow-missing', action='store_true', help='do not fail on unfilled model tensors')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from mmwsss.converters import (KeyMappingError, MXNetParamsError, convert_with_key_map, expected_shapes,
                                   load_mxnet_params, resnet38_mxnet_key, vgg16_mxnet_key)
    from mmwsss.models.backbones import ResNet38, VGG16DeepLab
    from mmwsss.utils.io import atomic_path

    builder, key_fn = {'resnet38': (ResNet38, resnet38_mxnet_key), 'vgg16': (VGG16DeepLab, vgg16_mxnet_key)}[args.arch]
    try:
        params = load_mxnet_params(args.src)
    except MXNetParamsError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    try:
        with torch.device('meta'):  # shapes only, no memory
            model = builder(width_divisor=args.width_divisor)
    except ValueError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    try:
        result = convert_with_key_map(params, key_fn, expected=expected_shapes(model), source_name=args.src)
    except KeyMappingError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(result.summary(f'{args.src} -> {args.arch}'))
    problems = []
    if result.unused and not args.allow_unused:
        problems.append(f'{len(result.unused)} source tensors are unknown to the {args.arch} mapping '
                        '(--allow-unused to ignore)')
    if result.unexpected:
        problems.append(f'{len(result.unexpected)} source tensors map to keys the model does not have')
    if result.missing and not args.allow_missing:
        problems.append(f'{len(result.missing)} model tensors are not in the file (--allow-missing to ignore)')
    if not result.converted:
        problems.append('no tensor was converted')
    if problems:
        print(f'error: {args.src}: ' + '; '.join(problems) + f'; {args.dst} not written', file=sys.stderr)
        return 1
    with atomic_path(args.dst) as tmp:
        torch.save(result.state_dict, tmp)
    print(f'wrote {len(result.state_dict)} tensors to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
