"""Drawing helpers (exact pixel values) and tools/visualize_cams.py on the toy data set."""
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmwsss.utils.cam_io import save_cams
from mmwsss.visualization import (colorize_label, heatmap, heatmap_overlay, label_overlay, make_grid,
                                  voc_palette)
from tools.visualize_cams import main


def test_voc_palette_colours():
    pal = voc_palette()
    assert len(pal) == 768
    assert pal[3:6] == [128, 0, 0] and pal[6:9] == [0, 128, 0] and pal[9:12] == [128, 128, 0]
    assert pal[15 * 3:16 * 3] == [192, 128, 128]  # person
    assert pal[255 * 3:] == [224, 224, 192]  # VOC void colour


def test_label_overlay_exact():
    img = np.full((1, 3, 3), 100, np.uint8)
    label = np.array([[0, 1, 255]])
    out = label_overlay(img, label, alpha=0.5)
    # 0.5 * 100 + 0.5 * colour: bg (0,0,0) -> 50; class 1 (128,0,0) -> (114, 50, 50); void (224,224,192)
    np.testing.assert_array_equal(out[0], [[50, 50, 50], [114, 50, 50], [162, 162, 146]])
    out = label_overlay(img, label, alpha=0.5, skip_background=True)
    np.testing.assert_array_equal(out[0, 0], [100, 100, 100])
    np.testing.assert_array_equal(colorize_label(np.array([[2]])), [[[0, 128, 0]]])


def test_heatmap_endpoints_are_jet():
    cam = np.array([[0.0, 1.0, 2.0]])
    h = heatmap(cam)
    # JET: 0 -> dark blue (0, 0, 128), 1 -> dark red (128, 0, 0); values above vmax are clipped
    np.testing.assert_array_equal(h[0], [[0, 0, 128], [128, 0, 0], [128, 0, 0]])
    img = np.zeros((1, 3, 3), np.uint8)
    np.testing.assert_array_equal(heatmap_overlay(img, cam, alpha=0.5)[0, 0], [0, 0, 64])
    with pytest.raises(ValueError, match='does not match'):
        heatmap_overlay(img, np.zeros((2, 2)))


def test_make_grid_layout():
    a = np.full((10, 10, 3), 7, np.uint8)
    b = np.full((5, 8, 3), 9, np.uint8)
    grid = make_grid([[a, b], [b]], titles=[['x', 'y'], ['z']], pad=4, title_height=14)
    # cells are 10 x 10 plus a 14 px title; 2 rows, 2 columns
    assert grid.shape == (4 + 2 * (10 + 14 + 4), 4 + 2 * (10 + 4), 3)
    np.testing.assert_array_equal(grid[4 + 14, 4], [7, 7, 7])  # first tile top-left
    np.testing.assert_array_equal(grid[4 + 14, 4 + 14], [9, 9, 9])  # second tile
    np.testing.assert_array_equal(grid[4 + 28 + 14 + 4, 4 + 7], [9, 9, 9])  # second row, first tile
    np.testing.assert_array_equal(grid[4 + 28 + 14, 4 + 14], [255, 255, 255])  # empty cell
    with pytest.raises(ValueError):
        make_grid([[None]])


def _fake_cams(root, names, out):
    """CAM files from the GT masks (1 inside the object, 0.1 elsewhere) for the present classes."""
    for n in names:
        gt = np.asarray(Image.open(osp.join(root, 'SegmentationClass', n + '.png')))
        ids = sorted(int(v) for v in np.unique(gt) if v not in (0, 255))
        cams = np.stack([np.where(gt == c, 1.0, 0.1) for c in ids]).astype(np.float32)
        save_cams(osp.join(out, n + '.npy'), cams, ids)


def test_tool_on_toy_set(toy_voc_root, tmp_path):
    names = open(osp.join(toy_voc_root, 'ImageSets/Segmentation/val.txt')).read().split()[:3]
    cam_dir = str(tmp_path / 'cams')
    _fake_cams(toy_voc_root, names, cam_dir)
    out = str(tmp_path / 'vis' / 'grid.png')
    rc = main(['--img-dir', osp.join(toy_voc_root, 'JPEGImages'), '--cam-dir', cam_dir, '--pred-dir',
               osp.join(toy_voc_root, 'SegmentationClass'), '--list',
               osp.join(toy_voc_root, 'ImageSets/Segmentation/val.txt'), '--out', out, '--max-images', '3',
               '--class-names', osp.join(toy_voc_root, 'classes.txt'), '--num-classes', '6'])
    assert rc == 0
    with Image.open(out) as im:
        assert im.format == 'PNG'
        grid = np.asarray(im.convert('RGB'))
    imgs = [np.asarray(Image.open(osp.join(toy_voc_root, 'JPEGImages', n + '.jpg')).convert('RGB')) for n in names]
    gts = [np.asarray(Image.open(osp.join(toy_voc_root, 'SegmentationClass', n + '.png'))) for n in names]
    n_cls = [len([v for v in np.unique(g) if v not in (0, 255)]) for g in gts]
    cell_h = max(i.shape[0] for i in imgs)
    # rows: pad 4 + (title 14 + cell + pad 4) each; columns: image, one heat-map per class, pseudo-mask;
    # cells may be wider than the tiles to fit the titles
    ncols = 2 + max(n_cls)
    assert grid.shape[0] == 4 + 3 * (14 + cell_h + 4)
    assert (grid.shape[1] - 4) % ncols == 0
    cell_w = (grid.shape[1] - 4) // ncols - 4
    assert cell_w >= max(i.shape[1] for i in imgs)
    # first image, first class heat-map tile: an object pixel is 0.5 * image + 0.5 * jet(1) = (128, 0, 0)
    g0 = gts[0]
    c0 = min(int(v) for v in np.unique(g0) if v not in (0, 255))
    ys, xs = np.nonzero(g0 == c0)
    y, x = ys[len(ys) // 2], xs[len(xs) // 2]
    expected = np.rint(0.5 * imgs[0][y, x].astype(np.float32) + 0.5 * np.array([128, 0, 0])).astype(np.uint8)
    np.testing.assert_array_equal(grid[4 + 14 + y, 4 + (cell_w + 4) + x], expected)
    assert not [f for f in (tmp_path / 'vis').iterdir() if f.name != 'grid.png']  # no temporary left


def test_tool_reports_missing_cam(toy_voc_root, tmp_path, capsys):
    rc = main(['--img-dir', osp.join(toy_voc_root, 'JPEGImages'), '--cam-dir', str(tmp_path / 'none'), '--list',
               osp.join(toy_voc_root, 'ImageSets/Segmentation/val.txt'), '--out', str(tmp_path / 'g.png'),
               '--max-images', '2', '--num-classes', '6'])
    err = capsys.readouterr().err
    assert rc == 1 and 'CAM file not found' in err and '2 of 2 images failed' in err
    assert not osp.exists(tmp_path / 'g.png')
