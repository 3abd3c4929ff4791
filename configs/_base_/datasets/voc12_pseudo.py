# Final fully-supervised stage on pseudo-masks: PASCAL VOC 2012 train_aug images + pseudo-mask PNGs for training,
# val (1,449) with the pixel GT for testing (deeplab_final.md §1, §3, §5.3; icam.md §4.2, §5.3).
#
# The pseudo masks: single-channel PNGs <id>.png (0 = background, 1..20, 255 = ignore), one per train_aug id,
# of the size of their image. Where they are (absolute, or relative to data_root):
#   * on the command line:  --cfg-options train_dataloader.dataset.pseudo_dir=/path/to/masks
#   * from the environment: PSEUDO_DIR=/path/to/masks python tools/train.py CONFIG
#   * the previous stage writes them, e.g. tools/gen_pseudo.py --out-dir OUT -> OUT/crf_a4, PseudoLabelHook ->
#     <work_dir>/pseudo/final/<spec>.
# PseudoMaskDataset(check_masks=True) scans every mask before training and refuses to start with ONE error
# listing every missing / wrong-size / out-of-range file (tools/check_pseudo_masks.py prints the same report).
dataset_type = 'PseudoMaskDataset'
data_root = 'data/VOCdevkit/VOC2012'
pseudo_dir = '{{$PSEUDO_DIR:pseudo_masks}}'
crop_size = 448
num_classes = 21

imagenet_mean = [123.675, 116.28, 103.53]
# the crop pads the image with the mean (BGR pipeline order) -> exactly 0 after normalisation, as YudeWang's
# normalise-then-zero-pad RandomCrop; masks are padded with 255
imagenet_pad_val_bgr = imagenet_mean[::-1]

# YudeWang BaseDataset.__weak_augment__ (cv2.imread):
#   RandomHSV(10, 10, 10) -> flip 0.5 -> RandomScale U(0.5, 1.5) (image bicubic, mask nearest) -> normalise
#   -> RandomCrop 448 (random placement; pad 0 after normalisation / 255)
# Faithful (deeplab_final.md §3, §5.3): RandomHSVShift = RandomHSV (always applied; integer shifts from
#   np.random.randint(-10, 10), i.e. [-10, 9] -- the original's exclusive upper bound, kept; hue mod 180, S/V
#   clipped), RandomScaleFactor = RandomScale (factor U(0.5, 1.5) of the current size, cv2 bicubic / nearest).
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
# YudeWang test: scales 0.5..1.75 (cv2 bicubic) x {identity, flip} = 12 passes; each pass's logits are resized
# back to the original size (bilinear, align_corners=True -- the head's flag) and un-flipped by the segmentor;
# CRFSegTTAModel(merge='logits') averages the logits, soft-maxes, then (optionally) runs the CRF once.
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
        ann_file='ImageSets/Segmentation/train_aug.txt',  # YudeWang's trainaug.txt (10,582 ids)
        data_prefix=dict(img_path='JPEGImages'),
        check_masks=True,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='WSSSVOCDataset',
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        label_source=None,
        load_seg_map=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']), dict(type='ContourFScore', bound_th=0.008)]
