"""The RTC segmentor: one training step on tiny inputs (finite terms, gradient routing of rtc.md §3.5),
epoch gating through the MessageHub, inference (contrast_infer.py semantics), and prototype gathering
across ranks."""
import os
import os.path as osp
import socket
import subprocess
import sys
import uuid

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOY_CFG = osp.join(ROOT, 'configs/rtc/rtc_res38-w16_1xb4-30it_toy-64x64.py')
LOSS_KEYS = {
    'loss_cls', 'loss_rvmin', 'loss_er', 'loss_ecr', 'loss_struct', 'loss_intra_nce', 'loss_cross_nce1',
    'loss_cross_nce2', 'loss_seg'
}


def _fresh_hub(**info):
    hub = MessageHub.get_instance(f'rtc-test-{uuid.uuid4().hex}')
    for k, v in info.items():
        hub.update_info(k, v)
    return hub


def _build(**model_overrides):
    init_default_scope('mmseg')
    cfg = Config.fromfile(TOY_CFG)
    cfg.model.update(model_overrides)
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


def _samples(labels, boxes=None):
    out = []
    for i, lab in enumerate(labels):
        meta = dict(img_shape=(64, 64), ori_shape=(64, 64))
        if boxes is not None:
            meta['crop_box'] = boxes[i]
        ds = SegDataSample(metainfo=meta)
        ds.gt_img_labels = torch.tensor(lab, dtype=torch.float32)
        out.append(ds)
    return out


@pytest.fixture(scope='module')
def model():
    return _build()


def _groups(model):
    groups = {'backbone': [], 'proj1': [], 'classifier1': [], 'aff': [], 'seg': []}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.startswith('backbone.'):
            groups['backbone'].append(p)
        elif name.startswith('decode_head.proj1'):
            groups['proj1'].append(p)
        elif name.startswith('decode_head.classifier1'):
            groups['classifier1'].append(p)
        elif name.startswith(('decode_head.f8_', 'decode_head.f9_')):
            groups['aff'].append(p)
        elif name.startswith('seg_head.'):
            groups['seg'].append(p)
    return groups


def _reached(loss, groups):
    names = list(groups)
    params = [p for n in names for p in groups[n]]
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    hit, i = set(), 0
    for n in names:
        for _ in groups[n]:
            g = grads[i]
            if g is not None and g.abs().sum() > 0:
                hit.add(n)
            i += 1
    return hit


def test_training_step_terms_finite_and_gradient_routing(model):
    model.train()
    _fresh_hub(iter=10)  # toy config: seg loss from iteration 10 (seg_by_epoch=False)
    torch.manual_seed(1)
    x = torch.randn(2, 3, 64, 64)
    ds = _samples([[1, 0, 0, 0, 0], [0, 0, 1, 0, 0]], boxes=[(0, 64, 0, 64), (4, 60, 0, 50)])
    losses = model.loss(x, ds)
    assert LOSS_KEYS <= set(losses) and 'class_relation' in losses
    for k, v in losses.items():
        assert torch.isfinite(v).all(), k
    assert losses['loss_seg'] > 0
    assert not losses['class_relation'].requires_grad  # logged, never optimised
    groups = _groups(model)
    full = {'backbone', 'proj1', 'classifier1'}
    expected = {
        'loss_cls': full,
        'loss_er': full,
        'loss_struct': full,
        'loss_intra_nce': {'backbone', 'proj1'},
        'loss_cross_nce1': {'backbone', 'proj1'},
        'loss_cross_nce2': {'backbone', 'proj1'},
        'loss_rvmin': {'aff'},
        'loss_ecr': {'aff'},  # the PCM inputs are detached
        'loss_seg': {'backbone', 'seg'},
    }
    for key, groups_hit in expected.items():
        assert _reached(losses[key], groups) == groups_hit, key


def test_seg_loss_off_before_seg_begin(model):
    model.train()
    _fresh_hub(iter=9)
    calls = []
    handle = model.seg_head.register_forward_hook(lambda *a: calls.append(1))
    try:
        losses = model.loss(torch.randn(2, 3, 64, 64), _samples([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0]]))
    finally:
        handle.remove()
    assert float(losses['loss_seg']) == 0 and not losses['loss_seg'].requires_grad
    assert calls == []  # the seg branch is not even run


def test_seg_gating_reads_the_epoch_from_the_message_hub():
    m = _build(train_cfg=dict(view2_size=(32, 32), seg_begin=7, seg_by_epoch=True))
    _fresh_hub(epoch=6, iter=100000)
    assert not m.seg_loss_active()
    _fresh_hub(epoch=7, iter=0)
    assert m.seg_loss_active()
    _fresh_hub()
    assert m.current_progress() == 0  # outside a runner


def test_second_view_is_the_resized_normalised_batch(model):
    x = torch.randn(1, 3, 64, 64)
    ref = F.interpolate(x, size=(32, 32), mode='bilinear', align_corners=True)
    torch.testing.assert_close(model.second_view(x), ref)


def _manual_probs(model, x):
    feats = model.extract_feat(x)
    cam, _ = model.decode_head.forward_cam(feats)
    cam = F.interpolate(cam, size=x.shape[-2:], mode='bilinear', align_corners=True)
    cls = torch.sigmoid(cam.mean(dim=(2, 3)))
    seg = F.interpolate(model.seg_head(feats), size=x.shape[-2:], mode='bilinear', align_corners=True)
    return (F.softmax(seg, dim=1) * cls[..., None, None])[:, 1:]


