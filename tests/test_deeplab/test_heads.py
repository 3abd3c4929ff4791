"""LargeFOVHead / ASPPV2Head: shapes, equality with reference networks written from deeplab_final.md §2 (weights
ported by the converter key maps), the summed ASPP against direct convolutions, init and options."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from reference_nets import RefDeepLabV1Head, RefDeepLabV2Head, randomize_bn

import mmwsss.models  # noqa: F401
from mmwsss.converters.original_deeplab import aspp_v2_head_key, largefov_head_key


def _port(ref: nn.Module, head: nn.Module, key_fn) -> None:
    sd = {key_fn(k)[len('decode_head.'):]: v for k, v in ref.state_dict().items()}
    result = head.load_state_dict(sd, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def _largefov(**kw):
    cfg = dict(type='LargeFOVHead', in_channels=16, channels=8, num_classes=5, fov_dilation=3, dropout_ratio=0.5,
               norm_cfg=dict(type='BN', momentum=3e-4), align_corners=True)
    cfg.update(kw)
    return MODELS.build(cfg)


def test_largefov_matches_reference_and_shapes():
    torch.manual_seed(0)
    ref = RefDeepLabV1Head(16, 8, 5, dilation=3)
    randomize_bn(ref)
    head = _largefov()
    _port(ref, head, largefov_head_key)
    x = torch.randn(2, 16, 9, 11)
    ref.eval()
    head.eval()
    out = head((torch.randn(2, 4, 9, 11), x))  # in_index=-1 picks the last backbone output
    assert out.shape == (2, 5, 9, 11)
    torch.testing.assert_close(out, ref(x), rtol=1e-5, atol=1e-6)
    conv = head.conv_fov.conv
    assert conv.kernel_size == (3, 3) and conv.dilation == (3, 3) and conv.padding == (3, 3) and conv.bias is None
    assert head.conv_fov2.conv.kernel_size == (1, 1) and head.conv_fov2.conv.bias is None
    assert head.conv_seg.bias is not None
    assert head.conv_fov.bn.momentum == pytest.approx(3e-4)


def test_largefov_default_is_rate_12_and_elementwise_dropout():
    head = _largefov(fov_dilation=12)
    assert head.conv_fov.conv.dilation == (12, 12) and head.conv_fov.conv.padding == (12, 12)
    assert type(head.dropout) is nn.Dropout  # YudeWang nn.Dropout, not mmseg's Dropout2d
    # element-wise: in training, zeros of the dropped features are not whole channels
    head.train()
    torch.manual_seed(1)
    feat = torch.ones(1, 8, 6, 6)
    dropped = head.dropout(feat)
    per_channel_zero_frac = (dropped == 0).float().mean(dim=(2, 3))
    assert ((per_channel_zero_frac > 0) & (per_channel_zero_frac < 1)).any()
    assert type(_largefov(dropout_layer='Dropout2d').dropout) is nn.Dropout2d


def test_largefov_init_is_kaiming_fan_out_and_default_bias():
    torch.manual_seed(0)
    head = _largefov(in_channels=64, channels=512, num_classes=21)
    w = head.conv_seg.weight
    # kaiming normal, fan_out = 21 * 1 * 1, gain sqrt(2): std = sqrt(2 / 21) = 0.3086 (mmseg's would be 0.01)
    assert w.std().item() == pytest.approx(math.sqrt(2 / 21), rel=0.1)
    b = head.conv_seg.bias  # PyTorch default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = 512
    assert b.abs().max().item() <= 1 / math.sqrt(512) and b.abs().max().item() > 0
    w6 = head.conv_fov.conv.weight  # fan_out = 512 * 3 * 3
    assert w6.std().item() == pytest.approx(math.sqrt(2 / (512 * 9)), rel=0.05)


def test_largefov_classic_variant_options():
    head = _largefov(norm_cfg=None, pre_pool=True, mid_dropout_ratio=0.5)
    assert head.conv_fov.conv.bias is not None and head.conv_fov2.conv.bias is not None  # no BN -> biases
    assert isinstance(head.pre_pool, nn.MaxPool2d) and isinstance(head.mid_dropout, nn.Dropout)
    head.eval()
    x = torch.randn(1, 16, 7, 7)
    # pre_pool = 3x3 / stride 1 / pad 1 max pool: feeding the pooled input to a pool-less head gives the same
    plain = _largefov(norm_cfg=None)
    plain.load_state_dict(head.state_dict())
    plain.eval()
    torch.testing.assert_close(head([x]), plain([F.max_pool2d(x, 3, 1, 1)]))


def _aspp(**kw):
    cfg = dict(type='ASPPV2Head', in_channels=12, channels=6, num_classes=4, dilations=(1, 2, 3, 4),
               norm_cfg=dict(type='BN', momentum=3e-4), align_corners=True)
    cfg.update(kw)
    return MODELS.build(cfg)


def test_aspp_concat_matches_reference_and_shapes():
    torch.manual_seed(0)
    ref = RefDeepLabV2Head(12, 6, 4, rates=(1, 2, 3, 4))
    randomize_bn(ref, seed=3)
    head = _aspp()
    _port(ref, head, aspp_v2_head_key)
    ref.eval()
    head.eval()
    x = torch.randn(2, 12, 10, 7)
    out = head([x])
    assert out.shape == (2, 4, 10, 7)
    torch.testing.assert_close(out, ref(x), rtol=1e-5, atol=1e-6)
    assert [m.conv.dilation for m in head.aspp_convs] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert all(m.conv.kernel_size == (3, 3) for m in head.aspp_convs)  # rate 1 is still 3x3 (YudeWang)
    assert head.bottleneck.conv.kernel_size == (1, 1) and head.bottleneck.conv.in_channels == 5 * 6
    assert type(head.fusion_dropout) is nn.Dropout and type(head.dropout) is nn.Dropout


def test_aspp_concat_defaults_and_quirks():
    head = _aspp(dilations=(6, 12, 18, 24))
    assert [m.conv.padding for m in head.aspp_convs] == [(6, 6), (12, 12), (18, 18), (24, 24)]
    assert head.bottleneck.conv.bias is None
    no_global = _aspp(with_global=False)
    assert no_global.image_pool is None and no_global.bottleneck.conv.in_channels == 4 * 6
    assert no_global.bottleneck.conv.bias is not None  # YudeWang's no-global conv_cat keeps its bias
    one_by_one = _aspp(dilations=(0, 6, 12, 18))
    assert one_by_one.aspp_convs[0].conv.kernel_size == (1, 1)  # rate 0 -> 1x1 branch


def test_aspp_sum_is_sum_of_four_biased_convs():
    torch.manual_seed(0)
    head = _aspp(fusion='sum', dilations=(1, 2, 3, 4))
    head.eval()
    assert head.conv_seg is None and head.image_pool is None and head.dropout is None
    for conv in head.aspp_convs:  # kazuto1011 init: N(0, 0.01), bias 0
        assert conv.bias.abs().max().item() == 0 and conv.weight.std().item() == pytest.approx(0.01, rel=0.15)
        conv.bias.data.normal_()
    x = torch.randn(1, 12, 8, 9)
    expected = sum(F.conv2d(x, c.weight, c.bias, padding=d, dilation=d) for c, d in zip(head.aspp_convs, (1, 2, 3, 4)))
    out = head([x])
    assert out.shape == (1, 4, 8, 9)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='fusion'):
        _aspp(fusion='max')


def test_heads_losses_use_valid_pixel_mean():
    """The configs' loss: CE averaged over non-ignored pixels (nn.CrossEntropyLoss(ignore_index=255))."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    head = _largefov(loss_decode=dict(type='CrossEntropyLoss', avg_non_ignore=True))
    logits = torch.randn(1, 5, 4, 4)
    label = torch.randint(0, 5, (1, 4, 4))
    label[0, :2] = 255
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=label)
    loss = head.loss_by_feat(logits, [sample])['loss_ce']
    expected = F.cross_entropy(logits, label, ignore_index=255)
    torch.testing.assert_close(loss, expected)
