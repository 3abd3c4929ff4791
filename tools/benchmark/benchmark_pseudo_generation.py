"""Pseudo-mask generation with dense CRF: throughput with 1 and 2 worker processes, and peak memory.

    python tools/benchmark/benchmark_pseudo_generation.py [--images 40] [--size 320]

Synthetic CAM files and images (psa-sized by default: 320x240 would be ~1/3 of VOC's pixels) are written to a
temporary folder; masks are generated with psa's CRF (alpha 4) through :func:`mmwsss.apis.pseudo_labels.generate_masks`
with ``workers`` = 1 and 2. Peak memory is the maximum resident set size of the main process and of any worker
(``resource.getrusage``); it is measured for N and 2N images to show that it does not grow with the number of
images (every image is loaded, labelled, written and dropped by its worker).
"""
import argparse
import os.path as osp
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))


def make_inputs(root: str, n: int, size: int):
    from mmwsss.utils.cam_io import save_cams
    rng = np.random.default_rng(0)
    h, w = size * 3 // 4, size
    paths = {}
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        name = f'img_{i:05d}'
        img = rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8)
        p = osp.join(root, name + '.jpg')
        Image.fromarray(img).save(p)
        paths[name] = p
        cams = np.stack([np.exp(-((yy - rng.uniform(0, h))**2 + (xx - rng.uniform(0, w))**2) / (2 * (w / 6)**2))
                         for _ in range(2)])
        save_cams(osp.join(root, 'cam', name + '.npy'), cams.astype(np.float32), [3, 12])
    return paths


def child(args):
    """One measured generation run in a fresh process (clean peak-memory counters)."""
    from mmwsss.apis.pseudo_labels import MaskSpec, generate_masks
    names = sorted(osp.splitext(f)[0] for f in __import__('os').listdir(osp.join(args.root, 'cam')))[:args.images]
    paths = {n: osp.join(args.root, n + '.jpg') for n in names}
    t0 = time.perf_counter()
    summary = generate_masks(paths, osp.join(args.root, 'cam'), osp.join(args.root, f'out_{args.workers}_{args.images}'),
                             [MaskSpec('crf', 4)], num_classes=21, workers=args.workers, progress=False)
    dt = time.perf_counter() - t0
    s = summary['crf_a4']
    assert not s.failed, s.format()
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f'{args.images / dt:.3f} {max(peak_self, peak_children):.1f}')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--images', type=int, default=40)
    parser.add_argument('--size', type=int, default=320)
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--root', help=argparse.SUPPRESS)
    parser.add_argument('--workers', type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    with tempfile.TemporaryDirectory() as root:
        make_inputs(root, 2 * args.images, args.size)
        rows = []
        for workers, n in ((1, args.images), (2, args.images), (2, 2 * args.images)):
            out = subprocess.run([sys.executable, __file__, '--child', '--root', root, '--workers', str(workers),
                                  '--images', str(n)], check=True, capture_output=True, text=True).stdout.split()
            rows.append((workers, n, float(out[-2]), float(out[-1])))
    base = rows[0][2]
    print(f'dense CRF (psa preset, alpha 4, 3 labels) on {args.size * 3 // 4}x{args.size} images')
    print(f'{"workers":>8}{"images":>8}{"images/s":>10}{"speed-up":>10}{"peak RSS MiB":>14}')
    for workers, n, ips, rss in rows:
        print(f'{workers:>8}{n:>8}{ips:>10.2f}{ips / base:>10.2f}{rss:>14.1f}')


if __name__ == '__main__':
    main()
