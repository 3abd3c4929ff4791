# RTC on ResNet-38 (ChunyanWang1/RTC network/resnet38_contrast.py + contrast_train.py; shared/specs/rtc.md §2-3).
model = dict(
    type='RTC',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],  # ImageNet RGB mean/std on 0..255 (RTC Normalize)
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255),
    backbone=dict(
        type='ResNet38',
        out_features=('conv3', 'conv4', 'conv5', 'conv6'),  # RTC forward_as_dict taps
        dropout=(0.3, 0.5),  # Dropout2d in b6 / b7, active in training
        frozen_stages=1,  # conv1a, b2, b2_1, b2_2 frozen (RTC not_training)
        norm_eval=True,  # every BN in eval mode with ImageNet statistics ...
        freeze_bn=True,  # ... and frozen affine parameters (RTC's Net.train override)
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/resnet38_ilsvrc-cls_rna-a1.pth')),
    # projection (256) + 21-way CAM classifier on it + FCM (two-feature PCM)
    decode_head=dict(
        type='RTCCAMHead',
        in_channels=(512, 1024, 4096),
        in_index=(1, 2, 3),
        channels=256,
        num_classes=21,  # incl. background: channel 0 of classifier1 is dead, as in RTC
        aff_channels=(64, 128, 128, 128, 64),
        dropout_ratio=0.5,  # dropout7 on conv6
        f9_gains=(4.0, 1.0),
        with_unused_fc8=False),  # RTC's dead fc8 (4352->4096, no gradient); the converter drops it
    seg_head=dict(
        type='RTCSegHead',
        in_channels=(256, 4096),
        in_index=(0, 3),
        mid_channels=512,
        channels=256,
        low_channels=48,
        num_classes=21,
        dilation=12,
        loss_seg=dict(type='BalancedMaskCELoss', loss_weight=1.0)),
    refiner=dict(type='VARM', num_iter=10, dilations=(1, 2, 4, 8, 12, 24)),
    loss_cls=dict(type='MultiLabelSoftMarginLoss', loss_weight=1.0),
    loss_nce=dict(type='PrototypeInfoNCELoss', temperature=0.1, loss_weight=0.1),
    loss_struct=dict(type='WTAStructLoss', ratio=0.8, loss_weight=1.0),
    train_cfg=dict(
        view2_size=(128, 128),  # img2 = bilinear(img1, 128x128, align_corners=True)
        contrast_bg_score=0.2,  # --bg_threshold of the contrast pseudo labels
        topk_divisor=8,  # k = 16*16/8 = 32 prototype positions per class
        ecr_ratio=0.2,
        seg_bg_scores=(0.55, 0.20),  # refine_cams_with_bkg_v1 high / low background scores
        seg_refine_down_scale=2,  # VARM at 224x224
        seg_begin=7,  # loss_seg from 0-based epoch index 7 on (contrast_train.py `if ep >= 7`)
        seg_by_epoch=True,
        gather_prototypes=True,  # multi-GPU: prototypes over the whole (global) batch, as DataParallel
        log_class_relation=True),  # logged only, never optimised (as in RTC)
    # contrast_infer.py: seg branch, scales 0.5/1/1.5/2 with flips, background score 0.17, no label gating
    test_cfg=dict(scales=(0.5, 1.0, 1.5, 2.0), flip=True, bg_threshold=0.17, gate='none', crf=None))
