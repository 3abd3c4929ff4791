"""AffinityNet head, loss, segmentor, psa checkpoint mapping and checkpoint checks (affinitynet.md §2.4-2.5,
§3.3, §4.4, §5.3)."""
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.structures import SegDataSample

import mmwsss  # noqa: F401
from mmseg.registry import MODELS
from mmwsss.apis.random_walk_labels import load_affinity_checkpoint
from mmwsss.converters.original import convert_original_state_dict, get_original_mapping
from mmwsss.refinement.random_walk import AFF_BG_POS, AFF_FG_POS, AFF_IGNORE, AFF_NEG, pair_indices

init_default_scope('mmseg')
TOY_CFG = 'configs/affinitynet/affinitynet_res38-w16_1xb8-40it_toy-64x64.py'
FULL_CFG = 'configs/affinitynet/affinitynet_res38_1xb8-8e_voc12wsss-448x448.py'


def _cfg(path):
    import os.path as osp
    return Config.fromfile(osp.join(osp.dirname(__file__), '..', '..', path))


def _toy_model(**head):
    cfg = _cfg(TOY_CFG)
    cfg.model.decode_head.update(head)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


# ------------------------------------------------------------------------------------------------ loss
def test_affinity_loss_matches_psa_formula():
    aff = torch.tensor([[[0.9, 0.2, 0.5], [0.7, 0.01, 0.99]], [[0.3, 0.6, 0.8], [0.4, 0.5, 0.05]]])
    codes = torch.tensor([[[AFF_BG_POS, AFF_NEG, AFF_FG_POS], [AFF_IGNORE, AFF_NEG, AFF_BG_POS]],
                          [[AFF_FG_POS, AFF_FG_POS, AFF_IGNORE], [AFF_NEG, AFF_BG_POS, AFF_NEG]]], dtype=torch.uint8)
    # psa train_aff.py with the three float label tensors, counts summed over the whole batch
    a = aff.double().numpy()
    bg, fg, neg = [(codes == c).double().numpy() for c in (AFF_BG_POS, AFF_FG_POS, AFF_NEG)]
    bg_loss = np.sum(-bg * np.log(a + 1e-5)) / (bg.sum() + 1e-5)
    fg_loss = np.sum(-fg * np.log(a + 1e-5)) / (fg.sum() + 1e-5)
    neg_loss = np.sum(-neg * np.log(1. + 1e-5 - a)) / (neg.sum() + 1e-5)
    loss = MODELS.build(dict(type='AffinityLoss'))(aff, codes)
    assert loss['loss_aff_bg'].item() == pytest.approx(bg_loss / 4, rel=1e-6)
    assert loss['loss_aff_fg'].item() == pytest.approx(fg_loss / 4, rel=1e-6)
    assert loss['loss_aff_neg'].item() == pytest.approx(neg_loss / 2, rel=1e-6)
    assert sum(loss.values()).item() == pytest.approx(bg_loss / 4 + fg_loss / 4 + neg_loss / 2, rel=1e-6)
    # hand check of one term: bg pairs have affinities 0.9, 0.99, 0.5
    assert bg_loss == pytest.approx(-(np.log(0.90001) + np.log(0.99001) + np.log(0.50001)) / (3 + 1e-5))
    with pytest.raises(ValueError, match='crop size, the stride or the radius'):
        MODELS.build(dict(type='AffinityLoss'))(aff, codes[:, :1])


