# The synthetic toy data set (tools/dataset_converters/make_toy_voc.py; VOC layout, 5 classes + background):
#   python tools/dataset_converters/make_toy_voc.py data/toy_voc --num-images 240 --size 96 --seed 0
# Same structure as voc12_wsss.py with everything scaled down: psa's long side 256..512 with crop 448 on
# ~500 px images becomes 48..96 with crop 64 on <= 96 px toy images.
dataset_type = 'ToyWSSSDataset'
data_root = 'data/toy_voc'
crop_size = 64
num_classes = 6

imagenet_mean = [123.675, 116.28, 103.53]
imagenet_std = [58.395, 57.12, 57.375]
# size: stack_batch needs a fixed size (or size_divisor) in training; the crops already have it
data_preprocessor = dict(
    type='SegDataPreProcessor', mean=imagenet_mean, std=imagenet_std, bgr_to_rgb=True, pad_val=0,
    seg_pad_val=255, size=(crop_size, crop_size))
icd_mean = [127.0, 127.0, 127.0]
icd_data_preprocessor = dict(
    type='SegDataPreProcessor', mean=icd_mean, std=[1.0, 1.0, 1.0], bgr_to_rgb=True, pad_val=0,
    seg_pad_val=255, size=(crop_size, crop_size))
imagenet_pad_val_bgr = imagenet_mean[::-1]
icd_pad_val_bgr = icd_mean[::-1]

train_pipeline = [
    dict(type='LoadWSSSImageFromFile'),  # PIL decoding like psa (imdecode_backend='cv2' for ICD)
    dict(type='RandomResizeLong', min_long=40, max_long=64),
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
    num_workers=2,
    persistent_workers=False,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(img_path='JPEGImages', xml_path='Annotations'),
        label_source='npy',
        cls_labels_file='cls_labels.npy',
        load_seg_map=False,
        pipeline=train_pipeline))
eval_train_dataloader = dict(
    batch_size=1,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        label_source='npy',
        cls_labels_file='cls_labels.npy',
        load_seg_map=True,
        pipeline=test_pipeline))
eval_val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        label_source='npy',
        cls_labels_file='cls_labels.npy',
        load_seg_map=True,
        pipeline=test_pipeline))
# as voc12_wsss.py: val = the 'train' split (CAM / pseudo-mask quality), test = the 'val' split
val_dataloader = eval_train_dataloader
test_dataloader = eval_val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
