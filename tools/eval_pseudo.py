"""Evaluate pseudo-masks or CAMs against ground-truth label maps: mIoU, per-class IoU/precision/recall.

    # label PNGs (pseudo-masks, random-walk output, CRF labels)
    python tools/eval_pseudo.py --pred-dir work_dirs/rw --gt-dir data/VOC2012/SegmentationClass \\
        --list data/VOC2012/ImageSets/Segmentation/train.txt
    # mmwsss CAM files with a background threshold chosen elsewhere
    python tools/eval_pseudo.py --type npy --pred-dir work_dirs/cams --gt-dir ... --list .../val.txt \\
        --thresholds 0.26 --chosen-on train
    # background-threshold curve (SEAM evaluation.py --curve), plot with the best threshold marked
    python tools/eval_pseudo.py --type npy --curve --pred-dir work_dirs/cams --gt-dir ... --list .../train.txt

Metric (psa / SEAM / SBNet / RTC / ICAM; sbnet.md §6, rtc.md §6): confusion counts accumulated over the
whole list, GT ``--ignore-index`` pixels skipped, ``IoU_c = TP / (T + P - TP)``, mIoU = plain mean over all
classes (absent classes count 0; ``--absent`` picks the mmseg or SC-CAM convention instead). CAM files
(``--type npy``, see ``mmwsss/utils/cam_io.py``) become labels by ``argmax([thr, cams])``: a pixel is
background iff its largest CAM value is <= thr (ties go to the background, as in SEAM's script).

The split being reported is the list file's name (``val.txt`` -> ``val``; ``--split`` overrides). A threshold
picked with ``--curve`` is chosen on that same split with its own ground truth (optimistic, the
practice of SEAM#31 and RTC's 0.17); the output says so and warns. For a fixed threshold, state where it
came from with ``--chosen-on``; the tool warns when that is the reported split.

Every failing image (missing prediction or GT, size mismatch, bad CAM file, out-of-range labels) is listed;
then the tool exits with status 1 and writes no results.
"""
import argparse
import csv
import json
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

DEFAULT_CURVE = (0.0, 0.60, 0.01)


# ---------------------------------------------------------------------------------------------- inputs
def read_list(path: str) -> List[str]:
    """Image names of a list file (bare names or psa-style lines); the data sets' reader, which also
    rejects empty lists and duplicate ids."""
    from mmwsss.datasets.wsss_base import read_id_list
    return read_id_list(path)


def split_name(list_path: str) -> str:
    """The split a list file describes: its file name without extension."""
    return osp.splitext(osp.basename(list_path))[0]


