"""The RTC configs encode the original recipe (rtc.md §4-5)."""
import functools
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmwsss.refinement.dense_crf import DenseCRF

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
MAIN = 'rtc_res38_4xb2-8e_voc12wsss-448x448.py'


@functools.lru_cache(maxsize=None)
def _cfg(name):
    return Config.fromfile(osp.join(ROOT, 'configs/rtc', name))


def test_voc_recipe_values():
    cfg = _cfg('rtc_res38_voc.py')  # the design card's name is an alias of the fully named recipe
    assert cfg.pretty_text == _cfg(MAIN).pretty_text
    assert cfg.num_gpus * cfg.train_dataloader.batch_size == 8 and cfg.train_dataloader.drop_last
    pipe = {t['type']: t for t in cfg.train_dataloader.dataset.pipeline}
    assert (pipe['RandomResizeLong']['min_long'], pipe['RandomResizeLong']['max_long']) == (448, 768)
    assert pipe['RandomCropPad']['crop_size'] == 448
    assert cfg.train_dataloader.dataset.ann_file.endswith('train_aug.txt')
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.01, 5e-4, 5e-4)  # momentum quirk
    assert _cfg('rtc_res38_4xb2-8e_voc12wsss-448x448_momentum0.9.py').optim_wrapper.optimizer.momentum == 0.9
    (poly, ) = cfg.param_scheduler
    assert (poly.type, poly.power, poly.eta_min, poly.end, poly.by_epoch) == ('PolyLR', 0.9, 0.0, 8, True)
    assert cfg.train_cfg.max_epochs == 8
    long = _cfg('rtc_res38_4xb2-25e_voc12wsss-448x448.py')
    assert long.train_cfg.max_epochs == 25 and long.param_scheduler[0].end == 25
    assert _cfg('rtc_res38_1xb8-8e_voc12wsss-448x448.py').train_dataloader.batch_size == 8
    m = cfg.model
    assert m.train_cfg.seg_begin == 7 and m.train_cfg.seg_by_epoch and m.train_cfg.view2_size == (128, 128)
    assert m.backbone.frozen_stages == 1 and m.backbone.norm_eval and m.backbone.freeze_bn
    assert m.test_cfg.scales == (0.5, 1.0, 1.5, 2.0) and m.test_cfg.flip and m.test_cfg.bg_threshold == 0.17
    assert m.test_cfg.gate == 'none' and m.test_cfg.crf is None
    assert _cfg('rtc_res38_4xb2-8e_voc12wsss-448x448_crf.py').model.test_cfg.crf == 'rtc'
    assert cfg.find_unused_parameters  # seg branch idle before epoch index 7 under DDP
    assert cfg.test_dataloader.dataset.ann_file.endswith('val.txt') and cfg.test_evaluator.type == 'IoUMetric'
    # checkpoints / validation after every 0-based epoch index > 6 (mmengine counts epochs from 1)
    assert cfg.default_hooks.checkpoint.save_begin == 8 and cfg.train_cfg.val_begin == 8


def test_rtc_crf_preset_is_contrast_infer():
    assert DenseCRF.preset_kwargs('rtc') == dict(unary='label',
                                                 gt_prob=0.7,
                                                 zero_unsure=False,
                                                 gaussian_sxy=3,
                                                 gaussian_compat=3,
                                                 bilateral_sxy=50,
                                                 bilateral_srgb=5,
                                                 bilateral_compat=10,
                                                 iterations=10)


@pytest.mark.parametrize('variant, momentum', [(MAIN, 5e-4),
                                               ('rtc_res38_4xb2-8e_voc12wsss-448x448_momentum0.9.py', 0.9)])
def test_parameter_groups(variant, momentum):
    """RTC groups: pretrained weights x1 (wd), from-scratch weights x10 (wd), from-scratch biases x20 (no wd)."""
    init_default_scope('mmseg')
    toy = Config.fromfile(osp.join(ROOT, 'configs/rtc/rtc_res38-w16_1xb4-30it_toy-64x64.py'))
    model = MODELS.build(toy.model)  # small widths; same parameter names as the full model
    wrapper = build_optim_wrapper(model, _cfg(variant).optim_wrapper)
    by_param = {}
    for g in wrapper.optimizer.param_groups:
        for p in g['params']:
            by_param[id(p)] = g
    named = dict(model.named_parameters())

    def group(name):
        g = by_param[id(named[name])]
        return round(g['lr'], 10), g['weight_decay'], g['momentum']

    assert group('backbone.b4.conv_branch2a.weight') == (0.01, 5e-4, momentum)
    for name in ('decode_head.proj1.weight', 'decode_head.classifier1.weight', 'decode_head.f9_1.weight',
                 'seg_head.fc8_seg_conv1.weight', 'seg_head.classifier2.weight'):
        assert group(name) == (0.1, 5e-4, momentum), name
    for name in ('seg_head.fc8_seg_conv1.bias', 'seg_head.fc8_seg_conv2.bias'):
        assert group(name) == (0.2, 0.0, momentum), name
