# DeepLab-v1 "LargeFOV" on ResNet-38 as the YudeWang code base defines it (lib/net/deeplabv1.py; the final stage
# of ICAM and RTC): deeplab_final.md §2.1, §2.3, §3; icam.md §2.4.
#
# BN, exactly as the original trains it (train.py never calls .train(), so psa's freezing override is inactive):
# every BN of the backbone and the head uses batch statistics (norm_eval=False) with momentum 0.0003 (PyTorch
# convention), and the BN affine parameters are in no optimiser group, i.e. frozen at their initial values
# (ImageNet for the backbone, 1/0 for the head): freeze_bn=True / requires_grad=False. conv1a and b2* train.
model = dict(
    type='CRFEncoderDecoder',  # mmseg EncoderDecoder + optional test CRF (test_cfg.crf)
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],  # ImageNet RGB mean/std on 0..255 (YudeWang ImageNorm)
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255),
    backbone=dict(
        type='ResNet38',
        out_features=('conv6', ),  # YudeWang: backbone(x)[-1] of [conv4, conv5, conv6]
        dropout=(0.3, 0.5),  # Dropout2d in b6 / b7, active in training
        frozen_stages=-1,
        norm_eval=False,
        freeze_bn=True,
        norm_cfg=dict(type='BN', eps=1e-5, momentum=0.0003),
        # python tools/model_converters/mxnet2mmwsss.py ilsvrc-cls_rna-a1_cls1000_ep-0001.params \
        #     pretrain/resnet38_ilsvrc-cls_rna-a1.pth --arch resnet38
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/resnet38_ilsvrc-cls_rna-a1.pth')),
    decode_head=dict(
        type='LargeFOVHead',
        in_channels=4096,
        in_index=-1,
        channels=512,
        fov_dilation=12,
        num_classes=21,
        dropout_ratio=0.5,
        dropout_layer='Dropout',  # element-wise nn.Dropout as YudeWang (mmseg: Dropout2d)
        norm_cfg=dict(type='BN', momentum=0.0003, requires_grad=False),
        align_corners=True,  # logits upsampled with align_corners=True (train and test)
        # nn.CrossEntropyLoss(ignore_index=255): mean over the non-ignored pixels
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True)),
    train_cfg=dict(),
    # crf=None: single-scale validation without CRF; tools/test.py --tta [--crf PRESET] runs the original test
    test_cfg=dict(mode='whole', crf=None))
