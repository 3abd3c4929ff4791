# Final-stage data on the synthetic toy data set (tools/dataset_converters/make_toy_voc.py), structure of
# voc12_pseudo.py scaled to <= 64-px images: pseudo masks from pseudo_dir (PSEUDO_DIR or
# --cfg-options train_dataloader.dataset.pseudo_dir=...), crop 64, test on the toy val split with its GT.
dataset_type = 'PseudoMaskDataset'
data_root = 'data/toy_voc'
pseudo_dir = '{{$PSEUDO_DIR:pseudo_masks}}'
crop_size = 64
num_classes = 6
toy_classes = ('background', 'disc', 'square', 'triangle', 'diamond', 'cross')  # mmwsss.datasets.TOY_CLASSES

imagenet_mean = [123.675, 116.28, 103.53]
imagenet_pad_val_bgr = imagenet_mean[::-1]

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
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    drop_last=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        pseudo_dir=pseudo_dir,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(img_path='JPEGImages'),
        metainfo=dict(classes=toy_classes),
        check_masks=True,
        check_nproc=1,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ToyWSSSDataset',
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        label_source=None,
        load_seg_map=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']), dict(type='ContourFScore', bound_th=0.008)]
