from .functional import (boundary_match_counts, boundary_tolerance, confusion_matrix, f_from_counts,
                         iou_from_confusion, mean_over_classes, precision_from_confusion,
                         recall_from_confusion, seg2bmap, summarize_confusion)
from .metrics import *  # noqa: F401,F403

__all__ = [
    'confusion_matrix', 'iou_from_confusion', 'precision_from_confusion', 'recall_from_confusion',
    'mean_over_classes', 'summarize_confusion', 'seg2bmap', 'boundary_tolerance', 'boundary_match_counts',
    'f_from_counts', 'ContourFScore'
]
