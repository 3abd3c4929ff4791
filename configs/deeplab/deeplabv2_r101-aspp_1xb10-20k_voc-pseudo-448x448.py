# "DeepLab-v2" of the YudeWang code base (resnet101s + concatenated v2-rate ASPP) trained on pseudo-masks of VOC
# train_aug: RTC's RTC_deeplabv2_resnet101 (deeplab_final.md §1-3). Recipe as the deeplabv1 config (same train.py):
# crop 448, batch 10, 20,000 iterations, SGD lr 1e-3 (head weights x10, head biases x20 without wd), momentum 0.9,
# wd 5e-4, poly 0.9; ImageNet resnet101s init (no MS-COCO pre-training); test 6 scales x flip, logits averaged.
# Test CRF: the reference code base's dense_crf (preset 'deeplab-v1': 1 iteration, 3/3, 32/13/10). RTC's own test
# scripts import CRF functions that do not exist, so RTC's test CRF is unknown (deeplab_final.md §3); 'deeplab-v2'
# (kazuto1011: 10 iterations, 1/3, 67/3/4) is the other plausible reading: tools/test.py ... --tta --crf deeplab-v2.
#
#   python tools/model_converters/original2mmwsss.py resnet101s-03a0f310.pth \
#       pretrain/resnet101s-03a0f310_mmwsss.pth --model resnet101s-imagenet
#   PSEUDO_DIR=/abs/path/to/pseudo_masks python tools/train.py THIS_CONFIG
#   python tools/test.py THIS_CONFIG CKPT --tta
# Released YudeWang-code-base deeplabv2 weights: original2mmwsss.py ... --model yudewang-deeplabv2-r101
_base_ = [
    '../_base_/models/deeplabv2_r101-aspp.py', '../_base_/datasets/voc12_pseudo.py',
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
    # from scratch = every ASPP conv + cls_conv (x10); only conv_seg has a bias (x20, no wd); BN frozen
    paramwise_cfg=dict(custom_keys={
        'decode_head': dict(lr_mult=10.0),
        'decode_head.conv_seg.bias': dict(lr_mult=20.0, decay_mult=0.0)
    }))
# lr0 * (1 - it / (max_itr + 1)) ** 0.9 exactly (see the deeplabv1 config)
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters + 2, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000, max_keep_ckpts=2))
randomness = dict(seed=1)
env_cfg = dict(cudnn_benchmark=False)
tta_model = dict(type='CRFSegTTAModel', merge='logits', crf=dict(preset='deeplab-v1'))
