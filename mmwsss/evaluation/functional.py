"""Confusion-matrix metrics of label maps and the boundary (contour) F-measure, in numpy.

Confusion matrix layout (:func:`confusion_matrix`): ``cm[g, p]`` counts pixels of ground-truth class ``g``
predicted as ``p``; shape ``(C, C + 1)``, the extra last column counting pixels whose *prediction* is the
ignore value (pseudo-masks with "unsure" pixels). Ground-truth ignore pixels are never counted.

Per class (``TP = cm[c, c]``, ``T = sum_p cm[c, p]`` incl. the last column, ``P = sum_g cm[g, c]``):
``IoU = TP / (T + P - TP)``, ``precision = TP / P``, ``recall = TP / T``. This is the formula of psa / SEAM /
SBNet / RTC / ICAM / ICD ``TP / (T + P - TP + 1e-10)`` (the 1e-10 only turns 0/0 into 0, which
``absent='zero'`` does explicitly).
"""
import math
from typing import Dict, Optional, Sequence

import numpy as np

__all__ = [
    'confusion_matrix', 'iou_from_confusion', 'precision_from_confusion', 'recall_from_confusion',
    'mean_over_classes', 'summarize_confusion', 'seg2bmap', 'boundary_tolerance', 'disk',
    'boundary_match_counts', 'f_from_counts'
]

PRED_IGNORE_MODES = ('miss', 'drop')
ABSENT_MODES = ('zero', 'nan', 'gt')


def confusion_matrix(pred: np.ndarray,
                     gt: np.ndarray,
                     num_classes: int,
                     ignore_index: int = 255,
                     pred_ignore: str = 'miss') -> np.ndarray:
    """Confusion counts ``(C, C + 1)`` int64 of one label map (see module doc).

    Args:
        pred: ``(H, W)`` predicted labels in ``0..C-1`` or ``ignore_index``.
        gt: ``(H, W)`` ground truth in ``0..C-1`` or ``ignore_index``.
        num_classes: ``C`` (background included).
        ignore_index: the ignore value of both maps.
        pred_ignore: what a predicted ``ignore_index`` means where the GT is valid: ``'miss'`` -- a
            missed pixel of its GT class (counted in the last column: lowers recall and IoU, no false
            positive); ``'drop'`` -- the pixel is left out on both sides, as ICD's ``compute_iou.py``
            (icd.md §6: optimistic for seeds with many ignored pixels).

    Raises:
        ValueError: different shapes, or values outside ``0..C-1`` that are not ``ignore_index``.
    """
    if pred_ignore not in PRED_IGNORE_MODES:
        raise ValueError(f'pred_ignore must be one of {PRED_IGNORE_MODES}, got {pred_ignore!r}')
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(f'prediction of shape {pred.shape} but ground truth of shape {gt.shape}')
    c = int(num_classes)
    pred = pred.astype(np.int64, copy=False).ravel()
    gt = gt.astype(np.int64, copy=False).ravel()
    bad_gt = (gt != ignore_index) & ((gt < 0) | (gt >= c))
    if bad_gt.any():
        raise ValueError(f'ground truth holds values {np.unique(gt[bad_gt]).tolist()[:10]} outside 0..{c - 1} '
                         f'(ignore {ignore_index})')
    bad_pred = (pred != ignore_index) & ((pred < 0) | (pred >= c))
    if bad_pred.any():
        raise ValueError(f'prediction holds values {np.unique(pred[bad_pred]).tolist()[:10]} outside '
                         f'0..{c - 1} (ignore {ignore_index})')
    keep = gt != ignore_index
    if pred_ignore == 'drop':
        keep &= pred != ignore_index
    g = gt[keep]
    p = np.where(pred[keep] == ignore_index, c, pred[keep])
    return np.bincount(g * (c + 1) + p, minlength=c * (c + 1)).reshape(c, c + 1).astype(np.int64)


def _counts(cm: np.ndarray):
    cm = np.asarray(cm, dtype=np.float64)
    c = cm.shape[0]
    if cm.ndim != 2 or cm.shape[1] not in (c, c + 1):
        raise ValueError(f'confusion matrix must be (C, C) or (C, C + 1), got shape {cm.shape}')
    tp = np.diag(cm[:, :c])
    gt_count = cm.sum(axis=1)
    pred_count = cm[:, :c].sum(axis=0)
    return tp, gt_count, pred_count


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def iou_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class IoU ``TP / (T + P - TP)``; NaN where the class is absent from GT and prediction."""
    tp, t, p = _counts(cm)
    return _safe_div(tp, t + p - tp)


def precision_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class precision ``TP / P``; NaN where the class is never predicted."""
    tp, _, p = _counts(cm)
    return _safe_div(tp, p)


