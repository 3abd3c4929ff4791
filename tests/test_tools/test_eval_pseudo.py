"""tools/eval_pseudo.py on tiny hand-made sets whose numbers are computed by hand."""
import csv
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mmwsss.utils.cam_io import save_cams
from tools.eval_pseudo import main, threshold_confusions

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOOL = osp.join(ROOT, 'tools', 'eval_pseudo.py')


def _png(path, arr):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(arr, np.uint8), mode='L').save(path)


def _list(path, names):
    with open(path, 'w') as f:
        f.write('\n'.join(names) + '\n')


@pytest.fixture
def png_set(tmp_path):
    """Two 2x3 images, classes 0..2 (see the hand computation in test_png_subprocess)."""
    _png(tmp_path / 'gt' / 'a.png', [[0, 0, 1], [1, 1, 2]])
    _png(tmp_path / 'pred' / 'a.png', [[0, 1, 1], [1, 0, 2]])
    _png(tmp_path / 'gt' / 'b.png', [[2, 2, 0], [255, 0, 0]])
    _png(tmp_path / 'pred' / 'b.png', [[2, 0, 0], [1, 0, 0]])
    _list(tmp_path / 'val.txt', ['a', 'b'])
    return tmp_path


def test_png_subprocess(png_set):
    t = png_set
    out = t / 'out'
    r = subprocess.run([sys.executable, TOOL, '--pred-dir', str(t / 'pred'), '--gt-dir', str(t / 'gt'), '--list',
                        str(t / 'val.txt'), '--num-classes', '3', '--out-dir', str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    # confusion (rows GT, cols pred): [[4, 1, 0], [1, 2, 0], [1, 0, 2]]; the GT-255 pixel is skipped
    # IoU: 4 / (5 + 6 - 4), 2 / (3 + 3 - 2), 2 / (3 + 2 - 2)
    iou = [4 / 7, 1 / 2, 2 / 3]
    miou = sum(iou) / 3
    assert f'mIoU: {100 * miou:.2f}' in r.stdout  # 57.94
    rep = json.load(open(out / 'metrics.json'))
    assert rep['split'] == 'val' and rep['num_images'] == 2
    np.testing.assert_allclose(rep['metrics']['IoU'], iou)
    np.testing.assert_allclose(rep['metrics']['Precision'], [4 / 6, 2 / 3, 1.0])
    np.testing.assert_allclose(rep['metrics']['Recall'], [4 / 5, 2 / 3, 2 / 3])
    assert rep['metrics']['mIoU'] == pytest.approx(miou)
    rows = list(csv.reader(open(out / 'per_class.csv')))
    assert rows[0][:4] == ['class', 'IoU', 'Precision', 'Recall'] and len(rows) == 4
    assert float(rows[1][1]) == pytest.approx(4 / 7)


def test_chosen_on_the_reported_split_warns(png_set, capsys):
    t = png_set
    rc = main(['--pred-dir', str(t / 'pred'), '--gt-dir', str(t / 'gt'), '--list', str(t / 'val.txt'),
               '--num-classes', '3', '--chosen-on', 'val', '--out-dir', str(t / 'o')])
    assert rc == 0
    err = capsys.readouterr().err
    assert 'WARNING' in err and "'val'" in err
    rep = json.load(open(t / 'o' / 'metrics.json'))
    assert rep['threshold_chosen_on'] == 'val' and rep['warnings']


def test_failures_are_all_listed(tmp_path, capsys):
    _png(tmp_path / 'gt' / 'a.png', np.zeros((4, 4)))
    _png(tmp_path / 'gt' / 'b.png', np.zeros((4, 4)))
    _png(tmp_path / 'gt' / 'c.png', np.zeros((4, 4)))
    _png(tmp_path / 'pred' / 'b.png', np.zeros((4, 5)))  # wrong size
    _png(tmp_path / 'pred' / 'c.png', np.full((4, 4), 9))  # class out of range
    _list(tmp_path / 'val.txt', ['a', 'b', 'c', 'd'])  # a: no prediction, d: no GT
    rc = main(['--pred-dir', str(tmp_path / 'pred'), '--gt-dir', str(tmp_path / 'gt'), '--list',
               str(tmp_path / 'val.txt'), '--num-classes', '3', '--out-dir', str(tmp_path / 'o')])
    err = capsys.readouterr().err
    assert rc == 1
    assert '4 of 4 images failed' in err
    assert osp.join('pred', 'a.png') in err and 'prediction file not found' in err
    assert osp.join('pred', 'b.png') in err and '4x5' in err and '4x4' in err
    assert osp.join('pred', 'c.png') in err and '[9]' in err
    assert osp.join('gt', 'd.png') in err and 'ground truth file not found' in err
    assert not osp.exists(tmp_path / 'o')


def test_bad_cam_files_and_empty_list(tmp_path, capsys):
    _png(tmp_path / 'gt' / 'a.png', np.zeros((4, 4)))
    _png(tmp_path / 'gt' / 'b.png', np.zeros((4, 4)))
    save_cams(str(tmp_path / 'cam' / 'a.npy'), np.zeros((1, 3, 4), np.float32), [1])  # wrong size
    save_cams(str(tmp_path / 'cam' / 'b.npy'), np.zeros((1, 4, 4), np.float32), [5])  # class 5 of 3
    _list(tmp_path / 'val.txt', ['a', 'b'])
    rc = main(['--type', 'npy', '--thresholds', '0.2', '--pred-dir', str(tmp_path / 'cam'), '--gt-dir',
               str(tmp_path / 'gt'), '--list', str(tmp_path / 'val.txt'), '--num-classes', '3'])
    err = capsys.readouterr().err
    assert rc == 1
    assert 'a.npy' in err and '3x4' in err and 'b.npy' in err and '[5]' in err
    _list(tmp_path / 'empty.txt', [])
    rc = main(['--pred-dir', str(tmp_path / 'cam'), '--gt-dir', str(tmp_path / 'gt'), '--list',
               str(tmp_path / 'empty.txt')])
    assert rc == 1 and 'empty.txt: the image list is empty' in capsys.readouterr().err


def _cam_case(root):
    """One 2x2 image, class 1 on the right column. Largest CAM per pixel: bg pixels 0.105 / 0.255,
    fg pixels 0.405 / 0.555. mIoU by threshold t: t < 0.105: (0 + 2/4) / 2 = 0.25; 0.105 <= t < 0.255:
    (1/2 + 2/3) / 2; 0.255 <= t < 0.405: 1; 0.405 <= t < 0.555: (2/3 + 1/2) / 2; t >= 0.555: (2/4 + 0) / 2.
    Best threshold on the 0.01 grid: 0.26."""
    _png(root / 'gt' / 'x.png', [[0, 1], [0, 1]])
    cams = np.array([[[0.105, 0.405], [0.255, 0.555]]], np.float32)
    save_cams(str(root / 'cam' / 'x.npy'), cams, [1], dtype=np.float32)
    _list(root / 'train.txt', ['x'])


def test_curve_subprocess_writes_plot_and_finds_best(tmp_path):
    _cam_case(tmp_path)
    out = tmp_path / 'curve_out'
    r = subprocess.run([sys.executable, TOOL, '--type', 'npy', '--curve', '--pred-dir', str(tmp_path / 'cam'),
                        '--gt-dir', str(tmp_path / 'gt'), '--list', str(tmp_path / 'train.txt'), '--num-classes',
                        '2', '--out-dir', str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    rep = json.load(open(out / 'metrics.json'))
    curve = rep['curve']
    assert len(curve['thresholds']) == 61 and curve['thresholds'][-1] == pytest.approx(0.60)
    assert curve['best_threshold'] == pytest.approx(0.26)
    assert curve['best_mIoU'] == pytest.approx(1.0)
    m = dict(zip([round(t, 2) for t in curve['thresholds']], curve['mIoU']))
    assert m[0.10] == pytest.approx(0.25)
    assert m[0.11] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert m[0.25] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert m[0.40] == pytest.approx(1.0)
    assert m[0.41] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert m[0.56] == pytest.approx(0.25)
    assert rep['threshold_chosen_on'] == 'train' and rep['bg_threshold'] == pytest.approx(0.26)
    assert 'WARNING' in r.stderr and "reported split 'train'" in r.stderr
    with Image.open(out / 'curve.png') as im:
        assert im.format == 'PNG' and im.size[0] > 100
    assert len(list(csv.reader(open(out / 'curve.csv')))) == 62


def test_fixed_threshold_from_another_split_no_warning(tmp_path, capsys):
    _cam_case(tmp_path)
    os.replace(tmp_path / 'train.txt', tmp_path / 'val.txt')
    rc = main(['--type', 'npy', '--thresholds', '0.3', '--chosen-on', 'train', '--pred-dir', str(tmp_path / 'cam'),
               '--gt-dir', str(tmp_path / 'gt'), '--list', str(tmp_path / 'val.txt'), '--num-classes', '2',
               '--out-dir', str(tmp_path / 'o'), '--nproc', '2'])
    cap = capsys.readouterr()
    assert rc == 0 and 'WARNING' not in cap.err
    assert 'chosen on: train' in cap.out
    rep = json.load(open(tmp_path / 'o' / 'metrics.json'))
    assert rep['metrics']['mIoU'] == pytest.approx(1.0) and rep['bg_threshold'] == 0.3


def test_threshold_confusions_match_direct_argmax():
    # compare the cumulative formulation with argmax([t, cams]) written out by hand for a 1x4 map
    cams = np.array([[[0.3, 0.0, 0.6, 0.2]], [[0.1, 0.0, 0.7, 0.2]]], np.float32)  # classes 1, 2
    gt = np.array([[1, 0, 2, 255]])
    cms = threshold_confusions(cams, np.array([1, 2]), gt, [0.0, 0.25, 0.65], 3)
    # t=0.00: preds 1, 0 (tie at 0 -> bg), 2, (ignored)
    # t=0.25: preds 1, 0, 2;  t=0.65: preds 0, 0, 2
    exp = np.zeros((3, 3, 4), int)
    exp[0, 1, 1] = exp[0, 0, 0] = exp[0, 2, 2] = 1
    exp[1, 1, 1] = exp[1, 0, 0] = exp[1, 2, 2] = 1
    exp[2, 1, 0] = exp[2, 0, 0] = exp[2, 2, 2] = 1
    np.testing.assert_array_equal(cms, exp)


def test_cam_class_set_checked_against_image_labels(tmp_path, capsys):
    _cam_case(tmp_path)  # x.npy holds class 1 only
    labels = {'x': np.array([0, 1], np.float32)}  # image-level label: class 2 (multi-hot over foreground)
    np.save(tmp_path / 'cls_labels.npy', labels, allow_pickle=True)
    rc = main(['--type', 'npy', '--thresholds', '0.3', '--pred-dir', str(tmp_path / 'cam'), '--gt-dir',
               str(tmp_path / 'gt'), '--list', str(tmp_path / 'train.txt'), '--num-classes', '3', '--cls-labels',
               str(tmp_path / 'cls_labels.npy')])
    err = capsys.readouterr().err
    assert rc == 1 and 'x.npy: CAM classes [1] differ from the image labels [2]' in err