# ------------------------------------------------------------------------------------------------ head
def test_full_width_head_names_shapes_and_init():
    cfg = _cfg(FULL_CFG)
    head = MODELS.build(cfg.model.decode_head)
    head.init_weights()
    shapes = {k: tuple(v.shape) for k, v in head.state_dict().items()}
    expected = get_original_mapping('psa-res38-aff').head_shapes
    assert {f'decode_head.{k}': v for k, v in shapes.items()} == {k: tuple(v) for k, v in expected.items()}
    # psa init: kaiming_normal_ (fan_in, gain sqrt 2) for f8_*, xavier_uniform_(gain 4) for f9
    for name, fan_in in (('f8_3', 512), ('f8_4', 1024), ('f8_5', 4096)):
        std = getattr(head, name).weight.std().item()
        assert std == pytest.approx(np.sqrt(2 / fan_in), rel=0.05), name
    w9 = head.f9.weight
    bound = 4 * np.sqrt(6 / (448 + 448))
    assert w9.abs().max().item() <= bound and w9.abs().max().item() > 0.99 * bound
    assert w9.std().item() == pytest.approx(bound / np.sqrt(3), rel=0.02)


def test_head_features_and_affinities_written_out():
    model = _toy_model()
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        taps = model.backbone(x)
        h = model.decode_head
        # psa resnet38_aff.Net.forward written out with the same weights
        f = [F.elu(F.conv2d(t, getattr(h, n).weight)) for t, n in zip(taps, ('f8_3', 'f8_4', 'f8_5'))]
        feat = F.elu(F.conv2d(torch.cat(f, 1), h.f9.weight)).flatten(2)
        src, dst = pair_indices((8, 8), 3)
        ff = feat[:, :, src].unsqueeze(2)
        ft = feat[:, :, dst].view(1, feat.shape[1], -1, src.numel())
        ref = torch.exp(-(ft - ff).abs().mean(1))
        aff = model.forward_affinity(x)
    torch.testing.assert_close(aff, ref, rtol=1e-5, atol=1e-6)
    assert aff.shape == (1, 12, 24)


def test_training_step_loss_and_frozen_parts():
    cfg = _cfg(TOY_CFG)
    cfg.model.backbone.update(frozen_stages=1, freeze_bn=True, norm_eval=True)  # psa freezing
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(2):
        ds = SegDataSample()
        ds.gt_aff_labels = torch.randint(0, 4, (12, 24), generator=g, dtype=torch.uint8)
        samples.append(ds)
    losses = model.loss(torch.randn(2, 3, 64, 64, generator=g), samples)
    assert {'loss_aff_bg', 'loss_aff_fg', 'loss_aff_neg'} <= set(losses)
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    total.backward()
    assert model.backbone.conv1a.weight.grad is None and model.backbone.b2_1.conv_branch2a.weight.grad is None
    assert model.backbone.b4.conv_branch2a.weight.grad is not None
    assert model.decode_head.f9.weight.grad is not None
    assert not model.backbone.bn7.training  # BN always in eval mode (psa)
    bad = SegDataSample()
    bad.gt_aff_labels = torch.zeros(12, 20, dtype=torch.uint8)  # labels of another crop size
    with pytest.raises(ValueError, match='crop size'):
        model.loss(torch.randn(1, 3, 64, 64), [bad])
    with pytest.raises(KeyError, match='ExtractAffinityLabels'):
        model.loss(torch.randn(1, 3, 64, 64), [SegDataSample()])


