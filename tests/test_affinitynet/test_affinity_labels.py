"""Affinity labels from la/ha CRF marginals (psa VOC12AffDataset + ExtractAffinityLabelInRadius, affinitynet.md
§4.3), the CRF marginal file format and the AffinityCRFDataset, against a psa-style reference written from the
spec (skimage block_reduce, argmax rules, brute-force pairs)."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from PIL import Image
from skimage.measure import block_reduce

import mmwsss.datasets  # noqa: F401  (registers datasets and transforms)
from mmwsss.datasets.affinity_dataset import AffinityCRFDataset
from mmwsss.utils.crf_io import CRFMarginalsError, load_crf_marginals, save_crf_marginals
from mmwsss.datasets.transforms import RandomCropPad, WSSSRandomFlip
from mmwsss.datasets.transforms.affinity_labels import ExtractAffinityLabels, affinity_label_map, block_mean
from mmwsss.datasets.transforms.pack_affinity_inputs import PackAffinityInputs
from mmwsss.refinement.dense_crf import psa_crf_labels
from mmwsss.refinement.random_walk import AFF_BG_POS, AFF_FG_POS, AFF_NEG

init_default_scope('mmseg')
TOY_CLASSES = ('background', 'disc', 'square', 'triangle', 'diamond', 'cross')


def psa_reference_labels(la, ha, radius=5, stride=8):
    """psa: block_reduce(mean) of [la | ha], argmax rules, then brute-force pair labels -> (K, P) codes."""
    n = la.shape[-1]
    pooled = block_reduce(np.concatenate([la, ha], axis=-1), (stride, stride, 1), np.mean)
    no_score = pooled.max(axis=-1) < 1e-5
    la_idx, ha_idx = pooled[..., :n].argmax(-1), pooled[..., n:].argmax(-1)
    lab = la_idx.copy()
    lab[la_idx == 0] = 255
    lab[ha_idx == 0] = 0
    lab[no_score] = 255
    h, w = lab.shape
    offsets = [(0, dx) for dx in range(1, radius)]
    offsets += [(dy, dx) for dy in range(1, radius) for dx in range(-radius + 1, radius)
                if dx * dx + dy * dy < radius * radius]
    froms = [(y, x) for y in range(h - radius + 1) for x in range(radius - 1, w - radius + 1)]
    codes = np.zeros((len(offsets), len(froms)), np.uint8)
    for k, (dy, dx) in enumerate(offsets):
        for p, (y, x) in enumerate(froms):
            a, b = lab[y, x], lab[y + dy, x + dx]
            valid = a < 255 and b < 255
            if a == b and a == 0:
                codes[k, p] = AFF_BG_POS
            elif a == b and valid:
                codes[k, p] = AFF_FG_POS
            elif a != b and valid:
                codes[k, p] = AFF_NEG
    return lab, codes


def random_marginals(rng, h, w, n):
    q = rng.random((h, w, n)).astype(np.float32) ** 3
    return q / q.sum(-1, keepdims=True)


# ------------------------------------------------------------------------------------------------ pieces
def test_block_mean_equals_skimage_block_reduce():
    rng = np.random.default_rng(0)
    for shape in ((16, 24, 3), (13, 21, 2)):  # divisible and zero-padded
        x = rng.random(shape).astype(np.float32)
        np.testing.assert_allclose(block_mean(x, 8), block_reduce(x, (8, 8, 1), np.mean), rtol=1e-6)


def test_affinity_label_map_rules_hand_made():
    # 4 cells, n = 3 channels (bg, class a, class b)
    la = np.array([[[0.6, 0.3, 0.1], [0.2, 0.7, 0.1]], [[0.1, 0.2, 0.7], [0.0, 0.0, 0.0]]])
    ha = np.array([[[0.2, 0.5, 0.3], [0.5, 0.4, 0.1]], [[0.1, 0.1, 0.8], [0.0, 0.0, 0.0]]])
    lab = affinity_label_map(la, ha)
    # cell (0,0): la says bg -> ignore, ha says class -> stays ignore; (0,1): la class 1 but ha bg -> 0;
    # (1,0): both class 2 -> 2; (1,1): no score -> ignore
    assert lab.tolist() == [[255, 0], [2, 255]]


# ------------------------------------------------------------------------------------------------ transforms
@pytest.mark.parametrize('img_hw,flip', [((75, 90), True), ((40, 52), False)])
def test_crop_flip_extract_equals_psa(img_hw, flip):
    """Larger and smaller than the 64 crop; the crop pads the marginals with 255 on purpose: the extraction
    must re-zero the padding from crop_box (psa crops into a zero container)."""
    rng = np.random.default_rng(1)
    h, w = img_hw
    n = 3
    la, ha = random_marginals(rng, h, w, n), random_marginals(rng, h, w, n)
    ha[: h // 2] = np.array([0.9, 0.05, 0.05], np.float32)  # a confident background half
    results = dict(img=rng.integers(0, 256, (h, w, 3), dtype=np.uint8), gt_la_crf=la.copy(), gt_ha_crf=ha.copy(),
                   seg_fields=['gt_la_crf', 'gt_ha_crf'], img_shape=(h, w), ori_shape=(h, w))
    np.random.seed(3)
    results = RandomCropPad(64, img_pad_val=0., seg_pad_val=255)(results)
    if flip:
        results = WSSSRandomFlip(prob=1.0, direction='horizontal')(results)
    out = ExtractAffinityLabels(stride=8, radius=3)(results)

    # reference: zero container, same placement, flip, psa labels
    y0, y1, x0, x1 = results['crop_box'] if not flip else (results['crop_box'][0], results['crop_box'][1],
                                                             64 - results['crop_box'][3],
                                                             64 - results['crop_box'][2])
    sy, sx = results['crop_offset']
    cont = np.zeros((64, 64, 2 * n), np.float32)
    cont[y0:y1, x0:x1] = np.concatenate([la, ha], -1)[sy:sy + y1 - y0, sx:sx + x1 - x0]
    if flip:
        cont = cont[:, ::-1]
    ref_lab, ref_codes = psa_reference_labels(cont[..., :n], cont[..., n:], radius=3)
    np.testing.assert_array_equal(out['aff_label_map'], ref_lab)
    np.testing.assert_array_equal(out['gt_aff_labels'], ref_codes)
    assert out['gt_aff_labels'].shape == (12, 6 * 4)
    assert 'gt_la_crf' not in out and 'gt_la_crf' not in out['seg_fields']
    assert {AFF_BG_POS, AFF_NEG} <= set(np.unique(ref_codes))


def test_pack_affinity_inputs():
    results = dict(img=np.zeros((16, 16, 3), np.uint8), img_shape=(16, 16), ori_shape=(16, 16),
                   gt_aff_labels=np.full((4, 3), AFF_FG_POS, np.uint8))
    packed = PackAffinityInputs()(results)
    t = packed['data_samples'].gt_aff_labels
    assert t.dtype == torch.uint8 and t.shape == (4, 3) and bool((t == AFF_FG_POS).all())
    with pytest.raises(KeyError, match='ExtractAffinityLabels'):
        PackAffinityInputs()(dict(img=np.zeros((16, 16, 3), np.uint8), img_shape=(16, 16), ori_shape=(16, 16)))


# ------------------------------------------------------------------------------------------------ file format
def test_crf_marginal_file_round_trip_and_errors(tmp_path):
    rng = np.random.default_rng(2)
    q = np.moveaxis(random_marginals(rng, 5, 7, 3), -1, 0)
    path = str(tmp_path / 'a.npy')
    save_crf_marginals(path, q, [0, 4, 9], alpha=32, dtype=np.float32)
    probs, ids, alpha = load_crf_marginals(path, image_size=(5, 7), num_classes=21)
    np.testing.assert_array_equal(probs, q)
    assert ids.tolist() == [0, 4, 9] and alpha == 32.0
    with pytest.raises(CRFMarginalsError, match=r'a\.npy: CRF marginals are 5x7 .* image is 6x7'):
        load_crf_marginals(path, image_size=(6, 7))
    with pytest.raises(CRFMarginalsError, match=r'a\.npy: label ids .* outside 0\.\.5'):
        load_crf_marginals(path, num_classes=6)
    with pytest.raises(CRFMarginalsError, match='missing.npy: CRF marginal file not found'):
        load_crf_marginals(str(tmp_path / 'missing.npy'))
    pickled = str(tmp_path / 'psa.npy')
    np.save(pickled, {0: q[0], 5: q[1]}, allow_pickle=True)  # psa's own format
    with pytest.raises(CRFMarginalsError, match='psa.npy: not a readable mmwsss CRF marginal file'):
        load_crf_marginals(pickled)
    with pytest.raises(ValueError, match='0 \\(background\\)'):
        save_crf_marginals(path, q, [1, 4, 9], alpha=4)


# ------------------------------------------------------------------------------------------------ dataset
def _image_size(root, name):
    with Image.open(osp.join(root, 'JPEGImages', name + '.jpg')) as im:
        return im.size[1], im.size[0]


def _names(root, split='train'):
    with open(osp.join(root, 'ImageSets/Segmentation', split + '.txt')) as f:
        return [ln.strip() for ln in f if ln.strip()]


def _write_marginals(root, out, names, ids=(0, 1)):
    rng = np.random.default_rng(0)
    for sub in ('la', 'ha'):
        os.makedirs(osp.join(out, sub), exist_ok=True)
        for name in names:
            h, w = _image_size(root, name)
            q = np.moveaxis(random_marginals(rng, h, w, len(ids)), -1, 0)
            save_crf_marginals(osp.join(out, sub, name + '.npy'), q, ids, alpha=4 if sub == 'la' else 32)


def _dataset(root, out, pipeline=()):
    return AffinityCRFDataset(la_crf_dir=osp.join(out, 'la'), ha_crf_dir=osp.join(out, 'ha'), data_root=root,
                              ann_file='ImageSets/Segmentation/train.txt', metainfo=dict(classes=TOY_CLASSES),
                              pipeline=list(pipeline))


def test_dataset_pipeline_and_bad_files(toy_voc_root, tmp_path):
    names = _names(toy_voc_root)
    out = str(tmp_path / 'crf')
    _write_marginals(toy_voc_root, out, names)
    pipeline = [
        dict(type='LoadWSSSImageFromFile'),
        dict(type='PhotoMetricJitter'),
        dict(type='RandomCropPad', crop_size=64, img_pad_val=0., map_pad_vals=dict(gt_la_crf=0., gt_ha_crf=0.)),
        dict(type='WSSSRandomFlip', prob=0.5, direction='horizontal'),
        dict(type='ExtractAffinityLabels', stride=8, radius=3),
        dict(type='PackAffinityInputs'),
    ]
    ds = _dataset(toy_voc_root, out, pipeline)
    item = ds[0]
    assert item['inputs'].shape == (3, 64, 64)
    assert item['data_samples'].gt_aff_labels.shape == (12, 24)
    assert len(ds) == len(names)

    # missing file: one error at init listing it
    victim = osp.join(out, 'ha', names[1] + '.npy')
    os.remove(victim)
    with pytest.raises(FileNotFoundError, match=names[1] + r'\.npy'):
        _dataset(toy_voc_root, out)
    # wrong size: error at fetch time naming the file and both sizes
    h, w = _image_size(toy_voc_root, names[1])
    save_crf_marginals(victim, np.full((2, h, w + 3), 0.5, np.float32), [0, 1], alpha=32)
    ds = _dataset(toy_voc_root, out)
    with pytest.raises(CRFMarginalsError, match=names[1] + r'\.npy: CRF marginals are \d+x\d+ .* but the image'):
        ds[1]
    # la and ha from different CAMs
    save_crf_marginals(victim, np.full((3, h, w), 1 / 3, np.float32), [0, 1, 2], alpha=32)
    with pytest.raises(CRFMarginalsError, match='different label ids'):
        _dataset(toy_voc_root, out)[1]
    with pytest.raises(FileNotFoundError, match='la_crf_dir'):
        AffinityCRFDataset(la_crf_dir=str(tmp_path / 'nope'), ha_crf_dir=osp.join(out, 'ha'), data_root=toy_voc_root,
                           ann_file='ImageSets/Segmentation/train.txt', metainfo=dict(classes=TOY_CLASSES))


def test_float16_storage_keeps_the_labels(toy_voc_root, tmp_path):
    """The claim of mmwsss/datasets/affinity_dataset.py: float16 marginals give the same affinity labels as
    float32 on the toy data (psa la/ha CRF, alpha 4 / 32, CAMs made from the GT masks)."""
    names = _names(toy_voc_root)[:8]
    extract = ExtractAffinityLabels(stride=8, radius=3, drop_maps=False)
    changed = total = 0
    for name in names:
        img = np.asarray(Image.open(osp.join(toy_voc_root, 'JPEGImages', name + '.jpg')).convert('RGB'))
        gt = np.asarray(Image.open(osp.join(toy_voc_root, 'SegmentationClassAug', name + '.png')))
        ids = [c for c in range(1, 6) if (gt == c).any()]
        cams = np.stack([(gt == c).astype(np.float32) for c in ids])
        cams = np.clip(cams * 0.9 + 0.05 * np.random.default_rng(0).random(cams.shape), 0, 1).astype(np.float32)
        maps = {}
        for dtype in (np.float16, np.float32):
            for alpha, key in ((4, 'gt_la_crf'), (32, 'gt_ha_crf')):
                q, label_ids = psa_crf_labels(img, cams, ids, alpha)
                path = str(tmp_path / f'{name}_{alpha}_{np.dtype(dtype).name}.npy')
                save_crf_marginals(path, q, label_ids, alpha, dtype)
                maps[(dtype, key)] = np.moveaxis(load_crf_marginals(path, img.shape[:2])[0], 0, -1)
        out = {dt: extract(dict(img=img, gt_la_crf=maps[(dt, 'gt_la_crf')], gt_ha_crf=maps[(dt, 'gt_ha_crf')]))
               for dt in (np.float16, np.float32)}
        changed += int((out[np.float16]['gt_aff_labels'] != out[np.float32]['gt_aff_labels']).sum())
        total += out[np.float32]['gt_aff_labels'].size
        assert np.abs(maps[(np.float16, 'gt_la_crf')] - maps[(np.float32, 'gt_la_crf')]).max() < 1e-3
    assert total > 0 and changed == 0
