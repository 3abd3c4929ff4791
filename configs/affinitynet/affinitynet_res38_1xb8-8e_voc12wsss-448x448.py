# psa's AffinityNet (jiwoon-ahn/psa train_aff.py README command; affinitynet.md §2.4, §4.3-4.4), faithful recipe:
# ResNet-38 from the converted ImageNet weights (conv1a/b2* and every BN frozen), heads f8_3/f8_4/f8_5/f9 from
# scratch, train_aug with pair labels from the la/ha CRF marginals of the CAM stage, no rescaling, colour
# jitter, random crop 448 (black padding), flip, batch 8 on one GPU, 8 epochs, lr 0.1 (README default), heads
# x10, weight decay 5e-4, poly decay power 0.9 per iteration. SEAM/SBNet/ICAM train the same network with
# lr 0.01 and their own la/ha alphas (sbnet.md B.7, icam.md §4.1).
#
# Stage inputs (CAMs of the CAM stage, then their la/ha CRF marginals at alpha 4 / 32):
#   python tools/gen_pseudo.py configs/cam/cam_res38_1xb16-15e_voc12wsss-448x448.py CAM.pth --split train_aug \
#       --out-dir work_dirs/psa_pseudo --scales 1.0 0.5 1.5 2.0 --flip --cams-only
#   python tools/gen_pseudo.py configs/cam/cam_res38_1xb16-15e_voc12wsss-448x448.py --mode lacrf --la-ha psa \
#       --split train_aug --out-dir work_dirs/psa_pseudo --workers 8
# Training:  python tools/train.py configs/affinitynet/affinitynet_res38_1xb8-8e_voc12wsss-448x448.py
# Random walk (psa infer_aff.py: alpha 16, beta 8, logt 8; writes work_dirs/psa_pseudo/rw_a16_b8_logt8/):
#   python tools/gen_pseudo.py configs/affinitynet/affinitynet_res38_1xb8-8e_voc12wsss-448x448.py AFF.pth \
#       --mode rw --split train_aug --out-dir work_dirs/psa_pseudo
# psa's released res38_aff.pth: tools/model_converters/original2mmwsss.py res38_aff.pth AFF.pth --model psa-res38-aff
_base_ = ['mmseg::_base_/default_runtime.py']
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
default_scope = 'mmseg'

data_root = 'data/VOCdevkit/VOC2012'
crop_size = 448
radius = 5  # pair radius on the stride-8 grid ("gamma = 5"; hard-coded in psa's resnet38_aff.py)
la_crf_dir = 'work_dirs/psa_pseudo/crf_marginals_a4'  # low alpha: confident foreground
ha_crf_dir = 'work_dirs/psa_pseudo/crf_marginals_a32'  # high alpha: confident background

model = dict(
    type='AffinityNet',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],  # ImageNet RGB mean/std on 0..255 (psa Normalize)
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(crop_size, crop_size)),
    backbone=dict(
        type='ResNet38',
        out_features=('conv4', 'conv5', 'conv6'),  # psa forward_as_dict taps
        dropout=(0.3, 0.5),  # Dropout2d in b6 / b7, active in training (psa)
        frozen_stages=1,  # conv1a, b2, b2_1, b2_2 frozen (psa Net.train)
        freeze_bn=True,  # every BN in eval mode with frozen affine parameters, in training too (psa)
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/resnet38_ilsvrc-cls_rna-a1.pth')),
    decode_head=dict(
        type='AffinityHead',
        in_channels=(512, 1024, 4096),
        channels=(64, 128, 256),  # f8_3, f8_4, f8_5
        out_channels=448,  # f9
        radius=radius,
        loss_aff=dict(type='AffinityLoss', term_weights=(0.25, 0.25, 0.5), eps=1e-5)),
    # random walk (psa infer_aff.py defaults): background (1 - max cam) ** 16, affinities ** 8, t = 2 ** 8
    test_cfg=dict(alpha=16, beta=8, logt=8, method='stencil', stride=8))

train_pipeline = [
    dict(type='LoadWSSSImageFromFile'),  # original resolution: psa does not rescale here
    dict(type='PhotoMetricJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
    # psa crops the uint8 image jointly with the marginals into a zero container and normalises afterwards:
    # the image padding is black (img_pad_val=0), the marginals' padding 0 (-> ignored pairs)
    dict(type='RandomCropPad', crop_size=crop_size, img_pad_val=0., map_pad_vals=dict(gt_la_crf=0., gt_ha_crf=0.)),
    dict(type='WSSSRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ExtractAffinityLabels', stride=8, radius=radius),
    dict(type='PackAffinityInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='AffinityCRFDataset',
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(img_path='JPEGImages'),
        la_crf_dir=la_crf_dir,
        ha_crf_dir=ha_crf_dir,
        pipeline=train_pipeline))
# no validation: psa has none for this stage; evaluate the random-walk masks with tools/eval_pseudo.py
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None

optim_wrapper = dict(
    type='OptimWrapper',
    # QUIRK (psa tool/torchutils.py PolyOptimizer, jiwoon-ahn/psa#28): the weight decay is passed positionally
    # into torch.optim.SGD's momentum slot, so the momentum actually used is 5e-4 (practically none).
    # Reproduced on purpose; affinitynet_res38_1xb8-8e_voc12wsss-448x448_momentum0.9.py is the corrected variant.
    optimizer=dict(type='SGD', lr=0.1, momentum=5e-4, weight_decay=5e-4),
    # psa parameter groups: backbone weights x1, heads (from_scratch_layers f8_3, f8_4, f8_5, f9) x10; no biases
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
# lr = lr0 * (1 - it / max_it) ** 0.9 every iteration, max_it = floor(10582 / 8) * 8 = 10576
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=8, by_epoch=True, convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=8)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=8),  # psa saves once, at the end
    sampler_seed=dict(type='DistSamplerSeedHook'))
log_processor = dict(by_epoch=True)

# images to refine with tools/gen_pseudo.py --mode rw (full resolution, no resizing; --split picks the list)
gen_pseudo_dataset = dict(
    type='WSSSVOCDataset',
    data_root=data_root,
    ann_file='ImageSets/Segmentation/train_aug.txt',
    data_prefix=dict(img_path='JPEGImages'),
    label_source=None,
    load_seg_map=False,
    pipeline=[dict(type='LoadWSSSImageFromFile'), dict(type='PackWSSSInputs')])