# ------------------------------------------------------------------------------------------------ random walk
def test_model_random_walk_equals_psa_written_out():
    """psa infer_aff.py: pad the normalised image to a multiple of 8 with zeros, dense T**(2**logt), etc."""
    model = _toy_model()
    model.eval()
    model.test_cfg.update(alpha=6, beta=8, logt=3)
    g = torch.Generator().manual_seed(1)
    H, W = 45, 61  # padded to 48 x 64 -> 6 x 8 grid
    img = torch.randn(1, 3, H, W, generator=g)
    cams = torch.rand(2, H, W, generator=g)
    ids = torch.tensor([2, 5])
    labels = model.random_walk(img, cams, ids)
    with torch.no_grad():
        padded = F.pad(img, (0, 3, 0, 3))
        aff = model.forward_affinity(padded)[0]
        src, dst = pair_indices((6, 8), 3)
        a = torch.zeros(48, 48, dtype=torch.float64)
        a[src.repeat(12), dst] = aff.double().flatten()
        a[dst, src.repeat(12)] = aff.double().flatten()
        a[torch.arange(48), torch.arange(48)] = 1
        a = a**8
        t = a / a.sum(0, keepdim=True)
        for _ in range(3):
            t = t @ t
        full = torch.zeros(6, H, W, dtype=torch.float64)
        full[2], full[5] = cams[0], cams[1]
        full[0] = (1 - full[1:].max(0).values)**6
        v = F.avg_pool2d(F.pad(full, (0, 3, 0, 3))[None], 8, 8)[0].flatten(1)
        rw = (v @ t).view(1, 6, 6, 8)
        ref = F.interpolate(rw, size=(48, 64), mode='bilinear', align_corners=False)[0].argmax(0)[:H, :W]
    assert torch.equal(labels, ref)
    # a batch of two same-size images with lists of CAMs gives the per-image results
    both = model.random_walk(torch.cat([img, img]), [cams, cams[:1]], [ids, ids[:1]])
    assert torch.equal(both[0], labels)
    assert torch.equal(both[1], model.random_walk(img, cams[:1], ids[:1]))
    with pytest.raises(NotImplementedError, match='gen_pseudo'):
        model.predict(img)


# ------------------------------------------------------------------------------------------------ checkpoints
def _psa_aff_state_dict(model):
    """A psa resnet38_aff.Net-named state dict (backbone keys bare, heads f8_*/f9) from a model's tensors."""
    sd = OrderedDict()
    for k, v in model.state_dict().items():
        if k.endswith('num_batches_tracked'):
            continue
        sd[k.split('.', 1)[1]] = torch.randn_like(v) if v.is_floating_point() else v
    return sd


def test_psa_checkpoint_converts_into_the_model(tmp_path):
    model = _toy_model(channels=(64, 128, 256), out_channels=448)  # psa head widths on the 1/16 backbone
    psa_sd = _psa_aff_state_dict(model)
    result = convert_original_state_dict(psa_sd, 'psa-res38-aff', width_divisor=16)
    assert result.complete
    missing, unexpected = model.load_state_dict(result.state_dict, strict=False)
    assert not unexpected and all(k.endswith('num_batches_tracked') for k in missing)
    for k in ('f8_3', 'f8_4', 'f8_5', 'f9'):
        assert torch.equal(getattr(model.decode_head, k).weight, psa_sd[f'{k}.weight'])
    # the same through the strict loader of the random-walk tool, from an mmengine-style file
    path = str(tmp_path / 'aff.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    fresh = _toy_model(channels=(64, 128, 256), out_channels=448)
    load_affinity_checkpoint(fresh, path)
    assert torch.equal(fresh.decode_head.f9.weight, psa_sd['f9.weight'])


def test_wrong_checkpoints_name_the_file(tmp_path):
    model = _toy_model()
    cam_cfg = _cfg('configs/cam/cam_res38-w16_1xb8-300it_toy-64x64.py')
    cam = MODELS.build(cam_cfg.model)
    path = str(tmp_path / 'cam_model.pth')
    torch.save({'state_dict': cam.state_dict()}, path)
    with pytest.raises(ValueError, match=r'cam_model\.pth: not a checkpoint of this AffinityNet config: .*missing'):
        load_affinity_checkpoint(model, path)
    wide = _toy_model(channels=(64, 128, 256), out_channels=448)
    path = str(tmp_path / 'other_width.pth')
    torch.save(wide.state_dict(), path)
    with pytest.raises(ValueError, match=r'other_width\.pth: .*of another shape'):
        load_affinity_checkpoint(model, path)
    path = str(tmp_path / 'res38_aff.pth')  # an unconverted psa checkpoint
    torch.save(_psa_aff_state_dict(model), path)
    with pytest.raises(ValueError, match=r'res38_aff\.pth: .*convert it .*psa-res38-aff'):
        load_affinity_checkpoint(model, path)
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_affinity_checkpoint(model, str(tmp_path / 'nope.pth'))
