"""Key mappings (ademxapp ResNet-38, ICD VGG16, psa checkpoints) and the two converter tools.

The source names and shapes are written out here from the specs (affinitynet.md §3.2, icd.md §7.1),
independently of the mapping code."""
import os
import os.path as osp
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch

from mmwsss.converters import (ORIGINAL_MAPPINGS, KeyMappingError, convert_original_state_dict,
                               convert_with_key_map, expected_shapes, get_original_mapping, load_mxnet_params,
                               register_original_mapping, resnet38_mxnet_key, save_mxnet_params, vgg16_mxnet_key)
from mmwsss.models.backbones import ResNet38, VGG16DeepLab

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
PYTHON = osp.join(ROOT, '.venv', 'bin', 'python')
if not osp.exists(PYTHON):
    PYTHON = sys.executable

# ademxapp Model A1 blocks: (name, in, mid, out, kind, first block of its level)
A1_BLOCKS = [('2a', 64, 128, 128, 'basic', True), ('2b1', 128, 128, 128, 'basic', False),
             ('2b2', 128, 128, 128, 'basic', False), ('3a', 128, 256, 256, 'basic', True),
             ('3b1', 256, 256, 256, 'basic', False), ('3b2', 256, 256, 256, 'basic', False),
             ('4a', 256, 512, 512, 'basic', True)] + \
    [(f'4b{i}', 512, 512, 512, 'basic', False) for i in range(1, 6)] + \
    [('5a', 512, 512, 1024, 'basic', True), ('5b1', 1024, 512, 1024, 'basic', False),
     ('5b2', 1024, 512, 1024, 'basic', False), ('6a', 1024, None, 2048, 'bot', True),
     ('7a', 2048, None, 4096, 'bot', True)]
BN_FIELDS = [('arg', 'gamma', 'weight'), ('arg', 'beta', 'bias'), ('aux', 'moving_mean', 'running_mean'),
             ('aux', 'moving_var', 'running_var')]


