from .affinity_labels import ExtractAffinityLabels
from .formatting import PackWSSSInputs
from .pack_affinity_inputs import PackAffinityInputs
from .loading import (LoadPseudoMask, LoadSaliencyMap, LoadSuperpixels, LoadWSSSAnnotations,
                      LoadWSSSImageFromFile)
from .photometric_jitter import PhotoMetricJitter
from .pil_rescale import PILRescale
from .random_crop_pad import RandomCropPad
from .random_flip import WSSSRandomFlip
from .random_hsv_shift import RandomHSVShift
from .random_resize_long import RandomResizeLong
from .random_scale_factor import RandomScaleFactor
from .rescaled_view import RescaledView

__all__ = [
    'PackWSSSInputs', 'LoadPseudoMask', 'LoadSaliencyMap', 'LoadSuperpixels', 'LoadWSSSAnnotations',
    'LoadWSSSImageFromFile', 'PhotoMetricJitter', 'PILRescale', 'RandomCropPad', 'WSSSRandomFlip',
    'RandomResizeLong', 'RescaledView', 'ExtractAffinityLabels', 'PackAffinityInputs', 'RandomHSVShift',
    'RandomScaleFactor'
]
