"""Per-iteration time of RTC training on CPU at a small crop, and the share spent in each part.

    python tools/benchmark/benchmark_rtc.py [--crop 112] [--batch 2] [--width-divisor 1] [--iters 3]
                                            [--threads N] [--no-micro]

The model is the VOC recipe (configs/_base_/models/rtc_res38.py, random weights) with view 2 scaled like
RTC's 128/448 and the segmentation loss switched on (the most expensive phase). Parts (forward, wall clock,
non-overlapping):

    backbone       ResNet-38 on both views (RTC.extract_feat)
    pcm            the FCM: seed + two-feature PCM (RTCCAMHead.refine), both views
    seg_head       the segmentation branch (view 1)
    varm           pseudo-masks: VARM + two background thresholds (RTC.pseudo_masks)
    contrast       prototypes, feedback, struct and InfoNCE terms (RTC.cross_transform_losses)
    cls_seam       classification, min-pooling, ER and ECR (RTC.cls_losses + RTC.seam_losses)
    other_forward  the rest of the forward (projection, classifier, upsampling, seg loss)
    backward       loss.backward()
    optimizer      SGD step

Micro-benchmarks (``--no-micro`` skips them) time the avoidable work removed in mmwsss against the way the
original code does it: the per-class Python loop of the CAM feedback / prototypes vs one batched product,
the GAP of the upsampled CAM at inference (upsample + mean vs the separable closed form), and VARM run
twice (high / low background) vs once on both masks.
"""
import argparse
import contextlib
import os.path as osp
import sys
import time
from collections import defaultdict

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def parse_args():
    p = argparse.ArgumentParser(description='RTC training-iteration benchmark (CPU)')
    p.add_argument('--crop', type=int, default=112, help='view-1 crop (RTC: 448)')
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--width-divisor', type=int, default=1, help='ResNet-38 width divisor (1 = real network)')
    p.add_argument('--iters', type=int, default=3, help='timed iterations (after one warm-up)')
    p.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    p.add_argument('--no-micro', action='store_true', help='skip the micro-benchmarks')
    return p.parse_args()


class PartTimer:
    """Accumulates wall-clock time of wrapped callables per part name."""

    def __init__(self):
        self.total = defaultdict(float)

    @contextlib.contextmanager
    def part(self, name):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.total[name] += time.perf_counter() - t

    def wrap(self, obj, attr, name):
        fn = getattr(obj, attr)

        def timed(*args, **kwargs):
            with self.part(name):
                return fn(*args, **kwargs)

        setattr(obj, attr, timed)


def build_model(args):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmwsss  # noqa: F401
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/models/rtc_res38.py'))
    d = args.width_divisor
    m = cfg.model
    m.backbone.update(width_divisor=d, init_cfg=None)
    m.decode_head.in_channels = (512 // d, 1024 // d, 4096 // d)
    m.seg_head.in_channels = (256 // d, 4096 // d)
    view2 = max(8, round(args.crop * 128 / 448))
    m.train_cfg.update(view2_size=(view2, view2), seg_begin=0, seg_by_epoch=False)
    return MODELS.build(m), view2


def make_batch(args, num_classes):
    from mmseg.structures import SegDataSample
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, args.crop, args.crop)
    samples = []
    for i in range(args.batch):
        ds = SegDataSample(metainfo=dict(img_shape=(args.crop, args.crop), crop_box=(0, args.crop, 0, args.crop)))
        lab = torch.zeros(num_classes - 1)
        lab[(3 * i) % (num_classes - 1)] = 1
        lab[(7 * i + 5) % (num_classes - 1)] = 1
        ds.gt_img_labels = lab
        samples.append(ds)
    return x, samples


def bench_training(args):
    model, view2 = build_model(args)
    model.train()
    timer = PartTimer()
    timer.wrap(model, 'extract_feat', 'backbone')
    timer.wrap(model.decode_head, 'refine', 'pcm')
    timer.wrap(model.seg_head, 'forward', 'seg_head')
    timer.wrap(model, 'pseudo_masks', 'varm')
    timer.wrap(model, 'cross_transform_losses', 'contrast')
    timer.wrap(model, 'cls_losses', 'cls_seam')
    timer.wrap(model, 'seam_losses', 'cls_seam')
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3, momentum=5e-4)
    x, samples = make_batch(args, model.num_classes)

    def step():
        with timer.part('forward'):
            losses = model.loss(x, samples)
        loss = sum(v for k, v in losses.items() if k.startswith('loss'))
        with timer.part('backward'):
            opt.zero_grad()
            loss.backward()
        with timer.part('optimizer'):
            opt.step()

    step()  # warm-up (oneDNN primitive creation)
    timer.total.clear()
    t0 = time.perf_counter()
    for _ in range(args.iters):
        step()
    per_iter = (time.perf_counter() - t0) / args.iters
    tot = {k: v / args.iters for k, v in timer.total.items()}
    parts = ['backbone', 'pcm', 'seg_head', 'varm', 'contrast', 'cls_seam']
    tot['other_forward'] = tot['forward'] - sum(tot.get(p, 0.0) for p in parts)
    print(f'RTC training, crop {args.crop} (view 2: {view2}), batch {args.batch}, width 1/{args.width_divisor}, '
          f'{torch.get_num_threads()} threads: {per_iter:.3f} s / iteration')
    print(f'{"part":<15}{"s / iter":>10}{"share":>9}')
    for p in parts + ['other_forward', 'backward', 'optimizer']:
        print(f'{p:<15}{tot.get(p, 0.0):>10.4f}{100 * tot.get(p, 0.0) / per_iter:>8.1f}%')


