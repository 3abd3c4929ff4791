import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.optim.scheduler import PolyLR
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmwsss  # noqa: F401

init_default_scope('mmseg')


def _model(**test_cfg):
    cfg = dict(
        type='CAMSegmentor',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=dict(type='ResNet38', out_features=('conv6', ), width_divisor=16, dropout=(0., 0.),
                      frozen_stages=-1, norm_eval=True),
        decode_head=dict(type='CAMHead', in_channels=256, num_classes=4, dropout_ratio=0.0),
        test_cfg=test_cfg)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _sample(labels, h=40, w=48):
    ds = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
    ds.gt_img_labels = torch.tensor(labels, dtype=torch.float32)
    return ds


def test_loss_is_psa_multilabel_soft_margin():
    model = _model()
    model.eval()  # no dropout; the formula is the same in train mode
    x = torch.randn(2, 3, 40, 48)
    samples = [_sample([1, 0, 0, 1]), _sample([0, 1, 0, 0])]
    y = torch.tensor([[1., 0, 0, 1], [0, 1, 0, 0]])
    feat = model.backbone(x)[-1]
    w = model.decode_head.conv_cam.weight[:, :, 0, 0]
    z = feat.mean(dim=(2, 3)) @ w.t()  # psa: fc8(GAP(conv6))
    sig = 1 / (1 + torch.exp(-z))
    expected = -(y * torch.log(sig) + (1 - y) * torch.log(1 - sig)).mean()
    losses = model.loss(x, samples)
    torch.testing.assert_close(losses['loss_cls'], expected, rtol=1e-5, atol=1e-6)
    # the CAM is the same linear map applied at every position, then ReLU
    cams = model.forward_cam(x)
    torch.testing.assert_close(cams, F.relu(torch.einsum('bchw,kc->bkhw', feat, w)), rtol=1e-5, atol=1e-6)


def test_loss_rejects_wrong_number_of_classes():
    model = _model()
    with pytest.raises(ValueError, match='5 classes.*4 foreground'):
        model.loss(torch.randn(1, 3, 32, 32), [_sample([1, 0, 0, 0, 1])])
    with pytest.raises(KeyError, match='PackWSSSInputs'):
        model.loss(torch.randn(1, 3, 32, 32), [SegDataSample()])


def test_predict_gates_with_image_labels_and_thresholds():
    model = _model(bg_threshold=0.0, gate='gt')
    model.eval()
    x = torch.randn(1, 3, 40, 48)
    with torch.no_grad():
        out = model.predict(x, [_sample([0, 1, 0, 1])])[0]
    pred = out.pred_sem_seg.data[0]
    assert set(pred.unique().tolist()) <= {0, 2, 4}  # only the image's classes (label values 2 and 4)
    scores = out.seg_logits.data
    assert scores.shape == (5, 40, 48)
    assert torch.all(scores[[1, 3]] == 0)  # absent classes get no CAM
    assert scores[[2, 4]].max() <= 1.0  # max-normalised: S / (max S + 1e-5) < 1
    # with threshold 1 nothing beats the background
    model.test_cfg['bg_threshold'] = 1.0
    with torch.no_grad():
        pred1 = model.predict(x, [_sample([0, 1, 0, 1])])[0].pred_sem_seg.data
    assert torch.all(pred1 == 0)


def test_predict_drops_batch_padding_and_resizes_to_original():
    model = _model(bg_threshold=0.1)
    model.eval()
    x = torch.randn(1, 3, 40, 48)
    padded = F.pad(x, (0, 16, 0, 8), value=5.0)  # garbage in the padding must not matter
    ds_a = _sample([1, 1, 0, 0], 40, 48)
    ds_b = _sample([1, 1, 0, 0], 40, 48)
    ds_b.set_metainfo(dict(ori_shape=(80, 96)))
    with torch.no_grad():
        a = model.predict(x, [ds_a])[0].seg_logits.data
        b = model.predict(padded, [ds_b])[0].seg_logits.data
    assert b.shape == (5, 80, 96)
    torch.testing.assert_close(F.interpolate(a[None], size=(80, 96), mode='bilinear', align_corners=False)[0], b)


def test_psa_cam_recipe_optimizer_and_poly_schedule():
    """psa PolyOptimizer: lr_t = lr0 (1 - t/T)^0.9 every iteration, head x10, SGD momentum = 5e-4 (quirk)."""
    cfg = Config.fromfile('configs/cam/cam_res38_1xb16-15e_voc12wsss-448x448.py')
    model = _model()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    opt = wrapper.optimizer
    assert all(g['momentum'] == 5e-4 for g in opt.param_groups)
    head = [g for g in opt.param_groups if any(p is model.decode_head.conv_cam.weight for p in g['params'])]
    assert len(head) == 1 and head[0]['lr'] == pytest.approx(1.0)
    sch = cfg.param_scheduler[0]
    assert not sch['by_epoch']
    scheduler = PolyLR(opt, power=sch['power'], eta_min=sch['eta_min'], begin=sch['begin'], end=sch['end'],
                       by_epoch=False)
    total = 10582 // 16 * 15  # psa max_step with drop_last
    for t in range(total):
        if t in (0, 1, 100, total // 2, total - 1):
            expected = 0.1 * (1 - t / total)**0.9
            assert opt.param_groups[0]['lr'] == pytest.approx(expected, rel=1e-6, abs=1e-12), t
            assert head[0]['lr'] == pytest.approx(10 * expected, rel=1e-6, abs=1e-11), t
        opt.step()
        scheduler.step()
    assert math.isclose(cfg.optim_wrapper.optimizer.weight_decay, 5e-4)
