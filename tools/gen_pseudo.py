"""Generate CAM files and pseudo-masks with a trained CAM model, and run the AffinityNet stage.

    # CAMs + masks (default --mode cam)
    python tools/gen_pseudo.py CONFIG CHECKPOINT --split train_aug --out-dir OUT \
        [--masks thr:0.2 crf:4 crf:32] [--scales 1.0 0.5 1.5 2.0] [--flip] [--workers 2] \
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm]
    # la/ha CRF marginals from OUT/cam for AffinityNet training (psa infer_cls.py --out_la_crf/--out_ha_crf)
    python tools/gen_pseudo.py CONFIG --mode lacrf --split train_aug --out-dir OUT [--la-ha psa | --alphas 4 32]
    # random-walk pseudo-masks from OUT/cam with a trained AffinityNet (psa infer_aff.py)
    python tools/gen_pseudo.py AFF_CONFIG AFF_CHECKPOINT --mode rw --split train_aug --out-dir OUT \
        [--cam-dir OUT/cam] [--rw-preset psa | --rw-alpha 16 --beta 8 --logt 8]

``--mode cam`` writes ``OUT/cam/<id>.npy`` (mmwsss CAM format) and one folder of VOC-palette PNGs per mask
spec (``OUT/thr_0.20``, ``OUT/crf_a4``, ...; see mmwsss/apis/pseudo_labels.py). ``--mode lacrf`` writes
``OUT/crf_marginals_a<alpha>/<id>.npy`` (CRF marginals, mmwsss/datasets/affinity_dataset.py) -- the
``la_crf_dir``/``ha_crf_dir`` of the AffinityNet config. ``--mode rw`` writes
``OUT/rw_a<alpha>_b<beta>_logt<logt>/<id>.png`` (mmwsss/apis/random_walk_labels.py). The data set comes from
the config's ``gen_pseudo_dataset`` (or its ``test_dataloader.dataset``) with the list file of ``--split``.
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
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dist import barrier, get_dist_info, init_dist  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import load_checkpoint  # noqa: E402
from mmseg.registry import DATASETS, MODELS  # noqa: E402

from mmwsss.apis.pseudo_labels import (MaskSpec, dataset_image_paths, generate_cams,  # noqa: E402
                                       generate_masks)
from mmwsss.apis.random_walk_labels import (generate_la_ha_crf, generate_random_walk,  # noqa: E402
                                            load_affinity_checkpoint, rw_dirname)
from mmwsss.refinement.dense_crf import LA_HA_ALPHAS  # noqa: E402
from mmwsss.refinement.random_walk import RandomWalk, rw_preset  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Generate CAMs and pseudo-masks (mmwsss)')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='CAM model (--mode cam) or AffinityNet (--mode rw) checkpoint; not used by lacrf')
    parser.add_argument('--mode', choices=['cam', 'lacrf', 'rw'], default='cam',
                        help='cam: CAMs + masks; lacrf: la/ha CRF marginals from the CAMs; rw: random walk')
    parser.add_argument('--split', default=None,
                        help='list name under ImageSets/Segmentation (e.g. train_aug, train, val); '
                        'default: the config data set\'s own list')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--masks', nargs='*', default=['thr:0.2'],
                        help="mask specs: 'thr:T' (background threshold), 'crf:ALPHA[:PRESET]' (psa CRF), "
                        "'lcrf:T[:PRESET]' (threshold T, then a label-unary CRF over all classes; RTC: lcrf:0.17)")
    parser.add_argument('--scales', type=float, nargs='+', default=None, help='CAM scales (psa: 1.0 0.5 1.5 2.0)')
    parser.add_argument('--flip', action=argparse.BooleanOptionalAction, default=None, help='add flipped inputs')
    parser.add_argument('--workers', type=int, default=1, help='processes for the mask stage')
    parser.add_argument('--cams-only', action='store_true', help='stop after the CAM files')
    parser.add_argument('--cam-dir', default=None, help='CAM files read by --mode lacrf/rw (default OUT/cam)')
    parser.add_argument('--la-ha', default='psa', choices=sorted(LA_HA_ALPHAS),
                        help='--mode lacrf: the (la, ha) alphas of a method (psa 4/32, sbnet 4/24, icam 2/4)')
    parser.add_argument('--alphas', type=float, nargs='+', default=None,
                        help='--mode lacrf: CRF background powers, overriding --la-ha')
    parser.add_argument('--crf-preset', default='psa', help='--mode lacrf: DenseCRF preset')
    parser.add_argument('--crf-dtype', choices=['float16', 'float32'], default='float16',
                        help='--mode lacrf: storage type of the marginals')
    parser.add_argument('--rw-preset', default=None,
                        help='--mode rw: alpha/beta/logt of a method (psa 16/8/8; sbnet, icam 6/8/6); '
                        'default: the config\'s model.test_cfg')
    parser.add_argument('--rw-alpha', type=float, default=None, help='--mode rw: background power')
    parser.add_argument('--beta', type=float, default=None, help='--mode rw: affinity power')
    parser.add_argument('--logt', type=int, default=None, help='--mode rw: number of squarings (t = 2**logt)')
    parser.add_argument('--rw-method', choices=list(RandomWalk.METHODS), default=None,
                        help="--mode rw: 'stencil' (fast) or 'dense' (psa's matrix)")
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


def check_inputs(args) -> None:
    if not osp.isfile(args.config):
        sys.exit(f'error: config file not found: {args.config}')
    if args.mode in ('cam', 'rw'):
        if args.checkpoint is None:
            sys.exit(f'error: --mode {args.mode} needs a checkpoint')
        if not osp.isfile(args.checkpoint):
            sys.exit(f'error: checkpoint not found: {args.checkpoint}')
    elif args.checkpoint is not None:
        sys.exit('error: --mode lacrf takes no checkpoint (it reads the CAM files)')
    if args.mode != 'cam':
        cam_dir = args.cam_dir or osp.join(args.out_dir, 'cam')
        if not osp.isdir(cam_dir):
            sys.exit(f'error: CAM directory not found: {cam_dir} (run --mode cam first or pass --cam-dir)')


def rw_test_cfg(args, test_cfg: dict) -> dict:
    """The model's random-walk settings with the preset / command-line overrides applied."""
    cfg = dict(test_cfg)
    if args.rw_preset is not None:
        preset = rw_preset(args.rw_preset)
        preset.pop('radius', None)  # a property of the trained network (decode_head.radius)
        cfg.update(preset)
    for key, val in (('alpha', args.rw_alpha), ('beta', args.beta), ('logt', args.logt), ('method', args.rw_method)):
        if val is not None:
            cfg[key] = val
    return cfg