def test_predict_follows_contrast_infer(model):
    model.eval()
    torch.manual_seed(2)
    x = torch.randn(1, 3, 64, 64)
    old = dict(model.test_cfg)
    try:
        model.test_cfg.update(scales=(1.0, ), flip=True, gate='none')
        with torch.no_grad():
            ds = model.predict(x, _samples([[1, 0, 0, 0, 0]]))[0]
            p = _manual_probs(model, x)[0]
            pf = _manual_probs(model, x.flip(-1))[0].flip(-1)
        scores = ds.seg_logits.data
        assert torch.all(scores[0] == 0.17)
        torch.testing.assert_close(scores[1:], (p + pf) / 2, rtol=1e-4, atol=1e-6)
        assert torch.equal(ds.pred_sem_seg.data[0], scores.argmax(0))
        cams, ids = model.cam_results(x, _samples([[1, 0, 0, 0, 0]]))[0]
        assert ids.tolist() == [1, 2, 3, 4, 5] and cams.shape == (5, 64, 64)  # no label gating (original)
        model.test_cfg.update(gate='gt')
        with torch.no_grad():
            cams, ids = model.cam_results(x, _samples([[0, 1, 0, 1, 0]]))[0]
            scores = model.predict(x, _samples([[0, 1, 0, 1, 0]]))[0].seg_logits.data
        assert ids.tolist() == [2, 4]
        assert torch.all(scores[[1, 3, 5]] == 0)
    finally:
        model.test_cfg.clear()
        model.test_cfg.update(old)


def test_predict_with_the_rtc_crf(model):
    from mmwsss.refinement.dense_crf import DenseCRF
    model.eval()
    torch.manual_seed(3)
    x = torch.randn(1, 3, 64, 64).clamp(-2, 2)
    old = dict(model.test_cfg)
    try:
        model.test_cfg.update(scales=(1.0, ), flip=False, crf=None)
        with torch.no_grad():
            plain = model.predict(x, _samples([[1, 0, 0, 0, 0]]))[0]
        model.test_cfg.update(crf='rtc')
        with torch.no_grad():
            crf = model.predict(x, _samples([[1, 0, 0, 0, 0]]))[0]
    finally:
        model.test_cfg.clear()
        model.test_cfg.update(old)
    dp = model.data_preprocessor
    rgb = (x[0] * dp.std + dp.mean).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()
    ref = DenseCRF.from_preset('rtc').label_map(rgb, plain.pred_sem_seg.data[0].numpy(), 6)
    assert crf.pred_sem_seg.data[0].tolist() == ref.tolist()


_WORKER = r'''
import sys, torch, torch.distributed as dist
sys.path.insert(0, {root!r})
from mmengine.config import Config
from mmengine.registry import init_default_scope
import mmwsss
from mmseg.registry import MODELS
rank = int(sys.argv[1])
dist.init_process_group('gloo', init_method='tcp://127.0.0.1:{port}', rank=rank, world_size=2)
init_default_scope('mmseg')
model = MODELS.build(Config.fromfile({cfg!r}).model)
d = torch.load({data!r})
sl = slice(2 * rank, 2 * rank + 2)
out = model.prototypes_and_feedback(d['f1'][sl], d['f2'][sl], d['p1'][sl], d['p2'][sl], d['label'][sl])
torch.save(out, {out!r}.format(rank))
dist.destroy_process_group()
'''


def test_prototypes_gathered_over_ranks_equal_one_big_batch(model, tmp_path):
    torch.manual_seed(4)
    data = dict(f1=torch.rand(4, 16, 4, 4),
                f2=torch.rand(4, 16, 4, 4),
                p1=torch.rand(4, 6, 4, 4),
                p2=torch.rand(4, 6, 4, 4))
    data['label'] = torch.tensor([[1, 1, 0, 0, 0, 0], [1, 0, 0, 1, 0, 0], [1, 0, 1, 0, 0, 0], [1, 1, 0, 0, 0, 1]],
                                 dtype=torch.float32).view(4, 6, 1, 1)
    torch.save(data, tmp_path / 'data.pth')
    full = model.prototypes_and_feedback(**data)
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    script = tmp_path / 'worker.py'
    script.write_text(
        _WORKER.format(root=ROOT,
                       port=port,
                       cfg=TOY_CFG,
                       data=str(tmp_path / 'data.pth'),
                       out=str(tmp_path / 'out{}.pth')))
    env = dict(os.environ, OMP_NUM_THREADS='1')
    procs = [
        subprocess.Popen([sys.executable, str(script), str(r)],
                         cwd=ROOT,
                         env=env,
                         stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT,
                         text=True) for r in range(2)
    ]
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0, out[-3000:]
    for r in range(2):
        part = torch.load(tmp_path / f'out{r}.pth')
        sl = slice(2 * r, 2 * r + 2)
        torch.testing.assert_close(part['proto1'], full['proto1'])
        torch.testing.assert_close(part['proto2'], full['proto2'])
        torch.testing.assert_close(part['new1'], full['new1'][sl])
        torch.testing.assert_close(part['new2'], full['new2'][sl])
        assert torch.equal(part['y1'], full['y1'][sl])
        assert torch.equal(part['present'], full['present'])
    # without gathering, 2 images per rank give different prototypes (the reason for the option)
    local = model.prototypes_and_feedback(**{k: v[:2] for k, v in data.items()})
    assert not torch.allclose(local['proto1'], full['proto1'])