def load_label_png(path: str, kind: str) -> np.ndarray:
    """A single-channel label PNG (palette or grey) as an integer (H, W) array."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: {kind} file not found')
    try:
        with Image.open(path) as im:
            if im.mode not in ('P', 'L', 'I', 'I;16'):
                raise ValueError(f'{path}: {kind} must be a single-channel label PNG (mode P or L), '
                                 f'got mode {im.mode}')
            return np.asarray(im).astype(np.int64)
    except (OSError, SyntaxError) as e:
        raise ValueError(f'{path}: unreadable {kind} image ({e})') from None


def class_names_for(num_classes: int, names_file: Optional[str]) -> List[str]:
    if names_file:
        with open(names_file, encoding='utf-8') as f:
            names = [ln.strip() for ln in f if ln.strip()]
        if len(names) != num_classes:
            raise ValueError(f'{names_file}: {len(names)} class names but --num-classes {num_classes}')
        return names
    if num_classes == 21:
        from mmseg.utils import get_classes
        return list(get_classes('voc'))  # 'background', 'aeroplane', ..., 'tvmonitor'
    return [f'class_{i}' for i in range(num_classes)]


# ---------------------------------------------------------------------------------------------- core
def threshold_confusions(cams: np.ndarray, class_ids: np.ndarray, gt: np.ndarray, thresholds: Sequence[float],
                         num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """Confusion counts ``(T, C, C + 1)`` of ``argmax([thr, cams])`` for every threshold at once.

    A pixel is foreground (its arg-max class) at threshold ``t`` iff its largest CAM value ``m > t``;
    so each pixel is binned by the number of thresholds below ``m`` and the per-threshold matrices are
    cumulative sums of those bins. ``thresholds`` must be ascending. Comparisons are in float32, like
    SEAM's ``evaluation.py`` (a float32 score tensor) and :func:`mmwsss.refinement.cams_to_label_map`.
    """
    thr = np.asarray(thresholds, dtype=np.float32)
    if thr.ndim != 1 or thr.size == 0 or np.any(np.diff(thr) <= 0):
        raise ValueError(f'thresholds must be a non-empty strictly ascending sequence, got {thr.tolist()}')
    c = int(num_classes)
    keep = gt != ignore_index
    g = gt[keep].astype(np.int64)
    if cams.shape[0]:
        m = cams.max(axis=0)[keep].astype(np.float32)
        a = np.asarray(class_ids, dtype=np.int64)[np.argmax(cams, axis=0)[keep]]
    else:  # no class: background everywhere
        m = np.full(g.shape, -np.inf, dtype=np.float32)
        a = np.zeros(g.shape, dtype=np.int64)
    t = thr.size
    idx = np.searchsorted(thr, m, side='left')  # number of thresholds strictly below m
    hist = np.bincount((idx * c + g) * c + a, minlength=(t + 1) * c * c).reshape(t + 1, c, c)
    fg = np.cumsum(hist[::-1], axis=0)[::-1][1:]  # fg[j] = sum over bins i > j
    bg = np.cumsum(hist.sum(axis=2), axis=0)[:t]  # pixels with m <= thr[j], per GT class
    out = np.zeros((t, c, c + 1), dtype=np.int64)
    out[:, :, :c] = fg
    out[:, :, 0] += bg
    return out


def evaluate_one(task: Tuple[str, dict]) -> dict:
    """Confusion counts of one image: ``{'name', 'cm' (T, C, C + 1) or None, 'error' or None}``."""
    from mmwsss.evaluation.functional import confusion_matrix
    from mmwsss.refinement.cam_utils import add_background, scores_to_label_map, sum_background
    from mmwsss.utils.cam_io import CAMFileError, load_cams

    name, cfg = task
    c = cfg['num_classes']
    try:
        gt_path = osp.join(cfg['gt_dir'], name + cfg['gt_suffix'])
        gt = load_label_png(gt_path, 'ground truth')
        bad = (gt != cfg['ignore_index']) & ((gt < 0) | (gt >= c))
        if bad.any():
            raise ValueError(f'{gt_path}: ground truth holds values {np.unique(gt[bad]).tolist()[:10]} outside '
                             f'0..{c - 1} (ignore {cfg["ignore_index"]})')
        if cfg['type'] == 'png':
            pred_path = osp.join(cfg['pred_dir'], name + '.png')
            pred = load_label_png(pred_path, 'prediction')
            if pred.shape != gt.shape:
                raise ValueError(f'{pred_path}: prediction is {pred.shape[0]}x{pred.shape[1]} but the ground '
                                 f'truth {gt_path} is {gt.shape[0]}x{gt.shape[1]}')
            try:
                cm = confusion_matrix(pred, gt, c, cfg['ignore_index'], cfg['pred_ignore'])
            except ValueError as e:
                raise ValueError(f'{pred_path}: {e}') from None
            return dict(name=name, cm=cm[None], error=None)
        pred_path = osp.join(cfg['pred_dir'], name + '.npy')
        try:
            cams, ids = load_cams(pred_path, num_classes=c, image_size=gt.shape)
        except CAMFileError as e:
            msg = str(e)
            if 'but the image is' in msg:
                msg += f' (ground truth {gt_path})'
            raise ValueError(msg) from None
        if cfg['image_labels'] is not None:
            if name not in cfg['image_labels']:
                raise ValueError(f'{pred_path}: {name} has no entry in {cfg["cls_labels"]}')
            expected = (np.nonzero(np.asarray(cfg['image_labels'][name]) > 1e-5)[0] + 1).tolist()
            if ids.tolist() != expected:
                raise ValueError(f'{pred_path}: CAM classes {ids.tolist()} differ from the image labels '
                                 f'{expected} in {cfg["cls_labels"]}')
        if cfg['bg_rule'] == 'sum':
            pred = scores_to_label_map(add_background(cams, sum_background(cams)), ids).astype(np.int64)
            return dict(name=name, cm=confusion_matrix(pred, gt, c, cfg['ignore_index'])[None], error=None)
        cm = threshold_confusions(cams, ids, gt, cfg['thresholds'], c, cfg['ignore_index'])
        return dict(name=name, cm=cm, error=None)
    except (ValueError, FileNotFoundError, OSError) as e:
        return dict(name=name, cm=None, error=str(e))


def run_all(names: Sequence[str], cfg: dict, nproc: int = 1) -> List[dict]:
    """Evaluate every image with an mmengine progress bar (in ``nproc`` processes if > 1)."""
    from mmengine.utils import track_iter_progress, track_parallel_progress
    tasks = [(n, cfg) for n in names]
    if nproc > 1:
        return track_parallel_progress(evaluate_one, tasks, nproc, file=sys.stderr)
    return [evaluate_one(t) for t in track_iter_progress(tasks, file=sys.stderr)]


# ---------------------------------------------------------------------------------------------- outputs
def format_table(summary: dict) -> str:
    lines = [f'{"class":<16}{"IoU":>8}{"Prec.":>8}{"Recall":>8}{"GT px":>12}{"pred px":>12}']
    for i, name in enumerate(summary['classes']):
        vals = [summary[k][i] for k in ('IoU', 'Precision', 'Recall')]
        cells = ''.join(f'{"-" if np.isnan(v) else f"{100 * v:.2f}":>8}' for v in vals)
        lines.append(f'{name[:15]:<16}{cells}{summary["gt_pixels"][i]:>12}{summary["pred_pixels"][i]:>12}')
    lines.append(f'{"mean":<16}{100 * summary["mIoU"]:>8.2f}{100 * summary["mPrecision"]:>8.2f}'
                 f'{100 * summary["mRecall"]:>8.2f}')
    return '\n'.join(lines)


def _nan_to_none(x):
    if isinstance(x, float) and np.isnan(x):
        return None
    if isinstance(x, list):
        return [_nan_to_none(v) for v in x]
    if isinstance(x, dict):
        return {k: _nan_to_none(v) for k, v in x.items()}
    return x


def write_json(path: str, data: dict) -> None:
    from mmwsss.utils.io import atomic_path
    with atomic_path(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(_nan_to_none(data), f, indent=2)


def write_csv(path: str, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    from mmwsss.utils.io import atomic_path
    with atomic_path(path) as tmp:
        with open(tmp, 'w', encoding='utf-8', newline='') as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)


def plot_curve(path: str, thresholds: Sequence[float], miou: Sequence[float], best: int, split: str) -> None:
    """mIoU-vs-threshold plot (percent), the best threshold marked; written atomically."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmwsss.utils.io import atomic_path
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    y = 100 * np.asarray(miou)
    ax.plot(thresholds, y, '-', color='tab:blue', label='mIoU')
    ax.plot([thresholds[best]], [y[best]], 'o', color='tab:red',
            label=f'best: thr {thresholds[best]:.2f}, mIoU {y[best]:.2f}')
    ax.axvline(thresholds[best], color='tab:red', linestyle=':', linewidth=1)
    ax.set_xlabel('background threshold')
    ax.set_ylabel('mIoU (%)')
    ax.set_title(f'{split}: threshold chosen on {split} (its own GT)')
    ax.grid(True, alpha=0.3)
    ax.legend(loc='lower center')
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format='png')
    plt.close(fig)


