# RTC single-stage training (ChunyanWang1/RTC contrast_train.py, README command; shared/specs/rtc.md §3-5),
# faithful recipe: ResNet-38 from the converted ImageNet weights, train_aug (10,582) with image labels only,
# random long side 448..768 (PIL bicubic), flip, colour jitter, crop 448 (padding = mean colour), batch 8
# (4 GPUs x 2; prototypes are gathered over the 8 images, as the original's DataParallel batch), 8 epochs,
# lr 0.01 with poly decay (power 0.9) per iteration, parameter groups x1 / x2 / x10 / x20, BN frozen,
# conv1a + b2* frozen; loss_seg from 0-based epoch index 7 (the last epoch).
# Convert the backbone weights first:
#   python tools/model_converters/mxnet2mmwsss.py ilsvrc-cls_rna-a1_cls1000_ep-0001.params \
#       pretrain/resnet38_ilsvrc-cls_rna-a1.pth --arch resnet38
# Train:  tools/dist_train.sh configs/rtc/rtc_res38_4xb2-8e_voc12wsss-448x448.py 4
#         (one GPU: rtc_res38_1xb8-8e_voc12wsss-448x448.py)
# Test:   python tools/test.py configs/rtc/rtc_res38_4xb2-8e_voc12wsss-448x448.py CKPT   (val, MS+flip, bg 0.17)
#         + CRF: --cfg-options model.test_cfg.crf=rtc  (or the _crf config)
_base_ = [
    '../_base_/models/rtc_res38.py', '../_base_/datasets/voc12_wsss.py', 'mmseg::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
default_scope = 'mmseg'

crop_size = 448
num_gpus = 4  # the "4x" of the file name; total batch = num_gpus x train_dataloader.batch_size = 8
train_pipeline = [
    dict(type='LoadWSSSImageFromFile'),
    dict(type='RandomResizeLong', min_long=448, max_long=768),  # RTC / SEAM: RandomResizeLong(448, 768)
    dict(type='WSSSRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PhotoMetricJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
    dict(type='RandomCropPad', crop_size=crop_size, img_pad_val={{_base_.imagenet_pad_val_bgr}}),  # records crop_box
    dict(type='PackWSSSInputs'),
]
model = dict(data_preprocessor=dict(size=(crop_size, crop_size)))
train_dataloader = dict(batch_size=2, num_workers=4, drop_last=True, dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    # QUIRK (RTC tool/torchutils.py PolyOptimizer, inherited from psa/SEAM): the weight decay is passed
    # positionally into torch.optim.SGD's momentum slot, so the momentum actually used is 5e-4 (practically
    # plain SGD). Reproduced on purpose; ..._momentum0.9.py is the corrected variant.
    optimizer=dict(type='SGD', lr=0.01, momentum=5e-4, weight_decay=5e-4),
    # RTC get_parameter_groups: pretrained weights x1 (wd), pretrained biases x2 (no wd; ResNet-38 has none
    # trainable), from-scratch weights x10 (wd: every head conv, incl. the seg branch), from-scratch biases
    # x20 (no wd: fc8_seg_conv1/2). Frozen tensors sit in the groups without ever getting a gradient.
    paramwise_cfg=dict(
        custom_keys={
            'decode_head': dict(lr_mult=10.0),
            'seg_head': dict(lr_mult=10.0),
            'seg_head.fc8_seg_conv1.bias': dict(lr_mult=20.0, decay_mult=0.0),
            'seg_head.fc8_seg_conv2.bias': dict(lr_mult=20.0, decay_mult=0.0),
        }))
# lr = 0.01 * (1 - it / max_it) ** 0.9 set before every iteration; max_it = floor(10582 / 8) * 8 in RTC
# (here per rank: floor(ceil(10582 / 4) / 2) = 1323 iterations per epoch)
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=8, by_epoch=True, convert_to_iter_based=True)
]
# RTC validates (classification mAP, logs only) and saves a checkpoint after every epoch index > 6
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=8, val_begin=8, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, save_begin=8),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
log_processor = dict(by_epoch=True)
# the seg branch gets no gradient before epoch index 7: DDP must tolerate unused parameters
find_unused_parameters = True  # read by mmengine's default DDP wrapper (and the CPU/gloo launch)
auto_scale_lr = dict(enable=False, base_batch_size=8)
randomness = dict(seed=1)  # contrast_train.py set_seed(1)

# Pseudo-masks for the two-stage path (contrast_infer.py on train_aug: seg-branch scores of all 20 classes,
# no label gating):  python tools/gen_pseudo.py CONFIG CKPT --split train_aug --out-dir OUT --masks thr:0.17 lcrf:0.17
# (thr:0.17 = --out_cam_pred; lcrf:0.17 = --out_crf, the label-unary CRF of the 'rtc' preset)
gen_pseudo_dataset = dict(
    type='WSSSVOCDataset',
    data_root='data/VOCdevkit/VOC2012',
    ann_file='ImageSets/Segmentation/train_aug.txt',
    data_prefix=dict(img_path='JPEGImages'),
    label_source='npy',
    cls_labels_file='cls_labels.npy',
    load_seg_map=False,
    pipeline=[dict(type='LoadWSSSImageFromFile'), dict(type='PackWSSSInputs')])
