# "DeepLab-v2" as the YudeWang code base defines it (lib/net/deeplabv2.py + lib/net/operators/ASPP.py; RTC's
# RTC_deeplabv2_resnet101): dilated deep-stem ResNet-101 ("resnet101s", output stride 8) + a DeepLab-v3-style
# ASPP with the v2 rates 6/12/18/24 whose branches are CONCATENATED (plus image pooling, 1x1 fusion, two
# dropouts). deeplab_final.md §2.2, §2.3, §5.1-5.2. decode_head.fusion='sum' gives the DeepLab-v2 paper's summed
# ASPP (YudeWang deeplabv2_caffe / kazuto1011) instead.
#
# BN as the original: batch statistics everywhere (norm_eval=False); ResNet-101 BN momentum 0.1, ASPP BN 0.0003;
# BN affine parameters in no optimiser group (requires_grad=False).
model = dict(
    type='CRFEncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255),
    # == PyTorch-Encoding resnet101s (bit-identical after renaming the stem keys, deeplab_final.md §5.1)
    backbone=dict(
        type='ResNetV1c',
        depth=101,
        stem_channels=128,  # 64-64-128 deep stem (the default 64 is open-mmlab's resnet101_v1c, another net)
        num_stages=4,
        out_indices=(3, ),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        contract_dilation=True,
        style='pytorch',
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=False,
        # python tools/model_converters/original2mmwsss.py resnet101s-03a0f310.pth \
        #     pretrain/resnet101s-03a0f310_mmwsss.pth --model resnet101s-imagenet
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/resnet101s-03a0f310_mmwsss.pth', prefix='backbone.')),
    decode_head=dict(
        type='ASPPV2Head',
        in_channels=2048,
        in_index=-1,
        channels=256,  # MODEL_ASPP_OUTDIM
        dilations=(6, 12, 18, 24),
        fusion='concat',
        with_global=True,  # MODEL_ASPP_HASGLOBAL
        fusion_dropout_ratio=0.5,
        dropout_ratio=0.5,
        dropout_layer='Dropout',
        num_classes=21,
        norm_cfg=dict(type='BN', momentum=0.0003, requires_grad=False),
        align_corners=True,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole', crf=None))
