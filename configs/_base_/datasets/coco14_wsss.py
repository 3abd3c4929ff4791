# COCO 2014 for WSSS (mmwsss WSSSCOCODataset; icam.md §1.2). Prepare with
#   python tools/dataset_converters/coco2wsss.py data/coco2014/annotations/instances_train2014.json \
#       data/coco2014/annotations/instances_val2014.json --out-dir data/coco2014
# layout (data/coco2014): train2014/, val2014/ (official images), SegmentationClass/<name>.png (0 = bg,
# 1..80, no 255 -- ICAM), ImageSets/{train2014,val2014}.txt, cls_labels.npy.
# Normalisation: see voc12_wsss.py (ImageNet mean/std in the data preprocessor, mean-coloured crop padding).
dataset_type = 'WSSSCOCODataset'
data_root = 'data/coco2014'
crop_size = 448
num_classes = 81

imagenet_mean = [123.675, 116.28, 103.53]
imagenet_std = [58.395, 57.12, 57.375]
# size: stack_batch needs a fixed size (or size_divisor) in training; the crops already have it
data_preprocessor = dict(
    type='SegDataPreProcessor', mean=imagenet_mean, std=imagenet_std, bgr_to_rgb=True, pad_val=0,
    seg_pad_val=255, size=(crop_size, crop_size))
imagenet_pad_val_bgr = imagenet_mean[::-1]

# ICAM's CAM augmentation (icam.md §4.1): RandomResizeLong(448, 768), flip, ColorJitter, crop 448
train_pipeline = [
    dict(type='LoadWSSSImageFromFile'),  # PIL decoding like psa (imdecode_backend='cv2' for ICD)
    dict(type='RandomResizeLong', min_long=448, max_long=768),
    dict(type='WSSSRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PhotoMetricJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
    dict(type='RandomCropPad', crop_size=crop_size, img_pad_val=imagenet_pad_val_bgr),
    dict(type='PackWSSSInputs'),
]
test_pipeline = [
    dict(type='LoadWSSSImageFromFile'),
    dict(type='LoadWSSSAnnotations', num_classes=num_classes),
    dict(type='PackWSSSInputs'),
]
cam_scales = [1.0, 0.5, 1.5, 2.0]
cam_infer_pipeline = [
    dict(type='LoadWSSSImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='PILRescale', scale_factor=s) for s in cam_scales],
            [dict(type='WSSSRandomFlip', prob=0., direction='horizontal'),
             dict(type='WSSSRandomFlip', prob=1., direction='horizontal')],
            [dict(type='PackWSSSInputs')],
        ]),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/train2014.txt',
        data_prefix=dict(img_path='train2014'),
        label_source='npy',
        cls_labels_file='cls_labels.npy',
        load_seg_map=False,
        # ICAM's lists hold every image, ~1 % without any object; faithful: keep them (all-zero labels)
        allow_empty_labels=True,
        pipeline=train_pipeline))
eval_val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/val2014.txt',
        data_prefix=dict(img_path='val2014', seg_map_path='SegmentationClass'),
        label_source='npy',
        cls_labels_file='cls_labels.npy',
        load_seg_map=True,
        allow_empty_labels=True,
        pipeline=test_pipeline))
val_dataloader = eval_val_dataloader
test_dataloader = eval_val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
