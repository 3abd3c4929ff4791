"""Contour (boundary) F-score metric, DAVIS F-measure per class (icam.md §6)."""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmseg.registry import METRICS

from ..functional import boundary_match_counts, f_from_counts


@METRICS.register_module()
class ContourFScore(BaseMetric):
    """Boundary F-measure of semantic label maps, per class, averaged over classes.

    Reads ``pred_sem_seg`` and ``gt_sem_seg`` from the data samples like mmseg's ``IoUMetric``, so it can
    stand next to it: ``val_evaluator = [dict(type='IoUMetric'), dict(type='ContourFScore')]``.

    For every image and class ``c`` the binary masks ``gt == c`` and ``pred == c`` are turned into
    boundary maps (DAVIS ``seg2bmap``) and matched within a disk of radius
    ``ceil(bound_th * sqrt(H^2 + W^2))`` pixels (5 for 500x375). Two aggregations are reported:

    * ``mContourF`` -- ICAM's ``contour_fscore.py`` (icam.md §6 steps 5-7): the match counts are **summed
      over the data set** per class, P/R/F computed once per class, mean over classes x 100.
    * ``mContourF_img`` -- the DAVIS way, F per image and class, averaged per class over the images in
      which the class occurs in the GT or in the prediction (images where it occurs in neither would score
      a vacuous F = 1; DAVIS only scores objects that exist -- our choice), then over classes x 100.

    Ignore handling (ICAM): GT ``ignore_index`` pixels are background. For foreground classes this is the
    same as ignoring them (``gt == c`` does not change); it matters only with ``include_background``.

    Args:
        bound_th: tolerance as a fraction of the image diagonal (``< 1``) or in pixels (``>= 1``).
        ignore_index: GT ignore value.
        include_background: also score class 0 (ICAM scores foreground classes 1..C-1 only).
        num_classes: number of classes incl. background; default ``len(dataset_meta['classes'])``.
        collect_device, prefix: see ``BaseMetric``.
    """

    def __init__(self,
                 bound_th: float = 0.008,
                 ignore_index: int = 255,
                 include_background: bool = False,
                 num_classes: Optional[int] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if bound_th <= 0:
            raise ValueError(f'bound_th must be > 0, got {bound_th}')
        self.bound_th = bound_th
        self.ignore_index = ignore_index
        self.include_background = include_background
        self.num_classes = num_classes

    # ------------------------------------------------------------------ helpers
    def _num_classes(self) -> int:
        if self.num_classes is not None:
            return int(self.num_classes)
        meta = self.dataset_meta or {}
        if 'classes' not in meta:
            raise ValueError('ContourFScore needs num_classes or dataset_meta["classes"]')
        return len(meta['classes'])

    def _class_indices(self) -> List[int]:
        return list(range(0 if self.include_background else 1, self._num_classes()))

    @staticmethod
    def _to_numpy(x) -> np.ndarray:
        if hasattr(x, 'detach'):
            x = x.detach().cpu().numpy()
        return np.asarray(x)

    def image_counts(self, pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
        """``(n_scored_classes, 5)`` int64: ``[matched_pred, n_pred, matched_gt, n_gt, occurs]`` per class."""
        pred = np.asarray(pred)
        gt = np.asarray(gt)
        if pred.shape != gt.shape:
            raise ValueError(f'prediction {pred.shape} and ground truth {gt.shape} differ in shape')
        gt = np.where(gt == self.ignore_index, 0, gt)  # ICAM: void counts as background
        rows = []
        for c in self._class_indices():
            p, g = pred == c, gt == c
            if not (p.any() or g.any()):  # no boundary on either side: nothing to match
                rows.append(np.zeros(5, dtype=np.int64))
                continue
            rows.append(np.concatenate([boundary_match_counts(p, g, self.bound_th), [1]]))
        return np.asarray(rows, dtype=np.int64).reshape(-1, 5)

    # ------------------------------------------------------------------ BaseMetric API
    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Store the per-class boundary counts of each sample."""
        for data_sample in data_samples:
            pred = self._to_numpy(data_sample['pred_sem_seg']['data']).squeeze()
            gt = self._to_numpy(data_sample['gt_sem_seg']['data']).squeeze()
            self.results.append(self.image_counts(pred, gt))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Dataset-level (ICAM) and per-image (DAVIS) mean boundary F, in percent."""
        logger: MMLogger = MMLogger.get_current_instance()
        classes = self._class_indices()
        if not results:
            raise ValueError('ContourFScore: no samples were processed')
        counts = np.stack(results)  # (N, K, 5)
        total = counts[..., :4].sum(axis=0)  # (K, 4)
        prf = f_from_counts(total)  # (K, 3)
        per_img_f = f_from_counts(counts[..., :4])[..., 2]  # (N, K)
        occurs = counts[..., 4] > 0
        f_img = np.array([per_img_f[occurs[:, k], k].mean() if occurs[:, k].any() else np.nan
                          for k in range(len(classes))])
        names = (self.dataset_meta or {}).get('classes')
        table = ['class            P(%)    R(%)    F(%)  F_img(%)']
        for k, c in enumerate(classes):
            name = names[c] if names is not None and c < len(names) else str(c)
            table.append(f'{name[:14]:<14} {100 * prf[k, 0]:7.2f} {100 * prf[k, 1]:7.2f} '
                         f'{100 * prf[k, 2]:7.2f} {100 * f_img[k]:8.2f}')
        print_log('Contour F-score per class (tolerance %s):\n' % self.bound_th + '\n'.join(table), logger)
        out = OrderedDict()
        out['mContourF'] = float(100 * prf[:, 2].mean())
        out['mContourF_img'] = float(100 * np.nanmean(f_img)) if np.any(~np.isnan(f_img)) else float('nan')
        out['mContourP'] = float(100 * prf[:, 0].mean())
        out['mContourR'] = float(100 * prf[:, 1].mean())
        return out