def _time(fn, reps=5):
    fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def bench_micro():
    from mmwsss.models.utils import (VARM, bilinear_upsampled_mean, class_topk, feedback_cams, flatten_positions,
                                     weighted_prototypes)
    torch.manual_seed(0)
    print('\nmicro-benchmarks (seconds per call; original way vs mmwsss)')

    # feedback + prototypes: RTC's grid (batch 8, 21 classes, 16x16, 256-d, k = 32)
    n, c, d, h, w, k = 8, 21, 256, 16, 16, 32
    s = torch.rand(n, c, h, w)
    f1, f2 = torch.rand(n, d, h, w), torch.rand(n, d, h, w)
    present = torch.rand(c) > 0.5

    def loop():
        v, i = class_topk(s, k)
        fea2 = flatten_positions(f2)
        q = F.normalize(fea2, dim=-1)
        new = torch.zeros_like(s)
        for ci in range(c):
            t = fea2[i[ci]]
            (v[ci].unsqueeze(-1) * t).sum(0) / v[ci].sum()
            if present[ci]:
                att = F.softmax(q @ F.normalize(t, dim=-1).t(), dim=1)
                new[:, ci] = s[:, ci] + (att @ v[ci].unsqueeze(-1)).view(n, h, w)
            else:
                new[:, ci] = s[:, ci]

    def batched():
        v, i = class_topk(s, k)
        tok = flatten_positions(f2)[i]
        weighted_prototypes(v, tok)
        feedback_cams(s, v, tok, flatten_positions(f2), present)

    print(f'  feedback + prototypes, per-class loop  {_time(loop):.4f}   batched {_time(batched):.4f}')

    # inference GAP of the CAM upsampled to a 2x-scale VOC input (1000 x 750), flip pair
    cam = torch.randn(2, 21, 125, 94)
    up = lambda: F.interpolate(cam, size=(1000, 750), mode='bilinear', align_corners=True).mean((2, 3))  # noqa
    closed = lambda: bilinear_upsampled_mean(cam, (1000, 750), True)  # noqa
    print(f'  GAP of upsampled CAM, upsample + mean  {_time(up):.4f}   closed form {_time(closed):.4f}')

    # VARM on a 224 x 224 image with bg + 2 classes, high and low background
    varm = VARM()
    img = torch.rand(1, 3, 224, 224)
    mh, ml = torch.rand(1, 3, 224, 224), torch.rand(1, 3, 224, 224)
    twice = lambda: (varm(img, mh), varm(img, ml))  # noqa
    once = lambda: varm(img, torch.cat([mh, ml], 1))  # noqa
    print(f'  VARM high + low, two calls             {_time(twice, 2):.4f}   one call {_time(once, 2):.4f}')


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    bench_training(args)
    if not args.no_micro:
        bench_micro()


if __name__ == '__main__':
    main()