def recall_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Per-class recall ``TP / T``; NaN where the class is absent from the GT."""
    tp, t, _ = _counts(cm)
    return _safe_div(tp, t)


def mean_over_classes(values: np.ndarray, cm: np.ndarray, absent: str = 'zero') -> float:
    """Class mean of a per-class metric.

    ``absent``: ``'zero'`` -- mean over all C classes, NaN counted as 0 (psa, SEAM, SBNet, RTC, ICAM, ICD:
    the ``+1e-10`` formula); ``'nan'`` -- NaN classes skipped (mmseg ``IoUMetric``); ``'gt'`` -- mean over the
    classes present in the GT only (SC-CAM ``iouutils.scores``, sccam.md §4.1 item 6).
    """
    if absent not in ABSENT_MODES:
        raise ValueError(f'absent must be one of {ABSENT_MODES}, got {absent!r}')
    values = np.asarray(values, dtype=np.float64)
    if absent == 'zero':
        return float(np.nan_to_num(values, nan=0.0).mean()) if values.size else float('nan')
    if absent == 'gt':
        _, t, _ = _counts(cm)
        values = values[t > 0]
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float('nan')


def summarize_confusion(cm: np.ndarray,
                        class_names: Optional[Sequence[str]] = None,
                        absent: str = 'zero') -> Dict[str, object]:
    """IoU / precision / recall per class and their means (in [0, 1]) from a confusion matrix."""
    iou = iou_from_confusion(cm)
    prec = precision_from_confusion(cm)
    rec = recall_from_confusion(cm)
    c = iou.shape[0]
    names = list(class_names) if class_names is not None else [f'class_{i}' for i in range(c)]
    if len(names) != c:
        raise ValueError(f'{len(names)} class names for {c} classes')
    _, t, p = _counts(cm)
    return {
        'classes': names,
        'IoU': iou.tolist(),
        'Precision': prec.tolist(),
        'Recall': rec.tolist(),
        'gt_pixels': t.astype(np.int64).tolist(),
        'pred_pixels': p.astype(np.int64).tolist(),
        'mIoU': mean_over_classes(iou, cm, absent),
        'mPrecision': mean_over_classes(prec, cm, absent),
        'mRecall': mean_over_classes(rec, cm, absent),
        'absent': absent,
    }


# ---------------------------------------------------------------------------------------------- contours
def seg2bmap(seg: np.ndarray) -> np.ndarray:
    """Boundary map of a binary mask as in DAVIS ``_seg2bmap`` at full resolution (icam.md §6 step 3).

    ``b = (s ^ E) | (s ^ S) | (s ^ SE)`` with E/S/SE the right/down/down-right neighbours (0 outside);
    the last row is then ``s ^ E`` only, the last column ``s ^ S`` only and the bottom-right pixel 0, so
    the image border itself is never a boundary.
    """
    s = np.asarray(seg).astype(bool)
    if s.ndim != 2:
        raise ValueError(f'seg2bmap needs a 2-D mask, got shape {s.shape}')
    e = np.zeros_like(s)
    so = np.zeros_like(s)
    se = np.zeros_like(s)
    e[:, :-1] = s[:, 1:]
    so[:-1, :] = s[1:, :]
    se[:-1, :-1] = s[1:, 1:]
    b = (s ^ e) | (s ^ so) | (s ^ se)
    b[-1, :] = s[-1, :] ^ e[-1, :]
    b[:, -1] = s[:, -1] ^ so[:, -1]
    b[-1, -1] = False
    return b


def boundary_tolerance(height: int, width: int, bound_th: float = 0.008) -> int:
    """DAVIS tolerance in pixels: ``bound_th`` itself if >= 1, else ``ceil(bound_th * sqrt(H^2 + W^2))``."""
    if bound_th >= 1:
        return int(bound_th)
    return int(math.ceil(bound_th * math.hypot(height, width)))


def disk(radius: int) -> np.ndarray:
    """Structuring element ``{(y, x): y^2 + x^2 <= r^2}`` (as ``skimage.morphology.disk``), uint8."""
    r = int(radius)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return (yy**2 + xx**2 <= r * r).astype(np.uint8)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    import cv2
    if radius <= 0:
        return mask.copy()
    return cv2.dilate(mask.astype(np.uint8), disk(radius)).astype(bool)


def boundary_match_counts(pred_mask: np.ndarray, gt_mask: np.ndarray, bound_th: float = 0.008) -> np.ndarray:
    """DAVIS boundary matching of two binary masks.

    Returns int64 ``[matched_pred, n_pred, matched_gt, n_gt]``: boundary pixels of the prediction lying
    within the tolerance disk of a GT boundary pixel, number of prediction boundary pixels, and the same
    for the GT (icam.md §6 step 5).
    """
    pred_mask = np.asarray(pred_mask).astype(bool)
    gt_mask = np.asarray(gt_mask).astype(bool)
    if pred_mask.shape != gt_mask.shape:
        raise ValueError(f'prediction mask {pred_mask.shape} and GT mask {gt_mask.shape} differ in shape')
    r = boundary_tolerance(*gt_mask.shape, bound_th=bound_th)
    bp = seg2bmap(pred_mask)
    bg = seg2bmap(gt_mask)
    matched_pred = int(np.count_nonzero(bp & _dilate(bg, r)))
    matched_gt = int(np.count_nonzero(bg & _dilate(bp, r)))
    return np.array([matched_pred, int(bp.sum()), matched_gt, int(bg.sum())], dtype=np.int64)


def f_from_counts(counts: np.ndarray) -> np.ndarray:
    """Boundary precision, recall and F from ``[..., 4]`` counts (see :func:`boundary_match_counts`).

    DAVIS rules: no prediction and no GT boundary -> P = R = 1; only GT -> P = 1, R = 0; only prediction
    -> P = 0, R = 1; ``F = 2PR / (P + R)``, 0 when ``P + R = 0``. Returns ``[..., 3]`` (P, R, F).
    """
    counts = np.asarray(counts, dtype=np.float64)
    mp, npred, mg, ngt = counts[..., 0], counts[..., 1], counts[..., 2], counts[..., 3]
    # With no predicted boundary nothing can be matched on the GT side either (and vice versa), so
    # "P = 1 where n_pred = 0, R = 1 where n_gt = 0" yields all three DAVIS special cases.
    prec = np.where(npred > 0, mp / np.maximum(npred, 1), 1.0)
    rec = np.where(ngt > 0, mg / np.maximum(ngt, 1), 1.0)
    denom = prec + rec
    f = np.where(denom > 0, 2 * prec * rec / np.where(denom > 0, denom, 1), 0.0)
    return np.stack([prec, rec, f], axis=-1)
