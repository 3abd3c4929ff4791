"""rtc_contrast_best.pth -> mmwsss: every tensor converted or explicitly dropped, strict load (rtc.md §7)."""
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmwsss.converters import RTC_DROPPED_KEYS, RTC_HEAD_KEYS, RTC_HEAD_SHAPES
from mmwsss.converters.original import resnet38_backbone_key
from tools.model_converters import original2mmwsss

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def _build(cfg_name):
    init_default_scope('mmseg')
    return MODELS.build(Config.fromfile(osp.join(ROOT, 'configs/rtc', cfg_name)).model)


def _as_original(state_dict, prefix=''):
    """mmwsss RTC keys -> the original resnet38_contrast.Net keys, plus the tensors the original also has."""
    out = OrderedDict()
    for k, v in state_dict.items():
        head, rest = k.split('.', 1)
        assert head in ('backbone', 'decode_head', 'seg_head'), k
        out[prefix + rest] = v.clone()
    out[prefix + 'fc8.weight'] = torch.zeros(4096, 4352, 1, 1)
    out[prefix + '_aff.aff_x.kernel'] = torch.zeros(8, 1, 3, 3)
    out[prefix + '_aff.aff_m.kernel'] = torch.zeros(8, 1, 3, 3)
    out[prefix + '_aff.aff_std.kernel'] = torch.zeros(9, 1, 3, 3)
    return out


@pytest.mark.parametrize('prefix', ['', 'module.'])
def test_convert_toy_width_checkpoint_and_load_strict(tmp_path, prefix):
    torch.manual_seed(0)
    model = _build('rtc_res38-w16_1xb4-30it_toy-64x64.py')
    src, dst = str(tmp_path / 'rtc.pth'), str(tmp_path / 'out.pth')
    torch.save(_as_original(model.state_dict(), prefix), src)
    assert original2mmwsss.main([src, dst, '--model', 'rtc-res38', '--width-divisor', '16']) == 0
    torch.manual_seed(1)
    fresh = _build('rtc_res38-w16_1xb4-30it_toy-64x64.py')
    fresh.load_state_dict(torch.load(dst), strict=True)
    for k, v in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[k], v), k


def test_unknown_tensor_refuses_to_write(tmp_path):
    model = _build('rtc_res38-w16_1xb4-30it_toy-64x64.py')
    sd = _as_original(model.state_dict())
    sd['extra_head.weight'] = torch.zeros(1)
    src, dst = str(tmp_path / 'rtc.pth'), str(tmp_path / 'out.pth')
    torch.save(sd, src)
    assert original2mmwsss.main([src, dst, '--model', 'rtc-res38', '--width-divisor', '16']) == 1
    assert not osp.exists(dst)


def test_mapping_covers_the_full_width_model():
    with torch.device('meta'):
        model = _build('rtc_res38_voc.py')
    heads = {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.startswith('backbone.')}
    assert heads == {k: tuple(s) for k, s in RTC_HEAD_SHAPES.items()}  # rtc.md §2.2 shapes
    assert set(RTC_HEAD_KEYS.values()) == set(heads)
    for k in model.state_dict():
        if k.startswith('backbone.'):
            assert resnet38_backbone_key(k[len('backbone.'):]) == k
    assert set(RTC_DROPPED_KEYS) == {'fc8.weight', '_aff.aff_x.kernel', '_aff.aff_m.kernel', '_aff.aff_std.kernel'}
