"""Multi-scale (4 scales) + flip CAM inference: mmwsss vs a straightforward per-input loop.

    python tools/benchmark/benchmark_cam_inference.py [--size 160] [--images 6] [--width-divisor 4]

The reference follows psa's infer_cls.py literally: the 8 inputs (4 scales x {original, flip}) go through the
network one at a time under ``torch.no_grad``, each CAM is upsampled and summed. mmwsss
(:func:`mmwsss.apis.multi_scale_cams`) batches each flip pair, runs under ``torch.inference_mode`` and
optionally with channels-last inputs. Both see the same resized inputs, so the outputs must agree; the
script prints images/s, the speed-up and the max abs difference of the normalised CAMs.
"""
import argparse
import os.path as osp
import sys
import time

import torch
import torch.nn.functional as F

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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--size', type=int, default=160, help='image side (H = W * 3/4)')
    parser.add_argument('--images', type=int, default=6)
    parser.add_argument('--width-divisor', type=int, default=4, help='ResNet-38 width divisor (1 = full)')
    parser.add_argument('--threads', type=int, default=0, help='torch threads (0: default)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    init_default_scope('mmseg')
    wd = args.width_divisor
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='CAMSegmentor',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=dict(type='ResNet38', width_divisor=wd, out_features=('conv6', )),
        decode_head=dict(type='CAMHead', in_channels=4096 // wd, num_classes=20)))
    model.init_weights()
    model.eval()
    mean, std = model.data_preprocessor.mean, model.data_preprocessor.std
    imgs = [torch.randn(1, 3, args.size * 3 // 4, args.size) for _ in range(args.images)]

    def run(fn):
        fn(imgs[0])  # warm-up
        t0 = time.perf_counter()
        outs = [fn(x) for x in imgs]
        return outs, args.images / (time.perf_counter() - t0)

    ref, ref_ips = run(lambda x: reference_cams(model, x, mean, std))
    print(f'ResNet-38 width 1/{wd}, {args.images} images {args.size * 3 // 4}x{args.size}, scales {SCALES} + flip, '
          f'{torch.get_num_threads()} threads')
    print(f'{"variant":<44}{"images/s":>10}{"speed-up":>10}{"max |diff|":>12}')
    print(f'{"reference: per-input loop, no_grad":<44}{ref_ips:>10.2f}{1.0:>10.2f}{0.0:>12.2e}')
    for name, cl in (('mmwsss: flip pairs batched, inference_mode', False), ('  + channels_last', True)):
        def ours(x, cl=cl):
            with torch.inference_mode():
                return max_normalize(multi_scale_cams(model.forward_cam, x, SCALES, True, mean, std, cl))
        out, ips = run(ours)
        diff = max(float((a - b).abs().max()) for a, b in zip(out, ref))
        print(f'{name:<44}{ips:>10.2f}{ips / ref_ips:>10.2f}{diff:>12.2e}')


if __name__ == '__main__':
    main()
