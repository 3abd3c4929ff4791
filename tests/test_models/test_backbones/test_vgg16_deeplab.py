"""VGG16-DeepLab (icd.md §2.2-2.3): layer sizes from the spec table, parameter count, pooling semantics, taps."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmwsss.models.backbones import VGG16_DEEPLAB_MEAN, VGG16_DEEPLAB_STD, VGG16DeepLab

# icd.md §2.2 table: input size -> sizes after conv1, pool1, pool2, pool3, pool4, conv5_3, pool5, pool5a
SPEC_SIZES = {
    321: (321, 161, 81, 41, 41, 41, 41, 41),
    448: (448, 224, 112, 56, 56, 56, 56, 56),
    513: (513, 257, 129, 65, 65, 65, 65, 65),
}


@pytest.mark.parametrize('size', sorted(SPEC_SIZES))
def test_layer_sizes_match_spec_table(size):
    model = VGG16DeepLab(width_divisor=16, out_features=('conv5_3', 'pool5a', 'fc6', 'fc7')).eval()
    seen = {}
    for name in ('conv1_2', 'pool1', 'pool2', 'pool3', 'pool4', 'conv5_3', 'pool5', 'pool5a'):
        getattr(model, name).register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, o.shape[-1]))
    with torch.no_grad():
        outs = model(torch.randn(1, 3, size, size))
    assert tuple(seen[n] for n in ('conv1_2', 'pool1', 'pool2', 'pool3', 'pool4', 'conv5_3', 'pool5',
                                   'pool5a')) == SPEC_SIZES[size]
    h = (size - 1) // 8 + 1  # spec: floor((S-1)/8)+1
    assert [tuple(o.shape) for o in outs] == [(1, 32, h, h), (1, 32, h, h), (1, 64, h, h), (1, 64, h, h)]


def test_full_width_parameter_count():
    convs = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256), (256, 512),
             (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    n = sum(9 * i * o + o for i, o in convs)
    n += 9 * 512 * 1024 + 1024 + 1024 * 1024 + 1024  # fc6 (1024,512,3,3), fc7 (1024,1024,1,1), with biases
    assert n == 20_483_904
    with torch.device('meta'):
        model = VGG16DeepLab()
    assert sum(p.numel() for p in model.parameters()) == n
    assert model.state_dict()['fc6.weight'].shape == (1024, 512, 3, 3)
    with torch.device('meta'):
        assert sum(p.numel() for p in VGG16DeepLab(with_fc=False, out_features=('conv5_3', )).parameters()) \
            == n - (9 * 512 * 1024 + 1024 + 1024 * 1024 + 1024)


def test_forward_matches_functional_definition():
    torch.manual_seed(0)
    model = VGG16DeepLab(width_divisor=16, out_features=('conv5_3', 'pool5a', 'fc7')).eval()
    for p in model.parameters():  # non-zero biases
        p.data.normal_(0, 0.2)
    x = torch.randn(2, 3, 37, 30)
    h = x
    for stage, names in enumerate([('conv1_1', 'conv1_2'), ('conv2_1', 'conv2_2'), ('conv3_1', 'conv3_2', 'conv3_3'),
                                   ('conv4_1', 'conv4_2', 'conv4_3'), ('conv5_1', 'conv5_2', 'conv5_3')]):
        dil = 2 if stage == 4 else 1
        for n in names:
            m = getattr(model, n)
            h = F.relu(F.conv2d(h, m.weight, m.bias, padding=dil, dilation=dil))
        if stage < 4:
            h = F.max_pool2d(h, 3, stride=2 if stage < 3 else 1, padding=1)
    f = h
    pool5 = F.max_pool2d(f, 3, 1, 1)
    pool5a = F.avg_pool2d(pool5, 3, 1, 1, count_include_pad=True)
    fc7 = F.relu(model.fc7(F.relu(F.conv2d(pool5a, model.fc6.weight, model.fc6.bias, padding=1))))
    with torch.no_grad():
        out = model(x)
    torch.testing.assert_close(out[0], f)
    torch.testing.assert_close(out[1], pool5a)
    torch.testing.assert_close(out[2], fc7)
    # count_include_pad: the corner of pool5a divides the 2x2 valid window by 9
    torch.testing.assert_close(out[1][:, :, 0, 0], pool5[:, :, :2, :2].sum((-1, -2)) / 9)


def test_layer_definitions():
    model = VGG16DeepLab(width_divisor=16)
    assert model.pool4.stride == 1 and model.pool3.stride == 2 and not model.pool1.ceil_mode
    assert all(getattr(model, f'conv5_{i}').dilation == (2, 2) for i in (1, 2, 3))
    assert all(getattr(model, f'conv5_{i}').padding == (2, 2) for i in (1, 2, 3))
    assert model.conv4_3.dilation == (1, 1)
    assert model.fc6.dilation == (1, 1) and model.fc6.kernel_size == (3, 3)  # ICD: no LargeFOV dilation
    assert model.conv1_1.bias is not None and model.fc7.bias is not None
    assert isinstance(model.drop6, nn.Dropout) and model.drop6.p == 0.5 == model.drop7.p  # element-wise
    lfov = VGG16DeepLab(width_divisor=16, fc6_dilation=12)
    assert lfov.fc6.dilation == (12, 12) and lfov.fc6.padding == (12, 12)
    with pytest.raises(ValueError, match='out_features'):
        VGG16DeepLab(with_fc=False)  # default taps include fc7
    with pytest.raises(ValueError, match='width_divisor'):
        VGG16DeepLab(width_divisor=5)


def test_fc_dropout_active_in_training_only():
    torch.manual_seed(0)
    model = VGG16DeepLab(width_divisor=16, out_features=('fc7', ))
    x = torch.randn(1, 3, 24, 24)
    with torch.no_grad():
        model.train()
        a, b = model(x)[0], model(x)[0]
        model.eval()
        c, d = model(x)[0], model(x)[0]
    assert not torch.equal(a, b)
    torch.testing.assert_close(c, d)


def test_input_convention_constants():
    assert VGG16_DEEPLAB_MEAN == (127., 127., 127.) and VGG16_DEEPLAB_STD == (1., 1., 1.)


def test_registered_and_pretrained_init(tmp_path):
    from mmseg.registry import MODELS
    src = VGG16DeepLab(width_divisor=16)
    path = str(tmp_path / 'vgg.pth')
    torch.save(src.state_dict(), path)
    model = MODELS.build(dict(type='VGG16DeepLab', width_divisor=16, init_cfg=dict(type='Pretrained',
                                                                                  checkpoint=path)))
    model.init_weights()
    for k, v in src.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v, msg=k)
