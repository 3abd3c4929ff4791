"""The DeepLab final-stage configs: they load, carry the original recipe (deeplab_final.md §3, icam.md §4.2),
their poly schedule equals YudeWang's adjust_lr exactly and their optimiser groups are YudeWang's."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS, init_default_scope
from mmseg.registry import DATASETS, MODELS, TRANSFORMS

import mmwsss  # noqa: F401

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CFG = osp.join(ROOT, 'configs', 'deeplab')
V1 = osp.join(CFG, 'deeplabv1_res38-largefov_1xb10-20k_voc-pseudo-448x448.py')
V2 = osp.join(CFG, 'deeplabv2_r101-aspp_1xb10-20k_voc-pseudo-448x448.py')
TOY_V1 = osp.join(CFG, 'deeplabv1_res38-w16-largefov_1xb4-40it_toy-pseudo-64x64.py')


@pytest.fixture(autouse=True)
def _mmseg_scope():
    init_default_scope('mmseg')


def _types(pipeline):
    for t in pipeline:
        yield t['type']
        for sub in t.get('transforms', []):
            yield from _types(sub if isinstance(sub, list) else [sub])


@pytest.mark.parametrize('path', sorted(glob.glob(osp.join(CFG, '*.py'))), ids=osp.basename)
def test_every_config_loads_and_names_registered_types(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg' and cfg.custom_imports['imports'] == ['mmwsss']
    assert MODELS.get(cfg.model.type) is not None and MODELS.get(cfg.model.decode_head.type) is not None
    assert MODELS.get(cfg.model.backbone.type) is not None and MODELS.get(cfg.tta_model.type) is not None
    assert cfg.train_dataloader.dataset.type == 'PseudoMaskDataset'
    assert cfg.train_dataloader.dataset.check_masks is True
    assert DATASETS.get(cfg.val_dataloader.dataset.type) is not None
    for t in _types(cfg.train_pipeline + cfg.test_pipeline + cfg.tta_pipeline):
        assert TRANSFORMS.get(t) is not None, t
    assert cfg.model.decode_head.loss_decode.avg_non_ignore is True
    assert cfg.model.decode_head.align_corners is True
    assert [e['type'] for e in cfg.test_evaluator] == ['IoUMetric', 'ContourFScore']
    if 'toy' not in path:
        coco = 'coco' in path
        assert cfg.train_cfg.max_iters == (200000 if coco else 20000)
        assert cfg.model.decode_head.num_classes == (81 if coco else 21)
        assert len(cfg.train_dataloader.dataset.get('metainfo', {}).get('classes', [0] * 21)) == (81 if coco else 21)
        assert cfg.train_dataloader.batch_size == 10 and cfg.model.data_preprocessor.size == (448, 448)
        crop = [t for t in cfg.train_pipeline if t['type'] == 'RandomCropPad'][0]
        assert crop['crop_size'] == 448 and crop['img_pad_val'] == cfg.model.data_preprocessor.mean[::-1]
        opt = cfg.optim_wrapper.optimizer
        assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 1e-3, 0.9, 5e-4)
        assert cfg.img_ratios == [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
        assert cfg.tta_model['merge'] == 'logits' and cfg.tta_model.crf['preset'] == 'deeplab-v1'
        init = cfg.model.backbone.init_cfg
        assert init.type == 'Pretrained' and ('resnet38' in init.checkpoint or 'resnet101s' in init.checkpoint)


def test_pseudo_dir_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv('PSEUDO_DIR', raising=False)
    assert Config.fromfile(V1).train_dataloader.dataset.pseudo_dir == 'pseudo_masks'
    monkeypatch.setenv('PSEUDO_DIR', '/data/pseudo/crf_a4')
    assert Config.fromfile(V1).train_dataloader.dataset.pseudo_dir == '/data/pseudo/crf_a4'


def test_poly_schedule_equals_yudewang_adjust_lr():
    cfg = Config.fromfile(V1)
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=1e-3)
    sched = PARAM_SCHEDULERS.build(dict(cfg.param_scheduler[0], optimizer=opt))
    max_itr = cfg.train_cfg.max_iters
    checks = {0: None, 1: None, 5000: None, 19999: None}
    for it in range(max_itr):
        if it in checks:
            checks[it] = opt.param_groups[0]['lr']
        sched.step()
    for it, lr in checks.items():  # train.py adjust_lr: 0.001 * (1 - itr / (max_itr + 1)) ** 0.9
        assert lr == pytest.approx(1e-3 * (1 - it / (max_itr + 1))**0.9, rel=1e-9, abs=1e-15), it


def test_optimizer_groups_are_yudewang_groups():
    cfg = Config.fromfile(TOY_V1)
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr, wd = cfg.optim_wrapper.optimizer.lr, cfg.optim_wrapper.optimizer.weight_decay
    by_param = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            by_param[id(p)] = group
    named = dict(model.named_parameters())
    for name, p in named.items():
        if not p.requires_grad:  # every BN weight / bias: frozen, as in the original (in no optimiser group)
            assert '.bn' in name or 'bn7' in name or '.bn_' in name, name
            assert id(p) not in by_param, name
            continue
        g = by_param[id(p)]
        if name == 'decode_head.conv_seg.bias':
            assert (g['lr'], g['weight_decay']) == (20 * base_lr, 0), name
        elif name.startswith('decode_head.'):
            assert (g['lr'], g['weight_decay']) == (10 * base_lr, wd), name
        else:
            assert name.startswith('backbone.') and name.endswith('weight'), name
            assert (g['lr'], g['weight_decay']) == (base_lr, wd), name
    trainable = [n for n, p in named.items() if p.requires_grad]
    assert 'backbone.conv1a.weight' in trainable  # YudeWang never calls .train(): conv1a trains
    assert not any('bn' in n for n in trainable)


def test_v2_backbone_is_resnet101s():
    cfg = Config.fromfile(V2)
    b = cfg.model.backbone
    assert (b.type, b.depth, b.stem_channels, b.contract_dilation, b.dilations, b.strides) == \
        ('ResNetV1c', 101, 128, True, (1, 1, 2, 4), (1, 2, 1, 1))
    assert b.norm_cfg.requires_grad is False and b.norm_eval is False and b.init_cfg.prefix == 'backbone.'
    h = cfg.model.decode_head
    assert (h.fusion, h.dilations, h.channels, h.with_global) == ('concat', (6, 12, 18, 24), 256, True)
    assert Config.fromfile(osp.join(CFG, 'deeplabv2_r101-aspp-sum_1xb10-20k_voc-pseudo-448x448.py')) \
        .model.decode_head.fusion == 'sum'
