# The YudeWang "deeplabv2" head (concatenated ASPP) on the toy data set, for a CPU in seconds (CI): the recipe of
# deeplabv2_r101-aspp_1xb10-20k_voc-pseudo-448x448.py scaled down -- the same dilated deep-stem ResNetV1c layout at
# depth 18 with 8 base channels (random weights), ASPP 16 channels with rates 1/2/3/4 (an 8x8 feature map),
# batch 4, 40 iterations, lr 0.01.
_base_ = [
    '../_base_/models/deeplabv2_r101-aspp.py', '../_base_/datasets/toy_pseudo.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_20k.py'
]
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
default_scope = 'mmseg'

max_iters = 40
model = dict(
    data_preprocessor=dict(size=(64, 64)),
    backbone=dict(depth=18, stem_channels=16, base_channels=8, init_cfg=None),
    decode_head=dict(in_channels=64, channels=16, dilations=(1, 2, 3, 4), num_classes=6))
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