def a1_params(d: int = 1):
    """OrderedDict MXNet name -> (shape, expected ResNet38 key or None if dropped), channel widths / d."""
    out = OrderedDict()
    out['arg:conv1a_weight'] = ((64 // d, 3, 3, 3), 'conv1a.weight')
    for name, cin, mid, cout, kind, first in A1_BLOCKS:
        cin, cout = cin // d, cout // d
        block = 'b' + name[0] + ('' if name[1:] == 'a' else '_' + name[2:])  # 2a -> b2, 4b5 -> b4_5
        if kind == 'basic':
            mid = mid // d
            convs = {'branch2a': (mid, cin, 3, 3), 'branch2b1': (cout, mid, 3, 3)}
            bns = {'branch2a': cin, 'branch2b1': mid}
        else:
            q, h = cout // 4, cout // 2
            convs = {'branch2a': (q, cin, 1, 1), 'branch2b1': (h, q, 3, 3), 'branch2b2': (cout, h, 1, 1)}
            bns = {'branch2a': cin, 'branch2b1': q, 'branch2b2': h}
        if first:
            convs['branch1'] = (cout, cin, 1, 1)
        for br, shape in convs.items():
            out[f'arg:res{name}_{br}_weight'] = (shape, f'{block}.conv_{br}.weight')
        for br, c in bns.items():
            for prefix, field, torch_field in BN_FIELDS:
                out[f'{prefix}:bn{name}_{br}_{field}'] = ((c, ), f'{block}.bn_{br}.{torch_field}')
    for prefix, field, torch_field in BN_FIELDS:
        out[f'{prefix}:bn7_{field}'] = ((4096 // d, ), f'bn7.{torch_field}')
    out['arg:linear1000_weight'] = ((1000, 4096 // d), None)
    out['arg:linear1000_bias'] = ((1000, ), None)
    return out


VGG_CONVS = [('conv1_1', 3, 64), ('conv1_2', 64, 64), ('conv2_1', 64, 128), ('conv2_2', 128, 128),
             ('conv3_1', 128, 256), ('conv3_2', 256, 256), ('conv3_3', 256, 256), ('conv4_1', 256, 512),
             ('conv4_2', 512, 512), ('conv4_3', 512, 512), ('conv5_1', 512, 512), ('conv5_2', 512, 512),
             ('conv5_3', 512, 512)]


def vgg_params(d: int = 1):
    """ICD vgg16_20M.params names -> (shape, expected VGG16DeepLab key or None), widths / d."""
    out = OrderedDict()
    for name, cin, cout in VGG_CONVS:
        cin = cin if name == 'conv1_1' else cin // d
        out[f'arg:{name}_weight'] = ((cout // d, cin, 3, 3), f'{name}.weight')
        out[f'arg:{name}_bias'] = ((cout // d, ), f'{name}.bias')
    out['arg:fc6_weight'] = ((1024 // d, 512 // d, 3, 3), 'fc6.weight')
    out['arg:fc6_bias'] = ((1024 // d, ), 'fc6.bias')
    out['arg:fc7_weight'] = ((1024 // d, 1024 // d, 1, 1), 'fc7.weight')
    out['arg:fc7_bias'] = ((1024 // d, ), 'fc7.bias')
    out['arg:fc8_weight'] = ((21, 1024 // d, 1, 1), None)  # "an fc8 of another shape": dropped
    out['arg:fc8_bias'] = ((21, ), None)
    return out


def random_arrays(spec, seed=0):
    rng = np.random.default_rng(seed)
    return OrderedDict((k, rng.standard_normal(shape).astype(np.float32)) for k, (shape, _) in spec.items())


# ------------------------------------------------------------------------------------------ ResNet-38
def test_resnet38_names_map_to_real_full_width_shapes():
    spec = a1_params(1)
    with torch.device('meta'):
        expected = expected_shapes(ResNet38())
    targets = []
    for name, (shape, target) in spec.items():
        assert resnet38_mxnet_key(name) == target, name
        if target is not None:
            assert tuple(expected[target]) == shape, name
            targets.append(target)
    assert len(targets) == len(set(targets)) == 191
    assert set(targets) == {k for k in expected if not k.endswith('num_batches_tracked')}


def test_resnet38_key_function_rejects_foreign_names():
    for bad in ('arg:res4a_branch2a_gamma', 'arg:bn4a_branch1_gamma', 'arg:fc8_weight', 'aux:bn7_weight',
                'arg:res4a_branch3_weight', 'arg:bn4a_branch2a_weight'):
        with pytest.raises(KeyError):
            resnet38_mxnet_key(bad)
    assert resnet38_mxnet_key('res4b5_branch2b1_weight') == 'b4_5.conv_branch2b1.weight'  # no prefix


@pytest.mark.parametrize('version', [0, 1, 2])
def test_resnet38_synthetic_params_every_tensor_lands_right(tmp_path, version):
    spec = a1_params(16)
    arrays = random_arrays(spec, seed=version)
    path = str(tmp_path / 'a1.params')
    save_mxnet_params(path, arrays, version=version)
    model = ResNet38(width_divisor=16)
    result = convert_with_key_map(load_mxnet_params(path), resnet38_mxnet_key, expected=expected_shapes(model),
                                  source_name=path)
    assert len(result.converted) == 191
    assert result.dropped == ['arg:linear1000_weight', 'arg:linear1000_bias']
    assert result.unused == [] and result.unexpected == [] and result.missing == [] and result.complete
    for name, (_, target) in spec.items():
        if target is not None:
            np.testing.assert_array_equal(result.state_dict[target].numpy(), arrays[name], err_msg=name)
    model.load_state_dict(result.state_dict, strict=True)  # BN fills num_batches_tracked itself
    torch.testing.assert_close(model.b4_5.bn_branch2a.running_var,
                               torch.from_numpy(arrays['aux:bn4b5_branch2a_moving_var']))


def test_unknown_names_and_bad_shapes_are_reported():
    spec = a1_params(16)
    arrays = random_arrays(spec)
    arrays['arg:something_else'] = np.zeros(3, np.float32)
    del arrays['aux:bn7_moving_var']
    model = ResNet38(width_divisor=16)
    result = convert_with_key_map(arrays, resnet38_mxnet_key, expected=expected_shapes(model))
    assert result.unused == ['arg:something_else'] and result.missing == ['bn7.running_var']
    assert not result.complete
    assert 'arg:something_else' in result.summary() and 'bn7.running_var' in result.summary()
    arrays = random_arrays(spec)
    arrays['arg:res3a_branch1_weight'] = np.zeros((1, 1, 1, 1), np.float32)
    with pytest.raises(KeyMappingError, match=r'w\.params.*res3a_branch1_weight.*b3\.conv_branch1\.weight'):
        convert_with_key_map(arrays, resnet38_mxnet_key, expected=expected_shapes(model), source_name='w.params')


# ------------------------------------------------------------------------------------------ VGG16
def test_vgg16_names_map_to_real_full_width_shapes():
    with torch.device('meta'):
        expected = expected_shapes(VGG16DeepLab())
    targets = []
    for name, (shape, target) in vgg_params(1).items():
        assert vgg16_mxnet_key(name) == target, name
        if target is not None:
            assert tuple(expected[target]) == shape, name
            targets.append(target)
    assert len(targets) == 30 and set(targets) == set(expected)
    with pytest.raises(KeyError):
        vgg16_mxnet_key('arg:feat_bn_gamma')


def test_vgg16_synthetic_params(tmp_path):
    spec = vgg_params(16)
    arrays = random_arrays(spec, seed=3)
    path = str(tmp_path / 'vgg16_20M.params')
    save_mxnet_params(path, arrays, version=2)
    model = VGG16DeepLab(width_divisor=16)
    result = convert_with_key_map(load_mxnet_params(path), vgg16_mxnet_key, expected=expected_shapes(model))
    assert len(result.converted) == 30 and result.dropped == ['arg:fc8_weight', 'arg:fc8_bias']
    assert result.complete
    for name, (_, target) in spec.items():
        if target is not None:
            np.testing.assert_array_equal(result.state_dict[target].numpy(), arrays[name], err_msg=name)
    model.load_state_dict(result.state_dict, strict=True)


# ------------------------------------------------------------------------------------------ psa checkpoints
def psa_state_dict(d: int, head: str, seed: int = 0):
    """A psa-named state dict (resnet38_cls.Net or resnet38_aff.Net) with the spec's key names."""
    g = torch.Generator().manual_seed(seed)
    sd = OrderedDict()
    for _, (shape, key) in a1_params(d).items():
        if key is not None:
            sd[key] = torch.randn(shape, generator=g)
    if head == 'cls':
        sd['fc8.weight'] = torch.randn((20, 4096 // d, 1, 1), generator=g)
    else:
        for k, shape in (('f8_3', (64, 512 // d)), ('f8_4', (128, 1024 // d)), ('f8_5', (256, 4096 // d)),
                         ('f9', (448, 448))):
            sd[f'{k}.weight'] = torch.randn(shape + (1, 1), generator=g)
    return sd


def test_psa_cls_and_aff_mappings():
    for model, head in (('psa-res38-cls', 'cls'), ('psa-res38-aff', 'aff')):
        sd = psa_state_dict(16, head)
        result = convert_original_state_dict(sd, model, width_divisor=16)
        assert result.complete and not result.dropped
        heads = {'fc8.weight': 'decode_head.conv_cam.weight', 'f8_3.weight': 'decode_head.f8_3.weight',
                 'f8_4.weight': 'decode_head.f8_4.weight', 'f8_5.weight': 'decode_head.f8_5.weight',
                 'f9.weight': 'decode_head.f9.weight'}
        for k, v in sd.items():
            target = heads.get(k, 'backbone.' + k)
            assert torch.equal(result.state_dict[target], v), k
        assert len(result.state_dict) == len(sd) == 191 + (1 if head == 'cls' else 4)
    # full width: head shapes are checked too (built on the meta device, no memory)
    expected = get_original_mapping('psa-res38-cls').expected_shapes(1)
    assert tuple(expected['decode_head.conv_cam.weight']) == (20, 4096, 1, 1)
    assert tuple(expected['backbone.b7.conv_branch2b2.weight']) == (4096, 2048, 1, 1)
    expected = get_original_mapping('psa-res38-aff').expected_shapes(1)
    assert tuple(expected['decode_head.f9.weight']) == (448, 448, 1, 1)
    assert tuple(expected['decode_head.f8_5.weight']) == (256, 4096, 1, 1)


def test_psa_mapping_is_strict_and_strips_module_prefix():
    sd = psa_state_dict(16, 'cls')
    sd = OrderedDict(('module.' + k, v) for k, v in sd.items())
    sd['module.extra.weight'] = torch.zeros(1)
    result = convert_original_state_dict(sd, 'psa-res38-cls', width_divisor=16)
    assert result.unused == ['module.extra.weight'] and not result.complete
    assert 'backbone.conv1a.weight' in result.state_dict
    with pytest.raises(KeyError, match='no original checkpoint mapping'):
        get_original_mapping('nope')


def test_registry_accepts_new_entries():
    name = 'test-only-mapping'
    try:
        register_original_mapping(name, description='x')(lambda k: None if k == 'drop' else 'new.' + k)
        result = convert_original_state_dict({'a': torch.ones(1), 'drop': torch.ones(2)}, name)
        assert list(result.state_dict) == ['new.a'] and result.dropped == ['drop']
        with pytest.raises(KeyError, match='already registered'):
            register_original_mapping(name)(lambda k: k)
    finally:
        ORIGINAL_MAPPINGS.pop(name, None)


# ------------------------------------------------------------------------------------------ tools
def _run(script, *args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    return subprocess.run([PYTHON, osp.join(ROOT, 'tools', 'model_converters', script), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


def test_mxnet2mmwsss_tool(tmp_path):
    spec = a1_params(16)
    arrays = random_arrays(spec, seed=5)
    src, dst = str(tmp_path / 'a1.params'), str(tmp_path / 'out' / 'r38.pth')
    save_mxnet_params(src, arrays, version=1)
    proc = _run('mxnet2mmwsss.py', src, dst, '--arch', 'resnet38', '--width-divisor', '16')
    assert proc.returncode == 0, proc.stderr
    assert '191 tensors converted, 2 dropped on purpose, 0 unused' in proc.stdout
    # the result loads through mmengine's Pretrained init (torch.load weights_only)
    from mmseg.registry import MODELS
    model = MODELS.build(dict(type='ResNet38', width_divisor=16, init_cfg=dict(type='Pretrained', checkpoint=dst)))
    model.init_weights()
    for name, (_, target) in spec.items():
        if target is not None:
            np.testing.assert_array_equal(model.state_dict()[target].numpy(), arrays[name], err_msg=name)


def test_mxnet2mmwsss_main_bad_file(tmp_path, capsys):
    sys.path.insert(0, ROOT)
    from tools.model_converters.mxnet2mmwsss import main
    src, bad, dst = str(tmp_path / 'a1.params'), str(tmp_path / 'broken.params'), str(tmp_path / 'broken.pth')
    save_mxnet_params(src, random_arrays(a1_params(16)), version=2)
    with open(src, 'rb') as f:
        data = f.read()
    with open(bad, 'wb') as f:
        f.write(data[:len(data) // 2])
    # a truncated file: exit status 1, the message names the file, nothing written
    assert main([bad, dst, '--arch', 'resnet38', '--width-divisor', '16']) == 1
    err = capsys.readouterr().err
    assert 'broken.params' in err and 'truncated' in err
    assert not osp.exists(dst)


def test_mxnet2mmwsss_main_vgg16_and_failures(tmp_path, capsys):
    sys.path.insert(0, ROOT)
    from tools.model_converters.mxnet2mmwsss import main
    src, dst = str(tmp_path / 'vgg.params'), str(tmp_path / 'vgg.pth')
    arrays = random_arrays(vgg_params(16), seed=7)
    save_mxnet_params(src, arrays, version=3)
    assert main([src, dst, '--arch', 'vgg16', '--width-divisor', '16']) == 0
    sd = torch.load(dst, weights_only=True)
    assert len(sd) == 30 and torch.equal(sd['fc6.weight'], torch.from_numpy(arrays['arg:fc6_weight']))
    # the wrong architecture: nothing maps, everything unused -> failure, no file
    assert main([src, str(tmp_path / 'wrong.pth'), '--arch', 'resnet38', '--width-divisor', '16']) == 1
    assert not osp.exists(str(tmp_path / 'wrong.pth'))
    # missing tensors fail unless allowed
    del arrays['arg:fc7_bias']
    save_mxnet_params(src, arrays)
    assert main([src, str(tmp_path / 'm.pth'), '--arch', 'vgg16', '--width-divisor', '16']) == 1
    assert 'fc7.bias' in capsys.readouterr().out
    assert main([src, str(tmp_path / 'm.pth'), '--arch', 'vgg16', '--width-divisor', '16', '--allow-missing']) == 0


def test_original2mmwsss_tool(tmp_path):
    sd = psa_state_dict(16, 'cls', seed=2)
    src, dst = str(tmp_path / 'res38_cls.pth'), str(tmp_path / 'psa_cls_mmwsss.pth')
    torch.save(sd, src)
    proc = _run('original2mmwsss.py', src, dst, '--model', 'psa-res38-cls', '--width-divisor', '16')
    assert proc.returncode == 0, proc.stderr
    assert '192 tensors converted, 0 dropped on purpose, 0 unused' in proc.stdout
    out = torch.load(dst, weights_only=True)
    assert torch.equal(out['decode_head.conv_cam.weight'], sd['fc8.weight'])
    assert torch.equal(out['backbone.b4_5.bn_branch2a.running_var'], sd['b4_5.bn_branch2a.running_var'])


def test_original2mmwsss_main_aff_and_bad_files(tmp_path, capsys):
    sys.path.insert(0, ROOT)
    from tools.model_converters.original2mmwsss import main
    sd = psa_state_dict(16, 'aff', seed=4)
    src, dst = str(tmp_path / 'res38_aff.pth'), str(tmp_path / 'aff.pth')
    torch.save({'state_dict': sd}, src)  # wrapped checkpoints are accepted too
    assert main([src, dst, '--model', 'psa-res38-aff', '--width-divisor', '16']) == 0
    out = torch.load(dst, weights_only=True)
    assert torch.equal(out['decode_head.f9.weight'], sd['f9.weight']) and len(out) == 195
    # the aff checkpoint under the cls mapping: f8_*/f9 unknown, fc8 missing
    assert main([src, str(tmp_path / 'x.pth'), '--model', 'psa-res38-cls', '--width-divisor', '16']) == 1
    text = capsys.readouterr().out
    assert 'f8_3.weight' in text and 'decode_head.conv_cam.weight' in text
    # an unknown key in an otherwise valid checkpoint: strict failure naming the key, nothing written
    sd_cls = psa_state_dict(16, 'cls', seed=2)
    sd_cls['fc9.weight'] = torch.zeros(2)
    torch.save(sd_cls, src)
    assert main([src, str(tmp_path / 'strict.pth'), '--model', 'psa-res38-cls', '--width-divisor', '16']) == 1
    captured = capsys.readouterr()
    assert 'fc9.weight' in captured.out and 'res38_aff.pth' in captured.err
    assert not osp.exists(str(tmp_path / 'strict.pth'))
    garbage = str(tmp_path / 'garbage.pth')
    with open(garbage, 'wb') as f:
        f.write(b'not a checkpoint')
    assert main([garbage, str(tmp_path / 'y.pth'), '--model', 'psa-res38-cls']) == 1
    assert 'garbage.pth' in capsys.readouterr().err
    assert main(['--list']) == 0 and 'psa-res38-aff' in capsys.readouterr().out
