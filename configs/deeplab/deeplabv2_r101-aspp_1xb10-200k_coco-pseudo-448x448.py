# The YudeWang "deeplabv2" (resnet101s + concatenated v2-rate ASPP) on COCO 2014 pseudo-masks, 81 classes.
# No original run exists (RTC trains DeepLab on VOC only): the schedule is ICAM's COCO one (200,000 iterations,
# batch 10, the same lr recipe), an extrapolation.
# Released YudeWang-code-base weights: original2mmwsss.py ... --model yudewang-deeplabv2-r101-coco
_base_ = [
    '../_base_/models/deeplabv2_r101-aspp.py', '../_base_/datasets/coco14_pseudo.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_20k.py'
]
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
default_scope = 'mmseg'

max_iters = 200000
model = dict(data_preprocessor=dict(size=(448, 448)), decode_head=dict(num_classes=81))
train_dataloader = dict(batch_size=10)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4),
    # parameter groups and poly schedule: see deeplabv2_*_voc-pseudo-448x448.py
    paramwise_cfg=dict(custom_keys={
        'decode_head': dict(lr_mult=10.0),
        'decode_head.conv_seg.bias': dict(lr_mult=20.0, decay_mult=0.0)
    }))
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters + 2, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=20000, max_keep_ckpts=2))
randomness = dict(seed=1)
env_cfg = dict(cudnn_benchmark=False)
tta_model = dict(type='CRFSegTTAModel', merge='logits', crf=dict(preset='deeplab-v1'))
