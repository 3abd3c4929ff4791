"""Convert an original method's released PyTorch checkpoint into mmwsss model keys.

    python tools/model_converters/original2mmwsss.py res38_cls.pth work_dirs/psa_cls.pth --model psa-res38-cls
    python tools/model_converters/original2mmwsss.py res38_aff.pth work_dirs/psa_aff.pth --model psa-res38-aff
    python tools/model_converters/original2mmwsss.py --list

Mappings live in ``mmwsss/converters/original.py`` (a registry; each method adds its entry). Backbone
tensors become ``backbone.<key>``, head tensors the names documented there (e.g. psa ``fc8.weight`` ->
``decode_head.conv_cam.weight``). Strict: every source tensor must be converted or explicitly dropped by
the mapping, and (with shape checks on) every expected model tensor filled; otherwise nothing is written
and the exit status is 1. The output is a plain state dict of tensors for ``load_from=`` / ``load_checkpoint``.
"""
import argparse
import sys
from collections import OrderedDict
from typing import List, Mapping, Optional

import torch


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Convert an original method's checkpoint to mmwsss keys")
    parser.add_argument('src', nargs='?', help='original checkpoint (.pth)')
    parser.add_argument('dst', nargs='?', help='output .pth (written atomically)')
    parser.add_argument('--model', help='registered mapping name (see --list)')
    parser.add_argument('--list', action='store_true', help='list the registered mappings and exit')
    parser.add_argument(
        '--width-divisor',
        type=int,
        default=1,
        help='check backbone shapes at this width_divisor (tests); head shapes are only checked at 1')
    parser.add_argument('--no-shape-check', action='store_true', help='map keys without checking shapes')
    return parser.parse_args(argv)


def extract_state_dict(ckpt: object, path: str) -> Mapping[str, torch.Tensor]:
    """The tensor dict inside a loaded checkpoint (bare, or under 'state_dict' / 'model')."""
    if isinstance(ckpt, Mapping):
        for key in ('state_dict', 'model'):
            inner = ckpt.get(key)
            if isinstance(inner, Mapping):
                ckpt = inner
                break
    if not isinstance(ckpt, Mapping) or not ckpt:
        raise ValueError(f'{path}: not a state dict (got {type(ckpt).__name__})')
    bad = [k for k, v in ckpt.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ValueError(f'{path}: entries that are not tensors: {bad[:5]}')
    return OrderedDict(ckpt)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from mmwsss.converters import KeyMappingError, convert_original_state_dict, list_original_mappings
    from mmwsss.converters.original import get_original_mapping
    from mmwsss.utils.io import atomic_path

    if args.list:
        for name in list_original_mappings():
            print(f'{name}: {get_original_mapping(name).description}')
        return 0
    if not (args.src and args.dst and args.model):
        print('error: SRC, DST and --model are required (or --list)', file=sys.stderr)
        return 2
    if args.model not in list_original_mappings():
        print(f'error: unknown --model {args.model!r}; registered: {", ".join(list_original_mappings())}',
              file=sys.stderr)
        return 2
    try:
        ckpt = torch.load(args.src, map_location='cpu', weights_only=True)
        state_dict = extract_state_dict(ckpt, args.src)
    except Exception as e:  # unreadable file, pickle refused by weights_only, not a state dict
        print(f'error: cannot read {args.src}: {e}', file=sys.stderr)
        return 1
    try:
        result = convert_original_state_dict(
            state_dict,
            args.model,
            width_divisor=args.width_divisor,
            check_shapes=not args.no_shape_check,
            source_name=args.src)
    except (KeyMappingError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(result.summary(f'{args.src} -> {args.model}'))
    if not result.complete or not result.converted:
        print(f'error: {args.src}: incomplete conversion with --model {args.model} (see above); '
              f'{args.dst} not written', file=sys.stderr)
        return 1
    with atomic_path(args.dst) as tmp:
        torch.save(result.state_dict, tmp)
    print(f'wrote {len(result.state_dict)} tensors to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
