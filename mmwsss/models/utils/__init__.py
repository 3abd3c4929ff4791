from .bkg_refine import combine_two_thresholds, refine_cams_with_bkg
from .cam_ops import (bilinear_upsampled_mean, channel_min_max, fg_background, max_onehot, pcm_seed, seam_max_norm)
from .img_labels import stack_img_labels
from .pcm import pcm_affinity, pcm_refine
from .rtc_prototypes import (class_topk, contrast_pseudo_labels, feedback_cams, flatten_positions,
                             prototype_class_relation, weighted_prototypes)
from .varm import NEIGHBOR_OFFSETS, VARM, dilated_neighbors

__all__ = [
    'combine_two_thresholds', 'refine_cams_with_bkg', 'bilinear_upsampled_mean', 'channel_min_max', 'fg_background',
    'max_onehot', 'pcm_seed', 'seam_max_norm', 'stack_img_labels', 'pcm_affinity', 'pcm_refine', 'class_topk', 'contrast_pseudo_labels',
    'feedback_cams', 'flatten_positions', 'prototype_class_relation', 'weighted_prototypes', 'NEIGHBOR_OFFSETS', 'VARM',
    'dilated_neighbors'
]
