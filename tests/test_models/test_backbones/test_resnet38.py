"""ResNet-38 (affinitynet.md §2): parameter count, taps and sizes, blocks against hand-written functional
computations, psa's freezing, dropout, normalisation constants."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmwsss.models.backbones import (RESNET38_MEAN, RESNET38_STD, ResNet38, ResNet38BasicBlock,
                                     ResNet38Bottleneck)

# spec §2.2 table: (name, kind, in, mid, out, stride) at full width
SPEC_TABLE = [('b2', 'basic', 64, 128, 128, 2)] + [(f'b2_{i}', 'basic', 128, 128, 128, 1) for i in (1, 2)] + \
    [('b3', 'basic', 128, 256, 256, 2)] + [(f'b3_{i}', 'basic', 256, 256, 256, 1) for i in (1, 2)] + \
    [('b4', 'basic', 256, 512, 512, 2)] + [(f'b4_{i}', 'basic', 512, 512, 512, 1) for i in range(1, 6)] + \
    [('b5', 'basic', 512, 512, 1024, 1)] + [(f'b5_{i}', 'basic', 1024, 512, 1024, 1) for i in (1, 2)] + \
    [('b6', 'bot', 1024, None, 2048, 1), ('b7', 'bot', 2048, None, 4096, 1)]


def _spec_param_count() -> int:
    """Trainable parameters from the spec's block definitions (convs without bias, BN gamma+beta)."""
    n = 3 * 64 * 9  # conv1a
    for _, kind, cin, mid, cout, stride in SPEC_TABLE:
        if kind == 'basic':
            n += 2 * cin + 9 * cin * mid + 2 * mid + 9 * mid * cout
            if cin != cout or stride != 1:
                n += cin * cout
        else:
            q, h = cout // 4, cout // 2
            n += 2 * cin + cin * cout + cin * q + 2 * q + 9 * q * h + 2 * h + h * cout
    return n + 2 * 4096  # bn7


def test_full_width_parameter_count_matches_spec():
    # spec: 105,152,832 parameters including the 20-class fc8 (4096 -> 20, 1x1, no bias)
    assert _spec_param_count() + 20 * 4096 == 105_152_832
    with torch.device('meta'):  # build the real-width network without allocating it
        model = ResNet38()
    assert sum(p.numel() for p in model.parameters()) == 105_152_832 - 20 * 4096 == 105_070_912
    sd = model.state_dict()
    # 191 tensors (43 conv weights + 37 BN x 4) + 37 num_batches_tracked
    assert sum(not k.endswith('num_batches_tracked') for k in sd) == 191
    assert sum(k.endswith('.weight') and v.dim() == 4 for k, v in sd.items()) == 43
    assert sd['b7.conv_branch2b1.weight'].shape == (2048, 1024, 3, 3)
    assert sd['b5.conv_branch1.weight'].shape == (1024, 512, 1, 1)
    assert sd['bn7.running_var'].shape == (4096, )


@pytest.mark.parametrize('size', [47, 33, 64])
def test_tap_shapes_and_ceil_size(size):
    model = ResNet38(width_divisor=16, out_features=ResNet38.TAP_NAMES).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, size, size + 2))
    s2, s4, s8 = (math.ceil(size / k) for k in (2, 4, 8))
    w2, w4, w8 = (math.ceil((size + 2) / k) for k in (2, 4, 8))
    expected = [(64, size, size + 2), (128, s2, w2), (256, s4, w4), (512, s8, w8), (1024, s8, w8),
                (2048, s8, w8), (4096, s8, w8)]
    assert [tuple(o.shape) for o in outs] == [(1, c // 16, h, w) for c, h, w in expected]


def test_ceil_size_examples_from_spec():
    model = ResNet38(width_divisor=64, out_features=('conv6', )).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 47, 47))[0].shape[-2:] == (6, 6)
        assert model(torch.randn(1, 3, 41, 17))[0].shape[-2:] == (6, 3)


