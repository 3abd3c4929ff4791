# PASCAL VOC 2012 + SBD in the WSSS convention (mmwsss WSSSVOCDataset; affinitynet.md §1, §4.2, §5.1).
#
# data_root layout (data/VOCdevkit/VOC2012): JPEGImages/, SegmentationClassAug/ (SBD-augmented GT),
# Annotations/, ImageSets/Segmentation/{train_aug,train,val}.txt (bare ids or psa's list lines; copy psa's
# voc12/train_aug.txt there), cls_labels.npy (psa's voc12/cls_labels.npy, 12,031 ids = train_aug + val).
# NOT mmseg's pascal_voc12_aug.py split (train + aug concatenation; anchors.md §C.3).
#
# Normalisation happens in the model's data preprocessor (mmseg convention). The psa crop pads with the
# preprocessor mean (in the pipeline's BGR order) so that padding normalises to exactly 0 -- the same tensor
# as psa's normalise-then-zero-pad (tests/test_datasets/test_transforms.py proves it).
dataset_type = 'WSSSVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = 448
num_classes = 21

# ImageNet mean/std, RGB, 0..255 scale: psa, SEAM, SC-CAM, SBNet, ICAM, RTC (x/255 - m)/s == (x - 255m)/(255s)
imagenet_mean = [123.675, 116.28, 103.53]
imagenet_std = [58.395, 57.12, 57.375]
# size: stack_batch needs a fixed size (or size_divisor) in training; the crops already have it
data_preprocessor = dict(
    type='SegDataPreProcessor', mean=imagenet_mean, std=imagenet_std, bgr_to_rgb=True, pad_val=0,
    seg_pad_val=255, size=(crop_size, crop_size))
# ICD (icd.md §2.1, §4): RGB - 127, no std; its crop pads with 127 (-> 0 after the subtraction)
icd_mean = [127.0, 127.0, 127.0]
icd_data_preprocessor = dict(
    type='SegDataPreProcessor', mean=icd_mean, std=[1.0, 1.0, 1.0], bgr_to_rgb=True, pad_val=0,
    seg_pad_val=255, size=(321, 321))
# RandomCropPad fill value = preprocessor mean in the pipeline's channel order (BGR) -> 0 after normalising
imagenet_pad_val_bgr = imagenet_mean[::-1]
icd_pad_val_bgr = icd_mean[::-1]

# psa train_cls augmentation (affinitynet.md §4.2); RTC / SEAM / ICAM use RandomResizeLong(448, 768)
train_pipeline = [
    dict(type='LoadWSSSImageFromFile'),  # PIL decoding like psa (imdecode_backend='cv2' for ICD)
    dict(type='RandomResizeLong', min_long=256, max_long=512),  # PIL bicubic, banker's rounding
    dict(type='WSSSRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PhotoMetricJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
    dict(type='RandomCropPad', crop_size=crop_size, img_pad_val=imagenet_pad_val_bgr),
    dict(type='PackWSSSInputs'),
]
# evaluation of CAMs / pseudo masks / segmentation against pixel GT at the original size
test_pipeline = [
    dict(type='LoadWSSSImageFromFile'),
    dict(type='LoadWSSSAnnotations', num_classes=num_classes),
    dict(type='PackWSSSInputs'),
]
# psa/RTC multi-scale + flip CAM inference (affinitynet.md §5.1): PIL bicubic to (round(W*s), round(H*s));
# TestTimeAug's product order = psa's [s1, s1-flip, s0.5, s0.5-flip, s1.5, ..., s2-flip]
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

# classifier training: train_aug (10,582), labels from cls_labels.npy, NO pixel GT (load_seg_map=False)
train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(img_path='JPEGImages', xml_path='Annotations'),
        label_source='npy',  # or 'xml' (psa's make_cls_labels rule) / 'mask'
        cls_labels_file='cls_labels.npy',
        load_seg_map=False,
        pipeline=train_pipeline))

# train (1,464): where WSSS papers report CAM / pseudo-mask mIoU
eval_train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
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
# val (1,449): segmentation mIoU
eval_val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
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

# mmengine has one val and one test loop: val = train (1,464) for CAM / pseudo-mask quality, test = val
# (1,449). Swap in a method config if needed (e.g. val_dataloader = eval_val_dataloader).
val_dataloader = eval_train_dataloader
test_dataloader = eval_val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
