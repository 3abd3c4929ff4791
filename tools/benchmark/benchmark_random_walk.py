"""Speed and agreement of mmwsss's random walk against a straightforward dense implementation of psa's.

    python tools/benchmark/benchmark_random_walk.py [--size 448] [--classes 20] [--radius 5] [--beta 8] \
        [--logt 8] [--alpha 16] [--repeats 3] [--device cpu|cuda] [--seed 0]

Both sides get the same synthetic input: a ``size x size`` image (a 448 crop gives a 56 x 56 grid), affinity
features that are piecewise constant over ``classes`` random regions plus noise (affinities from them with
:func:`mmwsss.refinement.random_walk.pair_affinities`, i.e. what AffinityNet computes), and ``classes`` smooth,
max-normalised CAMs, one per region class. Each side goes from the affinities and CAMs to the label map:

* psa (``infer_aff.py``, written out here): dense ``N x N`` matrix (diagonal 1, symmetric pairs), ``** beta``,
  column normalisation, ``logt`` squarings, ``V @ T`` for 21 channels (background ``(1 - max) ** alpha`` +
  20 classes), bilinear upsampling, arg-max;
* mmwsss: :func:`~mmwsss.refinement.random_walk.random_walk_label_map` with ``RandomWalk(method='stencil')``.

Prints the median time of ``--repeats`` runs of each, the speed-up (psa / mmwsss), the fraction of pixels
with the same label and the largest difference of the walked scores. The dense reference uses torch's
thread setting; mmwsss's stencil runs with one intra-op thread on CPU (its default, see ``RandomWalk``).
"""
import argparse
import os.path as osp
import statistics
import sys
import time
import warnings

import torch
import torch.nn.functional as F

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmwsss.refinement.random_walk import (
    RandomWalk,
    pair_affinities,
    pair_indices,  # noqa: E402
    random_walk_label_map,
    radius_offsets,
    rw_scores_from_cams)


def parse_args():
    parser = argparse.ArgumentParser(description='Benchmark the random walk (mmwsss vs dense psa)')
    parser.add_argument('--size', type=int, default=448, help='image side (grid = size / 8)')
    parser.add_argument('--classes', type=int, default=20, help='present classes (CAM channels)')
    parser.add_argument('--radius', type=int, default=5)
    parser.add_argument('--beta', type=float, default=8)
    parser.add_argument('--logt', type=int, default=8)
    parser.add_argument('--alpha', type=float, default=16)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def synthetic_inputs(size: int, classes: int, radius: int, seed: int, device: str):
    """(affinities (K, P), CAMs (classes, size, size), class ids) with region structure."""
    g = torch.Generator().manual_seed(seed)
    grid = size // 8
    # random regions: nearest of `classes` seeds on the grid (Voronoi cells)
    seeds = torch.rand(classes, 2, generator=g) * grid
    yy, xx = torch.meshgrid(torch.arange(grid) + 0.5, torch.arange(grid) + 0.5, indexing='ij')
    dist = (yy[None] - seeds[:, 0, None, None])**2 + (xx[None] - seeds[:, 1, None, None])**2
    region = dist.argmin(0)
    codes = torch.randn(classes, 64, generator=g)
    feats = codes[region].permute(2, 0, 1) + 0.3 * torch.randn(64, grid, grid, generator=g)
    aff = pair_affinities(feats[None], radius)[0]
    # CAMs: each class peaks on its region, blurred and upsampled, plus noise, max-normalised
    onehot = F.one_hot(region, classes).permute(2, 0, 1).float()[None]
    blur = F.avg_pool2d(F.pad(onehot, (3, 3, 3, 3), mode='replicate'), 7, 1)
    cams = F.interpolate(blur, size=(size, size), mode='bilinear', align_corners=False)[0]
    cams = (cams * torch.rand(classes, 1, 1, generator=g) + 0.05 * torch.rand(cams.shape, generator=g)).clamp(min=0)
    cams = cams / cams.flatten(1).max(1).values[:, None, None]
    return aff.to(device), cams.to(device), torch.arange(1, classes + 1)


def psa_dense_labels(aff, cams, class_ids, size, radius, beta, logt, alpha, num_labels=21):
    """psa infer_aff.py, written out: dense matrix, squarings, 21 channels (absent classes zero)."""
    h = w = size // 8
    n = h * w
    src, dst = pair_indices((h, w), radius)
    k = len(radius_offsets(radius))
    src = src.repeat(k).to(aff.device)
    dst = dst.to(aff.device)
    idx = torch.arange(n, device=aff.device)
    rows = torch.cat([src, dst, idx])
    cols = torch.cat([dst, src, idx])
    vals = torch.cat([aff.flatten(), aff.flatten(), torch.ones(n, device=aff.device)])
    with warnings.catch_warnings():  # torch's note that sparse invariant checks are off
        warnings.simplefilter('ignore')
        a = torch.sparse_coo_tensor(torch.stack([rows, cols]), vals, (n, n)).to_dense()
    a = a.pow(beta)
    trans = a / a.sum(dim=0, keepdim=True)
    for _ in range(logt):
        trans = trans @ trans
    full = torch.zeros(num_labels, size, size, device=cams.device)
    full[class_ids.to(cams.device)] = cams
    full[0] = (1 - full[1:].max(0).values)**alpha
    vec = F.avg_pool2d(full[None], 8, 8).view(num_labels, -1)
    walked = (vec @ trans).view(1, num_labels, h, w)
    up = F.interpolate(walked, size=(size, size), mode='bilinear', align_corners=False)[0]
    return up.argmax(0), walked[0]


def timed(fn, repeats: int, device: str):
    times, out = [], None
    for _ in range(repeats):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main():
    args = parse_args()
    if args.classes > 20:
        sys.exit('error: psa walks 21 channels (20 classes + background); use --classes <= 20')
    aff, cams, ids = synthetic_inputs(args.size, args.classes, args.radius, args.seed, args.device)
    walk = RandomWalk(beta=args.beta, logt=args.logt, radius=args.radius, method='stencil')
    grid = args.size // 8
    print(f'random walk: {args.size}x{args.size} image, {grid}x{grid} grid, radius {args.radius}, beta {args.beta}, '
          f'logt {args.logt} (t = {2**args.logt}), {args.classes} classes + background, device {args.device}, '
          f'torch threads {torch.get_num_threads()}')

    with torch.no_grad():
        t_psa, (lab_psa, walked_psa) = timed(
            lambda: psa_dense_labels(aff, cams, ids, args.size, args.radius, args.beta, args.logt, args.alpha),
            args.repeats, args.device)
        t_mm, lab_mm = timed(lambda: random_walk_label_map(aff, cams, ids, (args.size, args.size), args.alpha, walk),
                             args.repeats, args.device)
        walked_mm = walk(aff, rw_scores_from_cams(cams, args.alpha))
    agree = (lab_mm == lab_psa).float().mean().item()
    diff = (walked_mm - walked_psa[torch.cat([torch.zeros(1, dtype=torch.long), ids]).to(walked_psa.device)]).abs()
    print(f'psa dense   : {t_psa:8.3f} s  (median of {args.repeats})')
    print(f'mmwsss      : {t_mm:8.3f} s  (median of {args.repeats})')
    print(f'speed-up    : {t_psa / t_mm:8.1f}x')
    print(f'label agreement: {100 * agree:.4f} % of {lab_mm.numel()} pixels; '
          f'max |walked score difference| {diff.max().item():.2e}')


if __name__ == '__main__':
    main()