def test_out_features_order_and_default():
    assert ResNet38(width_divisor=64).out_features == ('conv4', 'conv5', 'conv6')
    model = ResNet38(width_divisor=64, out_features=('conv6', 'conv3')).eval()
    outs = model(torch.randn(1, 3, 16, 16))
    assert [o.shape[1] for o in outs] == [4096 // 64, 256 // 64]
    with pytest.raises(ValueError, match='out_features'):
        ResNet38(width_divisor=64, out_features=('conv7', ))
    with pytest.raises(ValueError, match='width_divisor'):
        ResNet38(width_divisor=3)


def test_taps_are_the_pre_activations_of_the_spec_blocks():
    torch.manual_seed(0)
    model = ResNet38(width_divisor=32, out_features=('conv3', 'conv4', 'conv5', 'conv6'))
    _randomise_bn(model)
    model.eval()
    x = torch.randn(2, 3, 20, 20)
    with torch.no_grad():
        conv3, conv4, conv5, conv6 = model(x)
        h = model.conv1a(x)
        for name in ('b2', 'b2_1', 'b2_2', 'b3', 'b3_1', 'b3_2'):
            h = getattr(model, name)(h)
        ref3 = F.relu(model.b4.bn_branch2a(h))
        for name in ('b4', 'b4_1', 'b4_2', 'b4_3', 'b4_4', 'b4_5'):
            h = getattr(model, name)(h)
        ref4 = F.relu(model.b5.bn_branch2a(h))
        h = model.b5_2(model.b5_1(model.b5(h)))
        ref5 = F.relu(model.b6.bn_branch2a(h))
        ref6 = F.relu(model.bn7(model.b7(model.b6(h))))
    for out, ref in ((conv3, ref3), (conv4, ref4), (conv5, ref5), (conv6, ref6)):
        torch.testing.assert_close(out, ref)


# ----------------------------------------------------------------------------------- blocks vs functional
def _randomise_bn(module: nn.Module) -> None:
    g = torch.Generator().manual_seed(1)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = torch.rand(c, generator=g) + 0.5
            m.bias.data = torch.randn(c, generator=g) * 0.1
            m.running_mean = torch.randn(c, generator=g) * 0.1
            m.running_var = torch.rand(c, generator=g) + 0.5


def _bn(x, bn):
    return (x - bn.running_mean[None, :, None, None]) / torch.sqrt(bn.running_var[None, :, None, None] + 1e-5) \
        * bn.weight[None, :, None, None] + bn.bias[None, :, None, None]


def _conv(x, w, stride=1, dil=1):
    pad = dil * (w.shape[-1] // 2)
    return F.conv2d(x, w, stride=stride, padding=pad, dilation=dil)


def test_basic_block_matches_functional_projection_stride2():
    torch.manual_seed(0)
    blk = ResNet38BasicBlock(6, 5, 8, stride=2)
    _randomise_bn(blk)
    blk.eval()
    x = torch.randn(2, 6, 9, 9)
    a = torch.relu(_bn(x, blk.bn_branch2a))
    h = _conv(a, blk.conv_branch2a.weight, stride=2)
    h = _conv(torch.relu(_bn(h, blk.bn_branch2b1)), blk.conv_branch2b1.weight)
    ref = F.conv2d(a, blk.conv_branch1.weight, stride=2) + h  # shortcut from the PRE-ACTIVATED input
    with torch.no_grad():
        torch.testing.assert_close(blk(x), ref)
    assert ref.shape == (2, 8, 5, 5)
    assert all(c.bias is None for c in (blk.conv_branch1, blk.conv_branch2a, blk.conv_branch2b1))


def test_basic_block_matches_functional_identity_dilated():
    torch.manual_seed(0)
    # b5-like: first conv dilation 1, second dilation 2; identity shortcut (same shape, stride 1)
    blk = ResNet38BasicBlock(8, 4, 8, first_dilation=1, dilation=2)
    _randomise_bn(blk)
    blk.eval()
    assert not hasattr(blk, 'conv_branch1')
    x = torch.randn(1, 8, 11, 10)
    a = torch.relu(_bn(x, blk.bn_branch2a))
    h = _conv(a, blk.conv_branch2a.weight, dil=1)
    h = _conv(torch.relu(_bn(h, blk.bn_branch2b1)), blk.conv_branch2b1.weight, dil=2)
    with torch.no_grad():
        torch.testing.assert_close(blk(x), x + h)


def test_bottleneck_matches_functional():
    torch.manual_seed(0)
    blk = ResNet38Bottleneck(8, 16, dilation=4, dropout=0.3)
    _randomise_bn(blk)
    blk.eval()
    x = torch.randn(2, 8, 9, 9)
    a = torch.relu(_bn(x, blk.bn_branch2a))
    h1 = F.conv2d(a, blk.conv_branch2a.weight)  # 1x1 in -> out/4
    h2 = _conv(torch.relu(_bn(h1, blk.bn_branch2b1)), blk.conv_branch2b1.weight, dil=4)  # 3x3 out/4 -> out/2
    h3 = F.conv2d(torch.relu(_bn(h2, blk.bn_branch2b2)), blk.conv_branch2b2.weight)  # 1x1 out/2 -> out
    sc = F.conv2d(a, blk.conv_branch1.weight)
    with torch.no_grad():
        torch.testing.assert_close(blk(x), sc + h3)
    assert blk.conv_branch2a.weight.shape == (4, 8, 1, 1)
    assert blk.conv_branch2b1.weight.shape == (8, 4, 3, 3) and blk.conv_branch2b1.dilation == (4, 4)
    assert blk.conv_branch2b2.weight.shape == (16, 8, 1, 1)


def test_bottleneck_dropout_before_the_3x3_and_the_last_1x1():
    torch.manual_seed(0)
    blk = ResNet38Bottleneck(8, 16, dilation=4, dropout=0.3)
    _randomise_bn(blk)  # non-zero beta: a zeroed conv output still gives a non-zero BN-ReLU
    blk.train()
    assert isinstance(blk.dropout_2b1, nn.Dropout2d) and isinstance(blk.dropout_2b2, nn.Dropout2d)
    captured = {}
    blk.conv_branch2b1.register_forward_hook(lambda m, i, o: captured.__setitem__('in33', i[0]))
    blk.conv_branch2b2.register_forward_hook(lambda m, i, o: captured.__setitem__('in11', i[0]))
    x = torch.randn(2, 8, 9, 9)
    blk.dropout_2b1.p, blk.dropout_2b2.p = 1.0, 0.0  # drop every channel entering the 3x3
    with torch.no_grad():
        blk(x)
    assert torch.count_nonzero(captured['in33']) == 0 and torch.count_nonzero(captured['in11']) > 0
    blk.dropout_2b1.p, blk.dropout_2b2.p = 0.0, 1.0  # drop every channel entering the last 1x1
    with torch.no_grad():
        y = blk(x)
        shortcut = blk.conv_branch1(blk.preact(x))
    assert torch.count_nonzero(captured['in33']) > 0 and torch.count_nonzero(captured['in11']) == 0
    torch.testing.assert_close(y, shortcut)  # the branch ends in a bias-free conv of zeros


def test_bottleneck_dropout_probabilities_in_model():
    model = ResNet38(width_divisor=64)
    assert model.b6.dropout_2b1.p == model.b6.dropout_2b2.p == 0.3
    assert model.b7.dropout_2b1.p == model.b7.dropout_2b2.p == 0.5
    model = ResNet38(width_divisor=64, dropout=(0.1, 0.2))
    assert model.b6.dropout_2b2.p == 0.1 and model.b7.dropout_2b1.p == 0.2


# ----------------------------------------------------------------------------------- freezing (spec §2.3)
def _bn_modules(model):
    return [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]


def test_psa_freezing_after_train():
    model = ResNet38(width_divisor=32)
    assert model.train() is model and model.eval() is model  # psa's override returned None
    model.train()
    frozen = ('conv1a.', 'b2.', 'b2_1.', 'b2_2.')
    for name, p in model.named_parameters():
        is_bn = '.bn_' in name or name.startswith('bn7')
        if name.startswith(frozen) or is_bn:
            assert not p.requires_grad, name
        else:
            assert p.requires_grad, name
    assert len(_bn_modules(model)) == 37 and all(not m.training for m in _bn_modules(model))
    dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout2d)]
    assert len(dropouts) == 4 and all(m.training for m in dropouts)
    # the frozen parts are frozen from construction on (before any train() call)
    fresh = ResNet38(width_divisor=32)
    assert not fresh.conv1a.weight.requires_grad and fresh.b3.conv_branch2a.weight.requires_grad


