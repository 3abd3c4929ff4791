from .cam_utils import (add_background, cams_to_label_map, max_normalize, psa_background, scores_to_label_map,
                        sum_background, threshold_background)
from .dense_crf import (CRF_PRESETS, LA_HA_ALPHAS, DenseCRF, icd_seed_probabilities, marginals_to_label_map,
                        psa_crf_labels)
from .random_walk import RW_PRESETS, RandomWalk, random_walk_label_map, rw_preset
from .superpixels import felzenszwalb_segments, greedy_merge_regions, save_superpixels

__all__ = [
    'max_normalize', 'psa_background', 'threshold_background', 'sum_background', 'add_background',
    'scores_to_label_map', 'cams_to_label_map', 'DenseCRF', 'CRF_PRESETS', 'LA_HA_ALPHAS', 'psa_crf_labels',
    'icd_seed_probabilities', 'marginals_to_label_map', 'RW_PRESETS', 'RandomWalk', 'random_walk_label_map',
    'rw_preset', 'felzenszwalb_segments', 'greedy_merge_regions', 'save_superpixels'
]
