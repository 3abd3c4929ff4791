"""ICD superpixels (icd.md §5.3): hand-worked cases for the numbering, the region features, the greedy merge
(similarity cos + 1 - (|i| + |j|) / (h w), first maximum in row-major order, the lower index survives), the PNG
format, and tools/gen_superpixels.py on real files."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from mmwsss.datasets.transforms.loading import LoadSuperpixels
from mmwsss.models.backbones import VGG16DeepLab
from mmwsss.refinement.superpixels import (encode_superpixels, felzenszwalb_segments, greedy_merge_regions,
                                           region_features, relabel_first_occurrence, save_superpixels)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def test_relabel_first_occurrence():
    seg = np.array([[5, 5, 2], [9, 2, 5]])
    np.testing.assert_array_equal(relabel_first_occurrence(seg), [[0, 0, 1], [2, 1, 0]])


def test_felzenszwalb_finds_four_flat_quadrants_in_raster_order():
    img = np.zeros((20, 24, 3), np.uint8)
    img[:10, :12] = (200, 30, 30)
    img[:10, 12:] = (30, 200, 30)
    img[10:, :12] = (30, 30, 200)
    img[10:, 12:] = (220, 220, 40)
    seg = felzenszwalb_segments(img, k=75, sigma=0.8, min_size=75)  # ICD values; quadrants have 120 px
    # four segments, numbered in raster order of their first pixel; the one-pixel seams next to the colour
    # edges are blurred by the Gaussian and go to one of the two sides, so only the interiors are checked
    assert seg.max() == 3
    for ids, (rows, cols) in enumerate([(slice(0, 9), slice(0, 11)), (slice(0, 9), slice(13, 24)),
                                        (slice(11, 20), slice(0, 11)), (slice(11, 20), slice(13, 24))]):
        assert (seg[rows, cols] == ids).all()
    with pytest.raises(ValueError, match='uint8'):
        felzenszwalb_segments(img.astype(np.float32))


def test_region_features_by_hand():
    seg = np.array([[0, 0, 1], [2, 1, 1]])
    feats = np.array([[[1, 3, 2], [7, 4, 6]]], dtype=np.float32)  # D = 1
    mean, sizes = region_features(seg, feats)
    np.testing.assert_allclose(mean[:, 0], [2.0, 4.0, 7.0])
    np.testing.assert_array_equal(sizes, [2, 3, 1])
    with pytest.raises(ValueError, match='without gaps'):
        region_features(np.array([[0, 2]]), np.zeros((1, 1, 2)))


def _four_regions(vectors, widths):
    """Regions 0..3 side by side in one row of pixels, each filled with its feature vector."""
    seg = np.concatenate([np.full(w, i) for i, w in enumerate(widths)])[None]
    feats = np.concatenate([np.tile(np.asarray(v, float)[:, None], (1, w)) for v, w in zip(vectors, widths)],
                           axis=1)[:, None, :]
    return seg, feats


def test_greedy_merge_tie_goes_to_the_first_pair_in_row_major_order():
    # cos(0, 2) == cos(1, 3) and equal sizes: the pair (0, 2) comes first, region 2 joins region 0
    seg, feats = _four_regions([(1, 0), (0, 1), (1, 0.1), (0.1, 1)], [3, 3, 3, 3])
    out = greedy_merge_regions(seg, feats, max_regions=3)
    np.testing.assert_array_equal(np.unique(out[0].reshape(4, 3), axis=1)[:, 0], [0, 1, 0, 2])
    # one more merge: (1, 3) now has the highest similarity (0.995 + 1 - 6/12 vs. at most 0.05 + 1 - 9/12)
    out = greedy_merge_regions(seg, feats, max_regions=2)
    np.testing.assert_array_equal(out[0].reshape(4, 3)[:, 0], [0, 1, 0, 1])


def test_greedy_merge_size_term_prefers_small_regions():
    # identical features (cos = 1): sim = 2 - (|i| + |j|) / 12, so the two 1-pixel regions merge first
    seg, feats = _four_regions([(1, 2), (1, 2), (1, 2), (3, -1)], [9, 1, 1, 1])
    out = greedy_merge_regions(seg, feats, max_regions=3)
    np.testing.assert_array_equal(out[0], [0] * 9 + [1, 1, 2])
    # the merged feature is the size-weighted mean: region 0 (9 px of (1, 2)) + region 3 (1 px of (3, -1))
    # is never preferred over (0, 1) whose cos is 1, so the next merge joins 0 and {1, 2}
    out = greedy_merge_regions(seg, feats, max_regions=2)
    np.testing.assert_array_equal(out[0], [0] * 11 + [1])
    with pytest.raises(ValueError, match='max_regions'):
        greedy_merge_regions(seg, feats, max_regions=0)


def test_png_round_trip_through_the_loader(tmp_path):
    seg = np.array([[0, 255, 256], [65535, 65536, 70000]])
    rgb = encode_superpixels(seg)
    np.testing.assert_array_equal(rgb[0, 2], [0, 1, 0])  # 256 = G 1
    np.testing.assert_array_equal(rgb[1, 2], [1, 17, 112])  # 70000 = 65536 + 17 * 256 + 112
    save_superpixels(str(tmp_path / 'a.png'), seg)
    with Image.open(tmp_path / 'a.png') as im:
        np.testing.assert_array_equal(LoadSuperpixels.decode(im), seg)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.png']  # no temporary left behind


def _run_tool(*args):
    return subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'gen_superpixels.py'), *args],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)


def test_gen_superpixels_tool(toy_voc_root, tmp_path):
    img_dir = osp.join(toy_voc_root, 'JPEGImages')
    ids = [n for n in open(osp.join(toy_voc_root, 'ImageSets', 'Segmentation', 'val.txt')).read().split()][:4]
    lst = tmp_path / 'list.txt'
    lst.write_text('\n'.join(ids) + '\n')
    torch.manual_seed(0)
    ckpt = tmp_path / 'vgg.pth'
    torch.save(VGG16DeepLab(out_features=('conv5_3', ), with_fc=False, width_divisor=16).state_dict(), ckpt)
    out = tmp_path / 'sp'
    args = ['--img-dir', img_dir, '--list', str(lst), '--out-dir', str(out), '--vgg-checkpoint', str(ckpt),
            '--width-divisor', '16', '--min-size', '10', '--max-regions', '5', '--pad-size', '64']
    res = _run_tool(*args)
    assert res.returncode == 0, res.stderr
    assert '4 done, 0 skipped' in res.stdout
    for name in ids:
        with Image.open(out / 'raw' / f'{name}.png') as im:
            raw = LoadSuperpixels.decode(im)
        with Image.open(out / 'merged' / f'{name}.png') as im:
            merged = LoadSuperpixels.decode(im)
        n_raw = raw.max() + 1
        np.testing.assert_array_equal(np.unique(raw), np.arange(n_raw))
        assert np.unique(merged).tolist() == list(range(min(n_raw, 5)))
        # the merge only joins whole raw segments
        for s in range(n_raw):
            assert len(np.unique(merged[raw == s])) == 1
    assert '0 done, 4 skipped' in _run_tool(*args).stdout
    # a corrupt image is listed, the others are done, exit 1
    bad = tmp_path / 'imgs'
    bad.mkdir()
    for name in ids[:2]:
        (bad / f'{name}.jpg').write_bytes(open(osp.join(img_dir, f'{name}.jpg'), 'rb').read())
    (bad / f'{ids[2]}.jpg').write_bytes(b'not a jpeg')
    res = _run_tool('--img-dir', str(bad), '--list', str(lst), '--out-dir', str(tmp_path / 'sp2'))
    assert res.returncode == 1
    assert f'FAILED {ids[2]}' in res.stdout and f'FAILED {ids[3]}' in res.stdout and '2 done' in res.stdout
    res = _run_tool('--img-dir', img_dir, '--list', str(tmp_path / 'missing.txt'), '--out-dir', str(out))
    assert res.returncode != 0 and 'missing.txt' in res.stderr