def test_bn_uses_running_statistics_in_training_and_dropout_is_active():
    torch.manual_seed(0)
    model = ResNet38(width_divisor=32, out_features=('conv6', ))
    _randomise_bn(model)
    model.train()
    before = model.b4.bn_branch2a.running_mean.clone()
    x = torch.randn(2, 3, 24, 24)
    with torch.no_grad():
        y1, = model(x)
        y2, = model(x)
    torch.testing.assert_close(model.b4.bn_branch2a.running_mean, before)
    assert not torch.equal(y1, y2)  # Dropout2d in b6/b7 is random in training
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x)[0], model(x)[0])


def test_freezing_options():
    model = ResNet38(width_divisor=32, frozen_stages=-1, norm_eval=False, freeze_bn=False).train()
    assert all(p.requires_grad for p in model.parameters())
    assert all(m.training for m in _bn_modules(model))
    # YudeWang's DeepLab stage: nothing frozen but BN affine, BN in training mode
    model = ResNet38(width_divisor=32, frozen_stages=-1, norm_eval=False, freeze_bn=True).train()
    assert model.conv1a.weight.requires_grad and not model.bn7.weight.requires_grad
    assert all(m.training for m in _bn_modules(model))
    model = ResNet38(width_divisor=32, frozen_stages=2).train()
    assert not model.b3_2.conv_branch2b1.weight.requires_grad and model.b4.conv_branch2a.weight.requires_grad
    with pytest.raises(ValueError, match='frozen_stages'):
        ResNet38(width_divisor=32, frozen_stages=7)


def test_normalisation_constants():
    # psa Normalize: (x/255 - mean)/std with ImageNet mean/std, RGB
    assert RESNET38_MEAN == pytest.approx(tuple(255 * m for m in (0.485, 0.456, 0.406)))
    assert RESNET38_STD == pytest.approx(tuple(255 * s for s in (0.229, 0.224, 0.225)))
    assert ResNet38.MEAN == RESNET38_MEAN and ResNet38.STD == RESNET38_STD


def test_registered_and_pretrained_init(tmp_path):
    from mmseg.registry import MODELS
    src = ResNet38(width_divisor=32)
    _randomise_bn(src)
    path = str(tmp_path / 'r38.pth')
    torch.save({k: v for k, v in src.state_dict().items() if not k.endswith('num_batches_tracked')}, path)
    model = MODELS.build(
        dict(type='ResNet38', width_divisor=32, init_cfg=dict(type='Pretrained', checkpoint=path)))
    model.init_weights()
    for k, v in src.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v, msg=k)
