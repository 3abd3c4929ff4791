# AffinityNet on the embedded toy data set, sized for a CPU in seconds (tests, README demo of the full chain
# CAM -> la/ha CRF -> AffinityNet -> random walk). Same components as affinitynet_res38_1xb8-8e_voc12wsss-448x448.py;
# differences, all because the toy run starts from random weights on <= 64 px images: ResNet-38 and heads at
# reduced width, BN and the first stage trained, momentum 0.9, iteration-based schedule, crop 64 (8 x 8 grid)
# and pair radius 3 (radius 5 needs a grid of at least 5 x 9 cells; SEAM/ICAM shrink the radius the same way
# on small grids).
#   python tools/gen_pseudo.py configs/cam/cam_res38-w16_1xb8-300it_toy-64x64.py CAM.pth --split train_aug \
#       --out-dir work_dirs/toy_pseudo --cams-only
#   python tools/gen_pseudo.py configs/cam/cam_res38-w16_1xb8-300it_toy-64x64.py --mode lacrf --split train_aug \
#       --out-dir work_dirs/toy_pseudo
#   python tools/train.py configs/affinitynet/affinitynet_res38-w16_1xb8-40it_toy-64x64.py
#   python tools/gen_pseudo.py configs/affinitynet/affinitynet_res38-w16_1xb8-40it_toy-64x64.py AFF.pth --mode rw \
#       --split train --out-dir work_dirs/toy_pseudo
_base_ = ['./affinitynet_res38_1xb8-8e_voc12wsss-448x448.py']

data_root = 'data/toy_voc'
crop_size = 64
radius = 3
toy_classes = ('background', 'disc', 'square', 'triangle', 'diamond', 'cross')

model = dict(
    data_preprocessor=dict(size=(crop_size, crop_size)),
    backbone=dict(width_divisor=16, frozen_stages=-1, freeze_bn=False, norm_eval=False, init_cfg=None),
    decode_head=dict(in_channels=(32, 64, 256), channels=(16, 32, 64), out_channels=112, radius=radius))
train_pipeline = [
    dict(type='LoadWSSSImageFromFile'),
    dict(type='PhotoMetricJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
    dict(type='RandomCropPad', crop_size=crop_size, img_pad_val=0., map_pad_vals=dict(gt_la_crf=0., gt_ha_crf=0.)),
    dict(type='WSSSRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ExtractAffinityLabels', stride=8, radius=radius),
    dict(type='PackAffinityInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=toy_classes),
        la_crf_dir='work_dirs/toy_pseudo/crf_marginals_a4',
        ha_crf_dir='work_dirs/toy_pseudo/crf_marginals_a32',
        pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=0.01, momentum=0.9))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=40, by_epoch=False)]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=40)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=40))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
gen_pseudo_dataset = dict(
    type='ToyWSSSDataset',
    data_root=data_root,
    ann_file='ImageSets/Segmentation/train.txt')
