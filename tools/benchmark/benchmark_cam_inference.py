"""Multi-scale (4 scales) + flip CAM inference: mmwsss vs a straightforward per-input loop, with a roofline.

    python tools/benchmark/benchmark_cam_inference.py [--size 160] [--images 4] [--width-divisor 4] [--rounds 3]

The reference follows psa's infer_cls.py literally: the 8 inputs (4 scales x {original, flip}) go through the
network one at a time under ``torch.no_grad``, each CAM is upsampled and summed. mmwsss
(:func:`mmwsss.apis.multi_scale_cams`) batches each flip pair, runs under ``torch.inference_mode`` and
optionally with channels-last inputs. Both see the same resized inputs, so the outputs must agree; the
script prints images/s, the speed-up and the max abs difference of the normalised CAMs.

Timing: the variants run interleaved for ``--rounds`` rounds (each round times every variant on all images),
and the table reports the median round, so that a variant is not favoured by running later (warm caches,
clock ramp-up) -- on this kind of VM a single back-to-back run varied by up to +-30 %.

Roofline: the network's floating-point work per image is counted with ``torch.utils.flop_counter`` and
divided by the measured time, giving the arithmetic rate each variant reaches. The script also times every
convolution of one reference pass and reports the fastest rate any sizeable convolution of this network
reached on this machine. At identical fp32 output no variant can do less arithmetic, so
``fastest-conv rate / reference rate`` bounds the speed-up any such variant could show here.
"""
import argparse
import os.path as osp
import statistics
import sys
import time
from typing import Callable, Dict, List

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

import mmwsss  # noqa: E402,F401
from mmengine.registry import init_default_scope  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402

from mmwsss.apis.cam_inference import multi_scale_cams, resize_normalized, scaled_size  # noqa: E402
from mmwsss.refinement.cam_utils import max_normalize  # noqa: E402

SCALES = (1.0, 0.5, 1.5, 2.0)


def reference_cams(model, img, mean, std):
    """psa's loop: one forward per (scale, flip) input."""
    H, W = img.shape[-2:]
    total = None
    with torch.no_grad():
        for s in SCALES:
            x = resize_normalized(img, scaled_size((H, W), s), mean, std)
            for flip in (False, True):
                xi = x.flip(-1) if flip else x
                cam = F.relu(model.forward_cam(xi))
                cam = F.interpolate(cam, size=(H, W), mode='bilinear', align_corners=False)[0]
                cam = cam.flip(-1) if flip else cam
                total = cam if total is None else total + cam
    return max_normalize(total)


def build_model(width_divisor: int):
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='CAMSegmentor',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=dict(type='ResNet38', width_divisor=width_divisor, out_features=('conv6', )),
        decode_head=dict(type='CAMHead', in_channels=4096 // width_divisor, num_classes=20)))
    # random BN statistics, so that the comparison is not between near-identity layers
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model.eval()


def flops_per_image(model, img, mean, std) -> float:
    """Floating-point operations of the 8 network passes (and the resizes) of one image."""
    with FlopCounterMode(display=False) as counter:
        reference_cams(model, img, mean, std)
    return float(counter.get_total_flops())


def fastest_conv_rate(model, img, mean, std, repeats: int = 2) -> float:
    """The highest FLOP/s any convolution doing >= 1 % of the work reached in the reference passes."""
    stats: Dict[str, List[float]] = {}
    handles = []

    def pre(mod, args):
        mod._bench_t0 = time.perf_counter()

    def post(mod, args, out):
        dt = time.perf_counter() - mod._bench_t0
        k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
        s = stats.setdefault(mod._bench_name, [0.0, 0.0])
        s[0] += dt
        s[1] += 2.0 * out.numel() * k

    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Conv2d):
            mod._bench_name = name
            handles += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
    try:
        reference_cams(model, img, mean, std)  # warm-up
        stats.clear()
        for _ in range(repeats):
            reference_cams(model, img, mean, std)
    finally:
        for h in handles:
            h.remove()
    total = sum(s[1] for s in stats.values())
    return max(s[1] / s[0] for s in stats.values() if s[1] >= 0.01 * total)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--size', type=int, default=160, help='image width (H = W * 3/4)')
    parser.add_argument('--images', type=int, default=4)
    parser.add_argument('--width-divisor', type=int, default=4, help='ResNet-38 width divisor (1 = full)')
    parser.add_argument('--rounds', type=int, default=3, help='interleaved timing rounds (median reported)')
    parser.add_argument('--threads', type=int, default=0, help='torch threads (0: default)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    init_default_scope('mmseg')
    wd = args.width_divisor
    model = build_model(wd)
    mean, std = model.data_preprocessor.mean, model.data_preprocessor.std
    g = torch.Generator().manual_seed(2)
    imgs = [torch.randn(1, 3, args.size * 3 // 4, args.size, generator=g) for _ in range(args.images)]

    def ours(channels_last: bool) -> Callable:
        def fn(x):
            with torch.inference_mode():
                return max_normalize(multi_scale_cams(model.forward_cam, x, SCALES, True, mean, std, channels_last))
        return fn

    variants = {
        'reference: per-input loop, no_grad': lambda x: reference_cams(model, x, mean, std),
        'mmwsss: flip pairs batched, inference_mode': ours(False),
        '  + channels_last': ours(True),
    }
    outputs = {name: [fn(x) for x in imgs[:1]] for name, fn in variants.items()}  # warm-up
    times: Dict[str, List[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            outputs[name] = [fn(x) for x in imgs]
            times[name].append(time.perf_counter() - t0)

    gflop = flops_per_image(model, imgs[0], mean, std) / 1e9
    ceiling = fastest_conv_rate(model, imgs[0], mean, std) / 1e9
    ref_name = next(iter(variants))
    ref_t = statistics.median(times[ref_name])
    print(f'ResNet-38 width 1/{wd}, {args.images} images {args.size * 3 // 4}x{args.size}, scales {SCALES} + flip, '
          f'{torch.get_num_threads()} threads, {args.rounds} interleaved rounds (median; range in brackets)')
    print(f'{"variant":<44}{"images/s":>10}{"speed-up":>10}{"  (range)":<16}{"GFLOP/s":>9}{"max |diff|":>12}')
    for name in variants:
        t = statistics.median(times[name])
        lo, hi = ref_t / max(times[name]), ref_t / min(times[name])
        diff = max(float((a - b).abs().max()) for a, b in zip(outputs[name], outputs[ref_name]))
        print(f'{name:<44}{args.images / t:>10.2f}{ref_t / t:>10.2f}  ({lo:.2f}-{hi:.2f})   '
              f'{gflop * args.images / t:>9.1f}{diff:>12.2e}')
    ref_rate = gflop * args.images / ref_t
    print(f'work per image: {gflop:.2f} GFLOP; fastest convolution of this network on this machine: '
          f'{ceiling:.1f} GFLOP/s')
    print(f'roofline: the reference already runs at {100 * ref_rate / ceiling:.0f} % of that rate, so no '
          f'identical-output fp32 variant can be faster than about {ceiling / ref_rate:.2f}x here')


if __name__ == '__main__':
    main()
