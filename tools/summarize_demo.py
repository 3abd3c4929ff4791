"""Print (and save as work_dir/summary.md) the table of the toy demo (tools/run_demo.sh)."""
import argparse
import json
import os.path as osp
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..')))

from mmwsss.evaluation.functional import confusion_matrix, summarize_confusion  # noqa: E402
from mmwsss.utils.io import atomic_path  # noqa: E402


def all_background_miou(data: str, split: str, num_classes: int) -> float:
    """mIoU of predicting background everywhere on ``split`` (the floor every method must clear)."""
    ids = open(osp.join(data, 'ImageSets/Segmentation', split + '.txt')).read().split()
    cm = np.zeros((num_classes, num_classes + 1), dtype=np.int64)
    for name in ids:
        gt = np.array(Image.open(osp.join(data, 'SegmentationClass', name + '.png')))
        cm += confusion_matrix(np.zeros_like(gt), gt, num_classes)
    return float(summarize_confusion(cm)['mIoU'])


def load(work_dir: str, name: str) -> dict:
    with open(osp.join(work_dir, 'eval', name, 'metrics.json')) as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--data', required=True)
    parser.add_argument('--threshold', required=True, help='background threshold chosen on val')
    parser.add_argument('--seconds', type=int, default=0)
    args = parser.parse_args()
    thr = args.threshold
    rows = [('all background (floor)', all_background_miou(args.data, 'train', 6), None, None, '-')]
    for label, name, chosen in (
        (f'CAM, threshold {thr}', 'train_cam', 'val'),
        (f'pseudo-mask PNG, threshold {thr}', f'train_thr_{thr}', 'val'),
        ('pseudo-mask, psa CRF alpha 4 (la)', 'train_crf_a4', 'psa default'),
        ('pseudo-mask, psa CRF alpha 32 (ha)', 'train_crf_a32', 'psa default'),
    ):
        m = load(args.work_dir, name)['metrics']
        rows.append((label, m['mIoU'], m['mPrecision'], m['mRecall'], chosen))
    curve = load(args.work_dir, 'train_cam_curve')
    m = curve['metrics']
    rows.append((f'CAM, best threshold on train itself ({curve["bg_threshold"]:.2f}; optimistic)', m['mIoU'],
                 m['mPrecision'], m['mRecall'], 'train (leak)'))

    def pct(v):
        return '-' if v is None else f'{100 * v:.1f}'

    lines = ['| pseudo-labels on the toy `train` split | mIoU | precision | recall | setting chosen on |',
             '|---|---|---|---|---|']
    lines += [f'| {r[0]} | {pct(r[1])} | {pct(r[2])} | {pct(r[3])} | {r[4]} |' for r in rows]
    text = '\n'.join(lines) + '\n'
    if args.seconds:
        text += f'\ndemo wall time: {args.seconds} s\n'
    text += (f'\noverlays: {osp.join(args.work_dir, "overlays_train.png")}; '
             f'threshold curves: {osp.join(args.work_dir, "eval", "val_cam_curve", "curve.png")}\n')
    print('\n' + text)
    with atomic_path(osp.join(args.work_dir, 'summary.md')) as tmp:
        with open(tmp, 'w') as f:
            f.write(text)
    if rows[1][1] <= rows[0][1]:
        sys.exit('the CAM pseudo-masks are not above the all-background floor')


if __name__ == '__main__':
    main()
