"""Generate CAM files and pseudo-masks with a trained CAM model.

    python tools/gen_pseudo.py CONFIG CHECKPOINT --split train_aug --out-dir OUT \
        [--masks thr:0.2 crf:4 crf:32] [--scales 1.0 0.5 1.5 2.0] [--flip] [--workers 2] \
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm]

Writes ``OUT/cam/<id>.npy`` (mmwsss CAM format) and one folder of VOC-palette PNGs per mask spec
(``OUT/thr_0.20``, ``OUT/crf_a4``, ...; see mmwsss/apis/pseudo_labels.py). The data set comes from the
config's ``gen_pseudo_dataset`` (or its ``test_dataloader.dataset``) with the list file of ``--split``.
Sharded over ranks under ``torch.distributed`` (``tools/dist_gen_pseudo.sh``-style torchrun launch with
``--launcher pytorch``) and over ``--workers`` processes for the CRF; resumable: existing outputs are skipped
and every file is written under a temporary name, then renamed. Prints a summary and exits non-zero when
any image failed (after finishing the others).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

import mmwsss  # noqa: E402,F401
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dist import barrier, get_dist_info, init_dist  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import load_checkpoint  # noqa: E402
from mmseg.registry import DATASETS, MODELS  # noqa: E402

from mmwsss.apis.pseudo_labels import (MaskSpec, dataset_image_paths, generate_cams,  # noqa: E402
                                       generate_masks)


def parse_args():
    parser = argparse.ArgumentParser(description='Generate CAMs and pseudo-masks (mmwsss)')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--split', default=None,
                        help='list name under ImageSets/Segmentation (e.g. train_aug, train, val); '
                        'default: the config data set\'s own list')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--masks', nargs='*', default=['thr:0.2'],
                        help="mask specs: 'thr:T' (background threshold), 'crf:ALPHA[:PRESET]' (psa CRF)")
    parser.add_argument('--scales', type=float, nargs='+', default=None, help='CAM scales (psa: 1.0 0.5 1.5 2.0)')
    parser.add_argument('--flip', action=argparse.BooleanOptionalAction, default=None, help='add flipped inputs')
    parser.add_argument('--workers', type=int, default=1, help='processes for the mask stage')
    parser.add_argument('--cams-only', action='store_true', help='stop after the CAM files')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def split_dataset_cfg(cfg: Config, split):
    """The data set to label: ``gen_pseudo_dataset`` or ``test_dataloader.dataset``, list file of ``split``."""
    ds = cfg.get('gen_pseudo_dataset', None) or cfg.test_dataloader.dataset
    ds = ds.copy()
    if split is not None:
        ds['ann_file'] = f'ImageSets/Segmentation/{split}.txt'
    return ds


def main():
    args = parse_args()
    for path, what in ((args.config, 'config file'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            sys.exit(f'error: {what} not found: {path}')
    try:
        specs = [MaskSpec.parse(m) for m in args.masks]
    except ValueError as e:
        sys.exit(f'error: {e}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    if args.launcher != 'none':
        if torch.cuda.is_available():
            init_dist(args.launcher)
        else:
            torch.distributed.init_process_group('gloo')
    rank, world_size = get_dist_info()

    dataset = DATASETS.build(split_dataset_cfg(cfg, args.split))
    if len(dataset) == 0:
        sys.exit(f'error: the {args.split or "configured"} split is empty')
    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    if torch.cuda.is_available():
        model = model.cuda()
    if args.scales is not None:
        model.test_cfg['scales'] = tuple(args.scales)
    if args.flip is not None:
        model.test_cfg['flip'] = args.flip

    cam_dir = osp.join(args.out_dir, 'cam')
    summaries = [generate_cams(model, dataset, cam_dir, rank, world_size, progress=rank == 0)]
    barrier()
    if not args.cams_only:
        masks = generate_masks(dataset_image_paths(dataset), cam_dir, args.out_dir, specs,
                               num_classes=len(dataset.metainfo['classes']), workers=args.workers,
                               rank=rank, world_size=world_size, progress=rank == 0)
        summaries += list(masks.values())
        barrier()
    failed = 0
    for s in summaries:
        print(f'[rank {rank}/{world_size}] ' + s.format(), flush=True)
        failed += len(s.failed)
    if failed:
        print(f'[rank {rank}] {failed} failures; outputs for the other images are complete', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
