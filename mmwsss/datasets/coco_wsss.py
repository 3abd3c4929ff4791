from mmseg.registry import DATASETS

from .wsss_base import BaseWSSSDataset, voc_palette

# label value i (1..80) = the i-th COCO category in ascending category-id order (icam.md §1.2); official
# COCO names (ICAM's CAT_LIST uses VOC-style spellings for six of them: cosmetic only).
COCO_CLASSES = (
    'background', 'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse',
    'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie',
    'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove',
    'skateboard', 'surfboard', 'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl',
    'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair',
    'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard',
    'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
    'teddy bear', 'hair drier', 'toothbrush')


@DATASETS.register_module()
class WSSSCOCODataset(BaseWSSSDataset):
    """COCO 2014 for WSSS: 80 classes + background, written by ``tools/dataset_converters/coco2wsss.py``.

    Layout under ``data_root`` (``data/coco2014``)::

        train2014/<name>.jpg  val2014/<name>.jpg          (official image folders, --name-style file)
        SegmentationClass/<name>.png                      0 = bg, 1..80, no 255 (ICAM); from the converter
        ImageSets/{train2014,val2014}.txt  cls_labels.npy

    ``label_source`` is 'npy' (default) or 'mask' (COCO has no VOC XML). ICAM's lists keep images without
    objects (all-zero labels); pass ``allow_empty_labels=True`` to keep them (the coco14 base config does).
    """
    METAINFO = dict(classes=COCO_CLASSES, palette=voc_palette(len(COCO_CLASSES)))

    def __init__(self, data_prefix: dict = dict(img_path='train2014', seg_map_path='SegmentationClass'),
                 label_source='npy', **kwargs) -> None:
        if label_source == 'xml':
            raise ValueError("WSSSCOCODataset: label_source='xml' is not available for COCO (use 'npy' or "
                             "'mask')")
        super().__init__(data_prefix=data_prefix, label_source=label_source, **kwargs)
