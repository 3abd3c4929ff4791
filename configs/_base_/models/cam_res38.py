# CAM baseline on ResNet-38 (psa resnet38_cls; affinitynet.md §2, §2.4).
model = dict(
    type='CAMSegmentor',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],  # ImageNet RGB mean/std on 0..255 (psa Normalize)
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255),
    backbone=dict(
        type='ResNet38',
        out_features=('conv6', ),
        dropout=(0.3, 0.5),  # Dropout2d in b6 / b7 (psa)
        frozen_stages=1,  # conv1a, b2, b2_1, b2_2 frozen (psa Net.train)
        freeze_bn=True,  # every BN in eval mode with frozen affine parameters, in training too (psa)
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/resnet38_ilsvrc-cls_rna-a1.pth')),
    decode_head=dict(
        type='CAMHead', in_channels=4096, num_classes=20, dropout_ratio=0.5,
        loss_cls=dict(type='MultiLabelSoftMarginLoss', loss_weight=1.0)),
    # CAM -> mask during validation: psa out_cam_pred (background 0.2, GT image labels gate the classes).
    # Single scale here to keep validation cheap; tools/gen_pseudo.py uses the psa scales + flip.
    test_cfg=dict(scales=(1.0, ), flip=False, bg_threshold=0.2, gate='gt'))