# ---------------------------------------------------------------------------------------------- CLI
def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Evaluate pseudo-masks / CAMs (mIoU, IoU, precision, recall)')
    p.add_argument('--pred-dir', required=True, help='predictions: <name>.png label maps or <name>.npy CAM files')
    p.add_argument('--gt-dir', required=True, help='ground-truth label PNGs <name>.png')
    p.add_argument('--list', required=True, help='image list (bare names or psa-style lines)')
    p.add_argument('--type', choices=['png', 'npy'], default='png', help='prediction format')
    p.add_argument('--curve', action='store_true', help='sweep the background threshold (npy only)')
    p.add_argument('--thresholds', type=float, nargs='+', default=None,
                   help='background threshold(s): one value = fixed threshold; with --curve the values to sweep')
    p.add_argument('--curve-range', type=float, nargs=3, default=list(DEFAULT_CURVE), metavar=('START', 'STOP',
                   'STEP'), help='sweep START..STOP (inclusive) by STEP when --thresholds is not given '
                   '(default 0.00 0.60 0.01; SEAM sweeps 0.00..0.59)')
    p.add_argument('--bg-rule', choices=['threshold', 'sum'], default='threshold',
                   help="npy background: constant threshold, or ICAM's 1 - sum of CAMs")
    p.add_argument('--num-classes', type=int, default=21, help='classes including background')
    p.add_argument('--class-names', default=None, help='file with one class name per line (background first)')
    p.add_argument('--cls-labels', default=None,
                   help='optional psa-style cls_labels.npy: CAM files must hold exactly the image-level classes')
    p.add_argument('--chosen-on', default=None,
                   help='split on which the fixed threshold (or the PNG pseudo-masks\' settings) was chosen')
    p.add_argument('--split', default=None, help='name of the reported split (default: the list file name)')
    p.add_argument('--out-dir', default=None, help='where metrics.json/per_class.csv (and the curve) go '
                   '(default: <pred-dir>_eval_<split>)')
    p.add_argument('--gt-suffix', default='.png')
    p.add_argument('--ignore-index', type=int, default=255)
    p.add_argument('--absent', choices=['zero', 'nan', 'gt'], default='zero',
                   help="classes with empty union: 'zero' counts them as 0 (psa/SEAM/RTC/ICAM), 'nan' skips them "
                   "(mmseg), 'gt' averages over GT-present classes (SC-CAM)")
    p.add_argument('--pred-ignore', choices=['miss', 'drop'], default='miss',
                   help="predicted ignore pixels: 'miss' = missed GT pixel; 'drop' = left out (ICD)")
    p.add_argument('--nproc', type=int, default=1, help='worker processes')
    return p.parse_args(argv)


