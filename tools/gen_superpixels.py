"""ICD superpixels for a list of images (icd.md §5.3): Felzenszwalb segments and the greedy merge to <= 64.

    python tools/gen_superpixels.py --img-dir data/VOCdevkit/VOC2012/JPEGImages \
        --list data/VOCdevkit/VOC2012/ImageSets/Segmentation/train_aug.txt --out-dir data/superpixels \
        [--vgg-checkpoint pretrain/vgg16_20M.pth]

Writes ``OUT/raw/<id>.png`` (A1: sigma 0.8, k 75, min_size 75) and, with ``--vgg-checkpoint`` (a plain
VGG16DeepLab state dict, e.g. from ``tools/model_converters/mxnet2mmwsss.py vgg16_20M.params ... --arch vgg16``),
``OUT/merged/<id>.png`` (A2). Resumable (existing outputs are skipped, every file is written under a temporary
name and renamed), sharded by ``RANK``/``WORLD_SIZE`` when launched with torchrun; failures are listed at the end
and the exit code is 1.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import torch  # noqa: E402

import mmwsss  # noqa: E402,F401
from mmwsss.apis.superpixel_generation import generate_superpixels  # noqa: E402
from mmwsss.datasets.wsss_base import read_id_list  # noqa: E402
from mmwsss.models.backbones import VGG16DeepLab  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--img-dir', required=True, help='folder of the images')
    p.add_argument('--list', required=True, help='image id list (bare ids or psa-style lines)')
    p.add_argument('--out-dir', required=True)
    p.add_argument('--img-suffix', default='.jpg')
    p.add_argument('--vgg-checkpoint', default=None, help='VGG16DeepLab state dict: enables the merge (A2)')
    p.add_argument('--k', type=float, default=75, help='Felzenszwalb threshold constant (ICD: 75)')
    p.add_argument('--sigma', type=float, default=0.8, help='Gaussian pre-smoothing (ICD: 0.8)')
    p.add_argument('--min-size', type=int, default=75, help='smallest segment in pixels (ICD: 75)')
    p.add_argument('--max-regions', type=int, default=64, help='regions after the merge (ICD: 64)')
    p.add_argument('--pad-size', type=int, default=513, help='feature input size (ICD: 513, padded with 127)')
    p.add_argument('--mean', type=float, default=0.0,
                   help='subtracted from the image before VGG16. ICD\'s generate_superpixel.py subtracts nothing '
                   '(default 0, faithful) although its network was trained with -127; 127 is the corrected value')
    p.add_argument('--width-divisor', type=int, default=1, help='VGG16 width divisor (1 = the real network)')
    return p.parse_args(argv)


def load_vgg(path: str, width_divisor: int) -> VGG16DeepLab:
    if not osp.isfile(path):
        sys.exit(f'error: VGG16 checkpoint not found: {path}')
    net = VGG16DeepLab(out_features=('conv5_3', ), with_fc=False, width_divisor=width_divisor)
    state = torch.load(path, map_location='cpu', weights_only=True)
    state = state.get('state_dict', state)
    state = {k[len('backbone.'):] if k.startswith('backbone.') else k: v for k, v in state.items()}
    state = {k: v for k, v in state.items() if not k.startswith(('fc6.', 'fc7.'))}
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        sys.exit(f'error: {path} is not a VGG16DeepLab (conv1_1..conv5_3) state dict: {e}')
    return net.eval()


def main(argv=None):
    args = parse_args(argv)
    try:
        names = read_id_list(args.list)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f'error: {e}')
    if not osp.isdir(args.img_dir):
        sys.exit(f'error: image folder not found: {args.img_dir}')
    paths = {n: osp.join(args.img_dir, n + args.img_suffix) for n in names}
    backbone = load_vgg(args.vgg_checkpoint, args.width_divisor) if args.vgg_checkpoint else None
    rank, world = int(os.environ.get('RANK', 0)), int(os.environ.get('WORLD_SIZE', 1))
    summary = generate_superpixels(paths, args.out_dir, backbone, k=args.k, sigma=args.sigma,
                                   min_size=args.min_size, max_regions=args.max_regions, pad_size=args.pad_size,
                                   mean=args.mean, rank=rank, world_size=world, progress=rank == 0)
    print(f'[rank {rank}/{world}] ' + summary.format(), flush=True)
    if summary.failed:
        print(f'{len(summary.failed)} failures; outputs for the other images are complete', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