def main():
    args = parse_args()
    check_inputs(args)
    try:
        specs = [MaskSpec.parse(m) for m in args.masks]
        if args.rw_preset is not None:
            rw_preset(args.rw_preset)
    except (ValueError, KeyError) as e:
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
    num_classes = len(dataset.metainfo['classes'])
    cam_dir = args.cam_dir or osp.join(args.out_dir, 'cam')
    if args.mode == 'lacrf':
        alphas = args.alphas if args.alphas else LA_HA_ALPHAS[args.la_ha]
        summaries = [generate_la_ha_crf(dataset_image_paths(dataset), cam_dir, args.out_dir, alphas,
                                        preset=args.crf_preset, num_classes=num_classes,
                                        dtype=np.dtype(args.crf_dtype), workers=args.workers, rank=rank,
                                        world_size=world_size, progress=rank == 0)]
        barrier()
        return report(summaries, rank, world_size)

    model = MODELS.build(cfg.model)
    if args.mode == 'rw':
        if not hasattr(model, 'random_walk'):
            sys.exit(f'error: --mode rw needs an AffinityNet config; {args.config} builds a {type(model).__name__}')
        try:
            load_affinity_checkpoint(model, args.checkpoint)
        except (ValueError, FileNotFoundError) as e:
            sys.exit(f'error: {e}')
        model.test_cfg = rw_test_cfg(args, model.test_cfg)
    else:
        load_checkpoint(model, args.checkpoint, map_location='cpu', strict=True)
    if torch.cuda.is_available():
        model = model.cuda()
    if args.mode == 'rw':
        tc = model.test_cfg
        out_dir = osp.join(args.out_dir, rw_dirname(tc['alpha'], tc['beta'], tc['logt']))
        summaries = [generate_random_walk(model, dataset, cam_dir, out_dir, rank, world_size, progress=rank == 0)]
        barrier()
        return report(summaries, rank, world_size)

    if args.scales is not None:
        model.test_cfg['scales'] = tuple(args.scales)
    if args.flip is not None:
        model.test_cfg['flip'] = args.flip

    summaries = [generate_cams(model, dataset, cam_dir, rank, world_size, progress=rank == 0)]
    barrier()
    if not args.cams_only:
        masks = generate_masks(dataset_image_paths(dataset), cam_dir, args.out_dir, specs,
                               num_classes=num_classes, workers=args.workers,
                               rank=rank, world_size=world_size, progress=rank == 0)
        summaries += list(masks.values())
        barrier()
    report(summaries, rank, world_size)


def report(summaries, rank: int, world_size: int) -> None:
    """Print the summaries; exit 1 if any image failed."""
    failed = 0
    for s in summaries:
        print(f'[rank {rank}/{world_size}] ' + s.format(), flush=True)
        failed += len(s.failed)
    if failed:
        print(f'[rank {rank}] {failed} failures; outputs for the other images are complete', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
