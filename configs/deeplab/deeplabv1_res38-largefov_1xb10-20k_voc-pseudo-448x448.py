# DeepLab-v1 LargeFOV (YudeWang code base) on ResNet-38, trained on pseudo-masks of VOC train_aug: the final stage
# of ICAM (config_voc2012.py, train_final.py / eval_final.py) and of RTC's RTC_deeplabv1_resnet38
# (deeplab_final.md §1-3; icam.md §4.2, §5.3).
#   train: crop 448, batch 10 on 1 GPU, 20,000 iterations, SGD lr 1e-3 momentum 0.9 wd 5e-4, poly 0.9,
#          head weights x10, head bias x20 without weight decay, ImageNet ResNet-38 (MXNet A1) init
#   test:  6 scales 0.5..1.75 x flip, logits averaged, softmax, dense CRF (1 iteration, Gaussian 3/3,
#          bilateral 32/13/10) -> mIoU on val (1,449)
#
#   PSEUDO_DIR=/abs/path/to/pseudo_masks python tools/train.py THIS_CONFIG
#   python tools/test.py THIS_CONFIG work_dirs/.../iter_20000.pth --tta               # MS + flip + CRF
#   python tools/test.py THIS_CONFIG CKPT [--crf deeplab-v1]                            # single scale (+ CRF)
# Released weights (ICAM final.pth):
#   python tools/model_converters/original2mmwsss.py final.pth icam_final_mmwsss.pth --model icam-final
# ICAM additionally adds 0.5 x its feature-similarity loss during training (icam.md §3.2); it is not part of
# this plain DeepLab-v1 recipe.
_base_ = [
    '../_base_/models/deeplabv1_res38-largefov.py', '../_base_/datasets/voc12_pseudo.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_20k.py'
]
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
default_scope = 'mmseg'

max_iters = 20000
model = dict(data_preprocessor=dict(size=(448, 448)), decode_head=dict(num_classes=21))
train_dataloader = dict(batch_size=10)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4),
    # YudeWang parameter groups: backbone conv weights x1; from-scratch (head) conv weights x10; from-scratch
    # biases x20 without weight decay (only conv_seg has a bias). BN parameters are frozen (not optimised).
    # mmengine applies the longest matching key and then skips bias_lr_mult, hence the explicit bias key.
    paramwise_cfg=dict(custom_keys={
        'decode_head': dict(lr_mult=10.0),
        'decode_head.conv_seg.bias': dict(lr_mult=20.0, decay_mult=0.0)
    }))
# YudeWang adjust_lr: lr = lr0 * (1 - it / (max_itr + 1)) ** 0.9 before iteration it (0-based). mmengine's PolyLR
# gives lr0 * (1 - it / (end - begin - 1)) ** 0.9, so end = max_iters + 2 reproduces the original exactly.
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters + 2, by_epoch=False)]
# no validation during training in the original; one single-scale check at the end
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000, max_keep_ckpts=2))
randomness = dict(seed=1)  # torch / numpy / random seeds 1 in train.py
env_cfg = dict(cudnn_benchmark=False)
tta_model = dict(type='CRFSegTTAModel', merge='logits', crf=dict(preset='deeplab-v1'))
