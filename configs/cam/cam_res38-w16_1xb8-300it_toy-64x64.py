# The CAM baseline on the embedded toy data set, sized for a CPU in a few minutes (README demo, tests).
# Same components as cam_res38_1xb16-15e_voc12wsss-448x448.py; the differences all come from training from
# random weights on tiny images in a minute of CPU: ResNet-38 at 1/16 width, BN and the first stage trained
# (psa freezes them because it starts from ImageNet weights), no dropout, AdamW (SGD at this width and length
# barely leaves the label prior on the toy data: train loss 0.49 vs 0.36 after 300 iterations), and an
# iteration-based schedule.
_base_ = [
    '../_base_/models/cam_res38.py', '../_base_/datasets/toy_wsss.py', 'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py'
]
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
default_scope = 'mmseg'

model = dict(
    data_preprocessor=dict(size=(64, 64)),
    backbone=dict(
        width_divisor=16, frozen_stages=-1, freeze_bn=False, norm_eval=False, dropout=(0.0, 0.0), init_cfg=None),
    decode_head=dict(in_channels=256, num_classes=5, dropout_ratio=0.0))
train_dataloader = dict(batch_size=8, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=300, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300, val_interval=150)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=150))
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
