"""Every module mmwsss registers builds from mmseg's registries (scope 'mmseg'), and every config loads.

BUILD_CFGS must name every registered mmwsss class: a new module without an entry here fails
``test_every_registered_name_is_covered``.
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, HOOKS, METRICS, MODELS, TRANSFORMS

import mmwsss  # noqa: F401

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
REGISTRIES = {'model': MODELS, 'dataset': DATASETS, 'transform': TRANSFORMS, 'metric': METRICS, 'hook': HOOKS}

_R38 = dict(type='ResNet38', width_divisor=16, out_features=('conv4', 'conv5', 'conv6'))
_R38_SINGLE = dict(type='ResNet38', width_divisor=16, out_features=('conv6', ))
_DP = dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
_CAM_SEG = dict(type='CAMSegmentor', data_preprocessor=_DP, backbone=_R38_SINGLE,
                decode_head=dict(type='CAMHead', in_channels=256, num_classes=5))


def _lazy(type_, **kw):
    return dict(type=type_, data_root='/nonexistent', ann_file='list.txt', lazy_init=True, **kw)


def _from_config(path: str, key: str = 'model'):
    """The ``key`` dict of a repository config (toy configs keep these builds small)."""
    return Config.fromfile(osp.join(ROOT, path))[key]


# registry name -> class name -> build config (or a zero-argument callable returning one)
BUILD_CFGS = {
    'model': {
        'ResNet38': _R38,
        'VGG16DeepLab': dict(type='VGG16DeepLab'),
        'CAMHead': dict(type='CAMHead', in_channels=8, num_classes=3),
        'CAMSegmentor': _CAM_SEG,
        'MultiLabelSoftMarginLoss': dict(type='MultiLabelSoftMarginLoss'),
        'AffinityHead': lambda: _from_config('configs/affinitynet/affinitynet_res38-w16_1xb8-40it_toy-64x64.py')[
            'decode_head'],
        'AffinityNet': lambda: _from_config('configs/affinitynet/affinitynet_res38-w16_1xb8-40it_toy-64x64.py'),
        'AffinityLoss': dict(type='AffinityLoss'),
        'LargeFOVHead': dict(type='LargeFOVHead', in_channels=32, channels=16, num_classes=6),
        'ASPPV2Head': dict(type='ASPPV2Head', in_channels=32, channels=16, num_classes=6),
        'CRFEncoderDecoder': lambda: _from_config(_glob_one('configs/deeplab/deeplabv1*toy*.py')),
        'CRFSegTTAModel': lambda: dict(type='CRFSegTTAModel',
                                       module=_from_config(_glob_one('configs/deeplab/deeplabv1*toy*.py'))),
        'RTC': lambda: _from_config(_glob_one('configs/rtc/rtc_*toy*.py')),
        'RTCCAMHead': lambda: _from_config(_glob_one('configs/rtc/rtc_*toy*.py'))['decode_head'],
        'RTCSegHead': lambda: _from_config(_glob_one('configs/rtc/rtc_*toy*.py'))['seg_head'],
        'VARM': dict(type='VARM'),
        'BalancedMaskCELoss': dict(type='BalancedMaskCELoss'),
        'PrototypeInfoNCELoss': dict(type='PrototypeInfoNCELoss'),
        'WTAStructLoss': dict(type='WTAStructLoss'),
    },
    'dataset': {
        'BaseWSSSDataset': _lazy('BaseWSSSDataset', metainfo=dict(classes=('background', 'a'))),
        'WSSSVOCDataset': _lazy('WSSSVOCDataset'),
        'WSSSCOCODataset': _lazy('WSSSCOCODataset'),
        'ToyWSSSDataset': _lazy('ToyWSSSDataset'),
        'PseudoMaskDataset': _lazy('PseudoMaskDataset', pseudo_dir='/nonexistent/pseudo', check_masks=False),
        'AffinityCRFDataset': _lazy('AffinityCRFDataset', la_crf_dir='/nonexistent/la', ha_crf_dir='/nonexistent/ha',
                                    check_files=False),
    },
    'transform': {
        'LoadWSSSImageFromFile': dict(type='LoadWSSSImageFromFile'),
        'LoadWSSSAnnotations': dict(type='LoadWSSSAnnotations', num_classes=21),
        'LoadPseudoMask': dict(type='LoadPseudoMask'),
        'LoadSaliencyMap': dict(type='LoadSaliencyMap'),
        'LoadSuperpixels': dict(type='LoadSuperpixels'),
        'PILRescale': dict(type='PILRescale', scale_factor=0.5),
        'PackWSSSInputs': dict(type='PackWSSSInputs'),
        'PhotoMetricJitter': dict(type='PhotoMetricJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
        'RandomCropPad': dict(type='RandomCropPad', crop_size=448),
        'RandomResizeLong': dict(type='RandomResizeLong', min_long=256, max_long=512),
        'RandomHSVShift': dict(type='RandomHSVShift', h_delta=10, s_delta=10, v_delta=10),
        'RandomScaleFactor': dict(type='RandomScaleFactor', min_scale=0.5, max_scale=1.5),
        'RescaledView': dict(type='RescaledView'),
        'WSSSRandomFlip': dict(type='WSSSRandomFlip', prob=0.5),
        'ExtractAffinityLabels': dict(type='ExtractAffinityLabels'),
        'PackAffinityInputs': dict(type='PackAffinityInputs'),
    },
    'metric': {
        'ContourFScore': dict(type='ContourFScore'),
    },
    'hook': {
        'PseudoLabelHook': dict(type='PseudoLabelHook', dataset=_lazy('ToyWSSSDataset'), masks=('thr:0.2', 'crf:4')),
    },
}


def _glob_one(pattern: str) -> str:
    found = sorted(glob.glob(osp.join(ROOT, pattern)))
    assert found, f'no config matches {pattern}'
    return osp.relpath(found[0], ROOT)


def _registered():
    for reg_name, reg in REGISTRIES.items():
        for name, cls in reg.module_dict.items():
            if cls.__module__.startswith('mmwsss'):
                yield reg_name, name


def test_every_registered_name_is_covered():
    missing = [f'{r}:{n}' for r, n in _registered() if n not in BUILD_CFGS[r]]
    assert not missing, f'add build configs to tests/test_registry.py for {missing}'
    stale = [f'{r}:{n}' for r, names in BUILD_CFGS.items() for n in names if n not in REGISTRIES[r].module_dict]
    assert not stale, f'no longer registered: {stale}'


@pytest.mark.parametrize('reg_name,name', sorted((r, n) for r, names in BUILD_CFGS.items() for n in names))
def test_builds_from_registry(reg_name, name):
    init_default_scope('mmseg')
    cfg = BUILD_CFGS[reg_name][name]
    cfg = cfg() if callable(cfg) else dict(cfg)
    obj = REGISTRIES[reg_name].build(cfg)
    assert type(obj).__name__ == name
    assert type(obj).__module__.startswith('mmwsss')
    if isinstance(obj, torch.nn.Module) and reg_name == 'model':
        obj.eval()


CONFIGS = sorted(osp.relpath(p, ROOT) for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p)


@pytest.mark.parametrize('path', CONFIGS)
def test_config_loads_and_inherits_mmseg(path):
    cfg = Config.fromfile(osp.join(ROOT, path))
    assert cfg.default_scope == 'mmseg', path
    assert cfg.custom_imports['imports'] == ['mmwsss'] and not cfg.custom_imports['allow_failed_imports'], path
    assert 'model' in cfg and 'train_dataloader' in cfg, path
    # mmseg::_base_/default_runtime.py was inherited: its logger/visualizer are present
    assert cfg.visualizer['type'] == 'SegLocalVisualizer', path
