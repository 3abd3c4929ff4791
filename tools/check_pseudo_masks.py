"""Check a folder of pseudo masks against the training list of a final-stage config, before training.

    python tools/check_pseudo_masks.py CONFIG [--pseudo-dir DIR] [--nproc 4] [--cfg-options k=v ...]

The data set is the config's ``train_dataloader.dataset`` (a ``PseudoMaskDataset``); ``--pseudo-dir`` replaces
its ``pseudo_dir`` (absolute, or relative to ``data_root``). Every id of the list must have
``<pseudo_dir>/<id>.png``: a single-channel 8-bit PNG of the size of its image with values in 0..C-1 or 255.
Prints one line per bad file (missing, undecodable, wrong mode, wrong size, values out of range) and exits with
status 1 if there is any, 0 otherwise -- the same check ``PseudoMaskDataset(check_masks=True)`` runs before
training starts.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Check pseudo masks before the final-stage training (mmwsss)')
    parser.add_argument('config', help='final-stage config (its train_dataloader.dataset is a PseudoMaskDataset)')
    parser.add_argument('--pseudo-dir', help='pseudo-mask folder (default: the config\'s pseudo_dir)')
    parser.add_argument('--nproc', type=int, default=4, help='threads for the scan')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    import mmwsss  # noqa: F401
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    from mmwsss.datasets import PseudoMaskDataset

    if not osp.isfile(args.config):
        print(f'error: config file not found: {args.config}', file=sys.stderr)
        return 2
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    ds_cfg = cfg.train_dataloader.dataset.copy()
    if DATASETS.get(ds_cfg.get('type')) is not PseudoMaskDataset:
        print(f"error: {args.config}: train_dataloader.dataset.type is {ds_cfg.get('type')!r}, not "
              'PseudoMaskDataset', file=sys.stderr)
        return 2
    if args.pseudo_dir:
        ds_cfg['pseudo_dir'] = args.pseudo_dir
    ds_cfg.update(check_masks=False, check_nproc=args.nproc, pipeline=[], serialize_data=False)
    try:
        dataset = DATASETS.build(ds_cfg)
    except (FileNotFoundError, ValueError) as e:  # missing list / image folder
        print(f'error: {e}', file=sys.stderr)
        return 1
    mask_dir = dataset.data_prefix['seg_map_path']
    try:
        dataset.check_mask_files(dataset.data_list)
    except ValueError as e:
        print(str(e))
        return 1
    print(f'{len(dataset)} pseudo masks in {mask_dir}: all present, single-channel, of their image size, '
          f'values in 0..{len(dataset.metainfo["classes"]) - 1} and {dataset.ignore_index}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
