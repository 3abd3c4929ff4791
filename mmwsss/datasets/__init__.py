from .affinity_dataset import AffinityCRFDataset
from .coco_wsss import COCO_CLASSES, WSSSCOCODataset
from .pseudo_mask import PseudoMaskDataset
from .toy_wsss import TOY_CLASSES, ToyWSSSDataset
from .transforms import *  # noqa: F401,F403
from .voc_wsss import VOC_CLASSES, VOC_PALETTE, WSSSVOCDataset
from .wsss_base import BaseWSSSDataset, read_id_list, voc_palette

__all__ = [
    'BaseWSSSDataset', 'WSSSVOCDataset', 'WSSSCOCODataset', 'ToyWSSSDataset', 'PseudoMaskDataset',
    'VOC_CLASSES', 'VOC_PALETTE', 'COCO_CLASSES', 'TOY_CLASSES', 'voc_palette', 'read_id_list',
    'PackWSSSInputs', 'LoadPseudoMask', 'LoadSaliencyMap', 'LoadSuperpixels', 'LoadWSSSAnnotations',
    'LoadWSSSImageFromFile', 'PhotoMetricJitter', 'PILRescale', 'RandomCropPad', 'WSSSRandomFlip',
    'RandomResizeLong', 'RescaledView', 'AffinityCRFDataset', 'ExtractAffinityLabels', 'PackAffinityInputs'
]
