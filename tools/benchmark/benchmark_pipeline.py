"""Throughput (images/s) of the psa-style WSSS training pipeline with 0, 1 and 2 dataloader workers.

    python tools/benchmark/benchmark_pipeline.py [--config configs/_base_/datasets/toy_wsss.py]
        [--data-root data/toy_voc] [--workers 0 1 2] [--batch-size 8] [--num-batches 30]
        [--generate --toy-size 96] [--resize-diff]

The pipeline is the config's ``train_pipeline`` (LoadWSSSImageFromFile -> RandomResizeLong (PIL bicubic) ->
WSSSRandomFlip -> PhotoMetricJitter -> RandomCropPad -> PackWSSSInputs), built through
``Runner.build_dataloader`` as in training. If the data root does not exist, a toy data set (240 images,
``--toy-size`` px, seed 0) is generated into a temporary folder and removed afterwards (``--generate``
forces that, e.g. ``--generate --toy-size 500`` for VOC-sized images). The first batch of every run
(worker start-up) is not timed. ``--resize-diff`` also prints the PIL-vs-cv2 bicubic difference table
quoted in ``RandomResizeLong``'s docstring.
"""
import argparse
import os.path as osp
import shutil
import sys
import tempfile
import time

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args():
    parser = argparse.ArgumentParser(description='Benchmark the WSSS training data pipeline')
    parser.add_argument('--config', default=osp.join(ROOT, 'configs', '_base_', 'datasets', 'toy_wsss.py'))
    parser.add_argument('--data-root', default=None, help='defaults to the config\'s data_root')
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--num-batches', type=int, default=30, help='timed batches per setting')
    parser.add_argument('--toy-size', type=int, default=96, help='image size of a generated toy data set')
    parser.add_argument('--generate', action='store_true',
                        help='always benchmark on a freshly generated toy data set (--toy-size)')
    parser.add_argument('--resize-diff', action='store_true', help='print PIL vs cv2 bicubic differences')
    return parser.parse_args()


def time_loader(dl_cfg, num_batches: int):
    """(images, seconds) over ``num_batches`` batches after one untimed warm-up batch."""
    from mmengine.runner import Runner
    loader = Runner.build_dataloader(dl_cfg, seed=0)
    it = iter(loader)
    next(it)
    images, t0 = 0, time.perf_counter()
    for _ in range(num_batches):
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        images += len(batch['inputs'])
    return images, time.perf_counter() - t0


def resize_diff_table() -> None:
    """max / mean |PIL bicubic - cv2 bicubic| on the 40 images of make_toy_voc(size=64, seed=0) for three
    long-side ranges (the table of RandomResizeLong's docstring)."""
    import glob

    import cv2
    import numpy as np
    from PIL import Image

    from mmwsss.datasets.transforms.random_resize_long import long_side_size
    from tools.dataset_converters.make_toy_voc import make_toy_voc
    tmp = tempfile.mkdtemp(prefix='mmwsss_resize_')
    make_toy_voc(tmp, num_images=40, size=64, seed=0)
    files = sorted(glob.glob(osp.join(tmp, 'JPEGImages', '*.jpg')))
    print(f'\nPIL vs cv2 bicubic on {len(files)} toy images (64 px, uint8 RGB):')
    print(f"{'target long side':<20}{'max':>6}{'mean':>8}")
    for name, longs in (('96..128', range(96, 129, 16)), ('40..80', range(40, 81, 4)), ('32..48', range(32, 49, 8))):
        mx, tot, n = 0, 0.0, 0
        for f in files:
            rgb = np.asarray(Image.open(f).convert('RGB'))
            for long_side in longs:
                h, w = long_side_size(rgb.shape[0], rgb.shape[1], long_side)
                a = np.asarray(Image.fromarray(rgb).resize((w, h), Image.BICUBIC)).astype(np.int32)
                b = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.int32)
                d = np.abs(a - b)
                mx, tot, n = max(mx, int(d.max())), tot + float(d.sum()), n + d.size
        print(f'{name:<20}{mx:>6}{tot / n:>8.2f}')
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    args = parse_args()
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmwsss.datasets  # noqa: F401  (registers the WSSS datasets and transforms)
    init_default_scope('mmseg')
    cfg = Config.fromfile(args.config)
    data_root = args.data_root or cfg.train_dataloader.dataset.data_root
    if not osp.isabs(data_root) and not osp.isdir(data_root):
        data_root = osp.join(ROOT, data_root)
    tmp = None
    if args.generate or not osp.isdir(data_root):
        from tools.dataset_converters.make_toy_voc import make_toy_voc
        tmp = tempfile.mkdtemp(prefix='mmwsss_bench_')
        data_root = osp.join(tmp, 'toy_voc')
        print(f'generating a toy data set ({args.toy_size} px) in {data_root}')
        make_toy_voc(data_root, num_images=240, size=args.toy_size, seed=0)
    try:
        rows = []
        for workers in args.workers:
            dl_cfg = cfg.train_dataloader.copy()
            dl_cfg.dataset = dict(dl_cfg.dataset, data_root=data_root)
            if tmp is not None:  # generated toy data: the config's pipeline on the toy data set class
                dl_cfg.dataset['type'] = 'ToyWSSSDataset'
            # persistent workers: epoch restarts do not re-spawn them (the first batch is untimed)
            dl_cfg.update(num_workers=workers, persistent_workers=workers > 0, batch_size=args.batch_size)
            images, seconds = time_loader(dl_cfg, args.num_batches)
            rows.append((workers, images, seconds))
        print(f'\npipeline: {" -> ".join(t["type"] for t in cfg.train_pipeline)}')
        print(f'data: {data_root}, batch size {args.batch_size}, {args.num_batches} timed batches\n')
        print(f"{'workers':>8}{'images':>8}{'seconds':>10}{'images/s':>10}")
        for workers, images, seconds in rows:
            print(f'{workers:>8}{images:>8}{seconds:>10.2f}{images / seconds:>10.1f}')
        if args.resize_diff:
            resize_diff_table()
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
