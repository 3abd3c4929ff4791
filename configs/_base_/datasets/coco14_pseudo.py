# Final fully-supervised stage on COCO 2014 pseudo-masks (ICAM config_coco2014.py: icam.md §4.2, §5.3, §6).
# Same structure as voc12_pseudo.py (read it for the pseudo-mask location, the mask check and the augmentation
# approximations). Layout (tools/dataset_converters/coco2wsss.py): data/coco2014/{train2014,val2014}/,
# SegmentationClass/ (GT, 0 = bg, 1..80, no 255), ImageSets/{train2014,val2014}.txt. ICAM trains on the train2014
# list (DATA_AUG False) and tests on val2014 (40,504 images).
dataset_type = 'PseudoMaskDataset'
data_root = 'data/coco2014'
pseudo_dir = '{{$PSEUDO_DIR:pseudo_masks}}'
crop_size = 448
num_classes = 81
# mmwsss.datasets.COCO_CLASSES (label value i = i-th category in ascending COCO id order); configs cannot import it
coco_classes = (
    'background', 'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep',
    'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
    'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
    'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich',
    'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed',
    'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven',
    'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',)

imagenet_mean = [123.675, 116.28, 103.53]
imagenet_pad_val_bgr = imagenet_mean[::-1]

# YudeWang weak augmentation (see voc12_pseudo.py)
train_pipeline = [
    dict(type='LoadWSSSImageFromFile', imdecode_backend='cv2'),
    dict(type='LoadWSSSAnnotations', num_classes=num_classes),
    # deeplab_final.md §3: RandomHSV(10, 10, 10) -> flip 0.5 -> RandomScale U(0.5, 1.5) -> crop
    dict(type='RandomHSVShift', h_delta=10, s_delta=10, v_delta=10),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomScaleFactor', min_scale=0.5, max_scale=1.5, interpolation='bicubic'),
    dict(type='RandomCropPad', crop_size=crop_size, img_pad_val=imagenet_pad_val_bgr),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadWSSSImageFromFile', imdecode_backend='cv2'),
    dict(type='LoadWSSSAnnotations', num_classes=num_classes),
    dict(type='PackSegInputs'),
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadWSSSImageFromFile', imdecode_backend='cv2'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale_factor=r, keep_ratio=True, interpolation='bicubic') for r in img_ratios],
            [dict(type='RandomFlip', prob=0., direction='horizontal'),
             dict(type='RandomFlip', prob=1., direction='horizontal')],
            [dict(type='LoadWSSSAnnotations', num_classes=num_classes)],
            [dict(type='PackSegInputs')],
        ]),
]

train_dataloader = dict(
    batch_size=10,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        pseudo_dir=pseudo_dir,
        ann_file='ImageSets/train2014.txt',
        data_prefix=dict(img_path='train2014'),
        metainfo=dict(classes=coco_classes),
        check_masks=True,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='WSSSCOCODataset',
        data_root=data_root,
        ann_file='ImageSets/val2014.txt',
        data_prefix=dict(img_path='val2014', seg_map_path='SegmentationClass'),
        label_source=None,
        load_seg_map=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']), dict(type='ContourFScore', bound_th=0.008)]
