from mmseg.registry import DATASETS

from .wsss_base import BaseWSSSDataset

VOC_CLASSES = ('background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
               'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa',
               'train', 'tvmonitor')

VOC_PALETTE = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128], [128, 0, 128], [0, 128, 128],
               [128, 128, 128], [64, 0, 0], [192, 0, 0], [64, 128, 0], [192, 128, 0], [64, 0, 128],
               [192, 0, 128], [64, 128, 128], [192, 128, 128], [0, 64, 0], [128, 64, 0], [0, 192, 0],
               [128, 192, 0], [0, 64, 128]]


@DATASETS.register_module()
class WSSSVOCDataset(BaseWSSSDataset):
    """PASCAL VOC 2012 + SBD in the WSSS convention (affinitynet.md §1, anchors.md §C.3).

    One id list per split -- ``train_aug.txt`` (10,582), ``train.txt`` (1,464), ``val.txt`` (1,449) -- not
    mmseg's ``train + aug`` concatenation. Layout under ``data_root`` (``data/VOCdevkit/VOC2012``)::

        JPEGImages/<id>.jpg  SegmentationClassAug/<id>.png  Annotations/<id>.xml
        ImageSets/Segmentation/{train_aug,train,val}.txt   cls_labels.npy (psa's, 12,031 ids)

    Image-level labels: ``label_source='npy'`` (psa's ``cls_labels.npy``, default), ``'xml'`` (the
    ``<name>`` tags of Annotations/<id>.xml that are class names -- how psa built ``cls_labels.npy``) or
    ``'mask'`` (values of the segmentation mask). Label value c (1..20) = ``VOC_CLASSES[c]``; the label
    vector's index c-1. Set ``load_seg_map=False`` for a classifier's training split. See
    :class:`BaseWSSSDataset` for all arguments.
    """
    METAINFO = dict(classes=VOC_CLASSES, palette=VOC_PALETTE)
