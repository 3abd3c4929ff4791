# RTC on the embedded toy data set, sized for a CPU (CI):
#   python tools/train.py configs/rtc/rtc_res38-w16_1xb4-30it_toy-64x64.py
# Same components and losses as the VOC recipe;
# differences, all because the toy run starts from random weights on tiny images: ResNet-38 and every
# head at reduced width, BN and the first stages trained, momentum 0.9, iteration-based schedule, crop 64
# with a 32x32 second view (4x4 contrast grid -> k = 2 prototype positions), VARM dilations scaled down,
# and the segmentation loss switched on by ITERATION (seg_by_epoch=False) from iteration 10.
_base_ = [
    '../_base_/models/rtc_res38.py', '../_base_/datasets/toy_wsss.py', 'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py'
]
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
default_scope = 'mmseg'

crop_size = 64
train_pipeline = [
    dict(type='LoadWSSSImageFromFile'),
    dict(type='RandomResizeLong', min_long=64, max_long=110),  # RTC's 448..768 scaled to crop 64
    dict(type='WSSSRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PhotoMetricJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
    dict(type='RandomCropPad', crop_size=crop_size, img_pad_val={{_base_.imagenet_pad_val_bgr}}),
    dict(type='PackWSSSInputs'),
]
model = dict(
    data_preprocessor=dict(size=(crop_size, crop_size)),
    backbone=dict(width_divisor=16, frozen_stages=-1, freeze_bn=False, norm_eval=False, init_cfg=None),
    decode_head=dict(in_channels=(32, 64, 256), channels=16, num_classes=6, aff_channels=(8, 16, 16, 16, 8)),
    seg_head=dict(in_channels=(16, 256), mid_channels=32, channels=16, low_channels=8, num_classes=6, dilation=2),
    refiner=dict(num_iter=10, dilations=(1, 2, 4)),
    train_cfg=dict(view2_size=(32, 32), seg_begin=10, seg_by_epoch=False),
    test_cfg=dict(scales=(1.0, 0.5), flip=True))
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys={
            'decode_head': dict(lr_mult=10.0),
            'seg_head': dict(lr_mult=10.0),
            'seg_head.fc8_seg_conv1.bias': dict(lr_mult=20.0, decay_mult=0.0),
            'seg_head.fc8_seg_conv2.bias': dict(lr_mult=20.0, decay_mult=0.0),
        }))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=30, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=30, val_interval=30)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=30))
# the seg head gets no gradient before seg_begin: DDP must tolerate unused parameters
find_unused_parameters = True  # read by mmengine's default DDP wrapper (and the CPU/gloo launch)
randomness = dict(seed=0)
gen_pseudo_dataset = dict(
    type='ToyWSSSDataset',
    data_root='data/toy_voc',
    ann_file='ImageSets/Segmentation/train.txt',
    data_prefix=dict(img_path='JPEGImages'),
    label_source='npy',
    cls_labels_file='cls_labels.npy',
    load_seg_map=False,
    pipeline=[dict(type='LoadWSSSImageFromFile'), dict(type='PackWSSSInputs')])