def _thresholds(args) -> Optional[List[float]]:
    if args.type != 'npy' or args.bg_rule != 'threshold':
        if args.curve:
            raise SystemExit('error: --curve needs --type npy with --bg-rule threshold')
        if args.thresholds:
            raise SystemExit('error: --thresholds only applies to --type npy with --bg-rule threshold')
        return None
    if args.curve:
        if args.thresholds:
            values = sorted(set(args.thresholds))
        else:
            start, stop, step = args.curve_range
            if step <= 0 or stop < start:
                raise SystemExit(f'error: bad --curve-range {args.curve_range}')
            n = int(np.floor((stop - start) / step + 1e-9)) + 1
            values = [round(start + i * step, 10) for i in range(n)]
        return values
    if not args.thresholds:
        raise SystemExit('error: --type npy needs a background threshold (--thresholds T) or --curve')
    if len(args.thresholds) != 1:
        raise SystemExit('error: several --thresholds given without --curve')
    return list(args.thresholds)


def main(argv=None) -> int:
    args = parse_args(argv)
    thresholds = _thresholds(args)
    split = args.split or split_name(args.list)
    try:
        names = read_list(args.list)
    except (FileNotFoundError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    for d, what in ((args.pred_dir, '--pred-dir'), (args.gt_dir, '--gt-dir')):
        if not osp.isdir(d):
            print(f'error: {what} {d} is not a directory', file=sys.stderr)
            return 1
    class_names = class_names_for(args.num_classes, args.class_names)
    image_labels = None
    if args.cls_labels:
        image_labels = np.load(args.cls_labels, allow_pickle=True).item()
    cfg = dict(num_classes=args.num_classes, gt_dir=args.gt_dir, pred_dir=args.pred_dir, gt_suffix=args.gt_suffix,
               ignore_index=args.ignore_index, pred_ignore=args.pred_ignore, type=args.type,
               bg_rule=args.bg_rule, thresholds=thresholds, image_labels=image_labels, cls_labels=args.cls_labels)
    results = run_all(names, cfg, max(1, args.nproc))
    failures = [r for r in results if r['error'] is not None]
    if failures:
        print(f'\n{len(failures)} of {len(names)} images failed (no results written):', file=sys.stderr)
        for r in failures:
            print(f'  {r["name"]}: {r["error"]}', file=sys.stderr)
        return 1
    from mmwsss.evaluation.functional import summarize_confusion
    cms = np.sum([r['cm'] for r in results], axis=0)  # (T, C, C + 1)
    out_dir = args.out_dir or (args.pred_dir.rstrip('/\\') + f'_eval_{split}')

    warnings: List[str] = []
    report: Dict[str, object] = dict(split=split, list=args.list, pred_dir=args.pred_dir, gt_dir=args.gt_dir,
                                     type=args.type, num_images=len(names), num_classes=args.num_classes,
                                     absent=args.absent, pred_ignore=args.pred_ignore,
                                     ignore_index=args.ignore_index)
    if thresholds is not None and args.curve:
        miou = [summarize_confusion(cm, class_names, args.absent)['mIoU'] for cm in cms]
        best = int(np.nanargmax(miou))
        chosen_on = split
        warnings.append(f'the best threshold {thresholds[best]:.2f} was selected on the reported split '
                        f"'{split}' with its own ground truth: an optimistic number. Choose the threshold on "
                        'another split and report with --thresholds T --chosen-on SPLIT.')
        if args.chosen_on and args.chosen_on != split:
            warnings.append(f'--chosen-on {args.chosen_on} ignored: with --curve the threshold is chosen on '
                            f"'{split}'")
        bg_threshold = thresholds[best]
        summary = summarize_confusion(cms[best], class_names, args.absent)
        report['curve'] = dict(thresholds=thresholds, mIoU=miou, best_threshold=bg_threshold,
                               best_mIoU=miou[best])
        print('\nthreshold   mIoU')
        for t, v in zip(thresholds, miou):
            print(f'{t:9.2f} {100 * v:6.2f}' + ('   <- best' if t == bg_threshold else ''))
    else:
        summary = summarize_confusion(cms[0], class_names, args.absent)
        bg_threshold = thresholds[0] if thresholds is not None else None
        chosen_on = args.chosen_on
        if chosen_on is not None and chosen_on == split:
            warnings.append(f"the threshold/settings were chosen on '{chosen_on}', the split being reported: "
                            'an optimistic number.')
        elif chosen_on is None and thresholds is not None:
            warnings.append('where the background threshold was chosen is not stated (--chosen-on SPLIT).')
    report.update(bg_rule=args.bg_rule if args.type == 'npy' else None, bg_threshold=bg_threshold,
                  threshold_chosen_on=chosen_on, warnings=warnings, metrics=summary)

    print(f'\nsplit: {split} ({len(names)} images), type: {args.type}' +
          (f', background threshold {bg_threshold:.2f} chosen on: {chosen_on or "not stated"}'
           if bg_threshold is not None else (f', settings chosen on: {chosen_on}' if chosen_on else '')))
    print(format_table(summary))
    print(f'mIoU: {100 * summary["mIoU"]:.2f}')
    for w in warnings:
        print(f'WARNING: {w}', file=sys.stderr)

    write_json(osp.join(out_dir, 'metrics.json'), report)
    write_csv(osp.join(out_dir, 'per_class.csv'), ['class', 'IoU', 'Precision', 'Recall', 'gt_pixels', 'pred_pixels'],
              [[n, summary['IoU'][i], summary['Precision'][i], summary['Recall'][i], summary['gt_pixels'][i],
                summary['pred_pixels'][i]] for i, n in enumerate(summary['classes'])])
    if args.curve:
        write_csv(osp.join(out_dir, 'curve.csv'), ['threshold', 'mIoU'], list(zip(thresholds, miou)))
        plot_curve(osp.join(out_dir, 'curve.png'), thresholds, miou, best, split)
    print(f'results written to {out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
