# ICAM's COCO final stage (config_coco2014.py; icam.md §4.2): DeepLab-v1 LargeFOV on ResNet-38, 81 classes,
# pseudo-masks of the train2014 list, 200,000 iterations (everything else as the VOC config: crop 448, batch 10,
# lr 1e-3 x1/x10/x20, poly 0.9, 6-scale + flip test with the 1-iteration CRF), tested on val2014.
# Released weights (ICAM COCO final.pth): original2mmwsss.py final.pth out.pth --model icam-final-coco
_base_ = [
    '../_base_/models/deeplabv1_res38-largefov.py', '../_base_/datasets/coco14_pseudo.py',
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
    # parameter groups and poly schedule: see deeplabv1_*_voc-pseudo-448x448.py
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
