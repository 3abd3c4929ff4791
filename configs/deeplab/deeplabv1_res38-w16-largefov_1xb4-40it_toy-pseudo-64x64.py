# DeepLab-v1 LargeFOV on the toy data set, for a CPU in seconds (CI): the components and recipe of
# deeplabv1_res38-largefov_1xb10-20k_voc-pseudo-448x448.py with everything scaled down -- ResNet-38 at 1/16
# width from random weights (no ImageNet file), head 32 channels with dilation 2 (the 8x8 feature map of a
# 64 crop), batch 4, 40 iterations, lr 0.01 (from scratch).
#   python tools/dataset_converters/make_toy_voc.py data/toy_voc
#   PSEUDO_DIR=/abs/path/to/toy/pseudo_masks python tools/train.py THIS_CONFIG
_base_ = [
    '../_base_/models/deeplabv1_res38-largefov.py', '../_base_/datasets/toy_pseudo.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_20k.py'
]
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
default_scope = 'mmseg'

max_iters = 40
model = dict(
    data_preprocessor=dict(size=(64, 64)),
    backbone=dict(width_divisor=16, init_cfg=None),
    decode_head=dict(in_channels=256, channels=32, fov_dilation=2, num_classes=6))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={
        'decode_head': dict(lr_mult=10.0),
        'decode_head.conv_seg.bias': dict(lr_mult=20.0, decay_mult=0.0)
    }))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters + 2, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters))
randomness = dict(seed=1)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
tta_model = dict(type='CRFSegTTAModel', merge='logits', crf=dict(preset='deeplab-v1'))
