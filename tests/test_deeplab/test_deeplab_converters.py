"""Converters of the released final-stage checkpoints: synthetic checkpoints with the original key names (built
from reference networks written from deeplab_final.md §2) go through tools/model_converters/original2mmwsss.py
and load into the mmwsss models, which then compute what the reference networks compute."""
import os.path as osp
import sys

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from reference_nets import RefDeepLabV1Head, RefDeepLabV2Head, RefResNet101sStem, randomize_bn

import mmwsss.models  # noqa: F401
from mmwsss.converters import convert_original_state_dict, list_original_mappings
from mmwsss.converters.original_deeplab import RESNET101S_CFG, deeplabv2_head_cfg

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from tools.model_converters.original2mmwsss import main as convert_main  # noqa: E402


@pytest.fixture(autouse=True)
def _mmseg_scope():
    init_default_scope('mmseg')


def test_registered_names():
    names = set(list_original_mappings())
    assert {'icam-final', 'icam-final-coco', 'yudewang-deeplabv1-res38', 'yudewang-deeplabv1-res38-coco',
            'yudewang-deeplabv2-r101', 'yudewang-deeplabv2-r101-coco', 'yudewang-deeplabv2-caffe-r101',
            'resnet101s-imagenet'} <= names


def _v1_model(num_classes=6):
    return MODELS.build(dict(
        type='CRFEncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0], std=[1, 1, 1]),
        backbone=dict(type='ResNet38', width_divisor=16, out_features=('conv6', ), norm_eval=False),
        decode_head=dict(type='LargeFOVHead', in_channels=256, channels=32, fov_dilation=12,
                         num_classes=num_classes, norm_cfg=dict(type='BN', momentum=3e-4), align_corners=True)))


def test_icam_final_checkpoint_converts_and_predicts_like_the_original(tmp_path):
    torch.manual_seed(0)
    donor = _v1_model()  # random ResNet-38 weights under psa/ICAM names (identical to ours)
    randomize_bn(donor.backbone, seed=1)
    ref_head = RefDeepLabV1Head(256, 32, 6)
    randomize_bn(ref_head, seed=2)
    src = {f'backbone.{k}': v for k, v in donor.backbone.state_dict().items()}
    src.update(ref_head.state_dict())  # conv_fov.weight, bn_fov.*, conv_fov2.weight, bn_fov2.*, cls_conv.*
    torch.save(src, str(tmp_path / 'final.pth'))

    dst = str(tmp_path / 'final_mmwsss.pth')
    assert convert_main([str(tmp_path / 'final.pth'), dst, '--model', 'icam-final', '--width-divisor', '16']) == 0
    model = _v1_model()
    result = model.load_state_dict(torch.load(dst, weights_only=True), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    model.eval()
    donor.eval()
    ref_head.eval()
    x = torch.randn(1, 3, 40, 44)
    with torch.no_grad():
        conv6 = donor.backbone(x)[-1]
        expected = F.interpolate(ref_head(conv6), size=(40, 44), mode='bilinear', align_corners=True)
        out = model.encode_decode(x, [dict(img_shape=(40, 44), ori_shape=(40, 44), pad_shape=(40, 44))])
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)


def test_bad_checkpoints_are_refused(tmp_path):
    ref_head = RefDeepLabV1Head(4096, 512, 21)
    sd = dict(ref_head.state_dict())
    sd['cls_conv.extra'] = torch.zeros(1)  # a key the mapping does not know
    res = convert_original_state_dict(sd, 'icam-final', check_shapes=False)
    assert res.unused == ['cls_conv.extra']
    # full width: the head shapes are checked; a 20-class classifier is not ICAM's 21-class one
    bad = RefDeepLabV1Head(4096, 512, 20).state_dict()
    torch.save(bad, str(tmp_path / 'bad.pth'))
    assert convert_main([str(tmp_path / 'bad.pth'), str(tmp_path / 'out.pth'), '--model', 'icam-final']) == 1
    assert not osp.exists(str(tmp_path / 'out.pth'))


def test_yudewang_deeplabv2_checkpoint_converts_and_predicts_like_the_original(tmp_path):
    torch.manual_seed(0)
    # the original's backbone = deep stem (conv1.*, bn1.*) + layers whose names equal mmseg's (deeplab_final.md
    # §5.1); the donor ResNetV1c provides the layer tensors, the reference stem and ASPP the rest
    donor = MODELS.build(dict(RESNET101S_CFG))
    randomize_bn(donor, seed=3)
    stem = RefResNet101sStem()
    randomize_bn(stem, seed=4)
    ref_head = RefDeepLabV2Head(2048, 256, 21)
    randomize_bn(ref_head, seed=5)
    src = {f'backbone.{k}': v for k, v in stem.state_dict().items()}
    src.update({f'backbone.{k}': v for k, v in donor.state_dict().items() if k.startswith('layer')})
    src['backbone.fc.weight'] = torch.zeros(1000, 2048)  # dropped on purpose
    src['backbone.fc.bias'] = torch.zeros(1000)
    src.update({f'module.{k}': v for k, v in ref_head.state_dict().items()})  # DataParallel prefix
    res = convert_original_state_dict(src, 'yudewang-deeplabv2-r101', source_name='v2.pth')
    assert res.complete, res.summary()
    assert sorted(res.dropped) == ['backbone.fc.bias', 'backbone.fc.weight']

    model = MODELS.build(dict(type='CRFEncoderDecoder',
                              data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0], std=[1, 1, 1]),
                              backbone=dict(RESNET101S_CFG), decode_head=deeplabv2_head_cfg(21)))
    model.load_state_dict(res.state_dict, strict=True)
    model.eval()
    for m in (donor, stem, ref_head):
        m.eval()
    x = torch.randn(1, 3, 33, 31)
    with torch.no_grad():
        feat = stem(x)
        torch.testing.assert_close(model.backbone.maxpool(model.backbone.stem(x)), feat, rtol=1e-5, atol=1e-6)
        for name in ('layer1', 'layer2', 'layer3', 'layer4'):
            feat = getattr(donor, name)(feat)
        expected = F.interpolate(ref_head(feat), size=(33, 31), mode='bilinear', align_corners=True)
        out = model.encode_decode(x, [dict(img_shape=(33, 31), ori_shape=(33, 31), pad_shape=(33, 31))])
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)

    # the ImageNet resnet101s file (bare keys, with fc) -> backbone.* for init_cfg=Pretrained(prefix='backbone.')
    imagenet = {k[len('backbone.'):]: v for k, v in src.items() if k.startswith('backbone.')}
    res_in = convert_original_state_dict(imagenet, 'resnet101s-imagenet')
    assert res_in.complete and len(res_in.dropped) == 2
    assert res_in.state_dict['backbone.stem.7.running_var'] is not None
    torch.testing.assert_close(res_in.state_dict['backbone.stem.7.weight'], stem.bn1.weight)
    torch.testing.assert_close(res_in.state_dict['backbone.stem.6.weight'], stem.conv1[6].weight)
