"""End to end on the toy data: tools/train.py trains each DeepLab head on toy pseudo-masks (written from the toy
GT), tools/test.py evaluates with multi-scale + flip + CRF, and bad pseudo-mask folders are refused before
training (tools/check_pseudo_masks.py reports every bad file)."""
import glob
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CFG = osp.join(ROOT, 'configs', 'deeplab')
TOY_V1 = osp.join(CFG, 'deeplabv1_res38-w16-largefov_1xb4-40it_toy-pseudo-64x64.py')
TOY_V2 = osp.join(CFG, 'deeplabv2_r18-aspp_1xb4-40it_toy-pseudo-64x64.py')
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def _ids(root, split):
    with open(osp.join(root, 'ImageSets', 'Segmentation', f'{split}.txt')) as f:
        return f.read().split()


@pytest.fixture(scope='module')
def toy_pseudo(toy_voc_root, tmp_path_factory):
    """Pseudo masks = the toy GT of every train_aug id (values 0..5 and 255)."""
    out = str(tmp_path_factory.mktemp('toy_pseudo'))
    for name in _ids(toy_voc_root, 'train_aug'):
        shutil.copy(osp.join(toy_voc_root, 'SegmentationClassAug', f'{name}.png'), osp.join(out, f'{name}.png'))
    return out


def _opts(root, pseudo):
    return [f'train_dataloader.dataset.data_root={root}', f'train_dataloader.dataset.pseudo_dir={pseudo}',
            f'val_dataloader.dataset.data_root={root}', f'test_dataloader.dataset.data_root={root}']


def _run(args, timeout=600):
    env = dict(os.environ)
    env.pop('PSEUDO_DIR', None)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)


def _train(cfg, work_dir, root, pseudo, iters=4):
    res = _run([osp.join(ROOT, 'tools/train.py'), cfg, '--work-dir', work_dir, '--cfg-options',
                *_opts(root, pseudo), f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
                f'default_hooks.checkpoint.interval={iters}', 'default_hooks.logger.interval=1',
                f'param_scheduler.0.end={iters + 2}'])
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout + res.stderr


def _losses(log):
    return [float(x) for x in re.findall(r'decode\.loss_ce: ([0-9.]+)', log)]


@pytest.mark.parametrize('cfg', [TOY_V1, TOY_V2], ids=['deeplabv1-largefov', 'deeplabv2-aspp'])
def test_toy_training_and_ms_flip_crf_test(cfg, toy_voc_root, toy_pseudo, tmp_path):
    work = str(tmp_path / 'work')
    log = _train(cfg, work, toy_voc_root, toy_pseudo)
    losses = _losses(log)
    assert len(losses) == 4 and all(np.isfinite(losses)) and losses[0] > 0
    assert 'mIoU' in log  # single-scale validation on the toy val split at the end
    ckpt = osp.join(work, 'iter_4.pth')
    assert osp.isfile(ckpt)
    if cfg != TOY_V2:  # the MS + flip + CRF test once, on the faster toy network
        return
    out = str(tmp_path / 'pred')
    res = _run([osp.join(ROOT, 'tools/test.py'), cfg, ckpt, '--tta', '--crf', 'deeplab-v1', '--out', out,
                '--work-dir', str(tmp_path / 'test'), '--cfg-options', *_opts(toy_voc_root, toy_pseudo),
                'test_dataloader.dataset.indices=3'])  # 3 images x 12 passes: enough, and CPU-cheap
    text = res.stdout + res.stderr
    assert res.returncode == 0, text[-3000:]
    assert re.search(r'mIoU: [0-9.]+', text) and re.search(r'mContourF: [0-9.]+', text)
    val_ids = _ids(toy_voc_root, 'val')[:3]
    written = sorted(osp.splitext(osp.basename(p))[0] for p in glob.glob(osp.join(out, '*.png')))
    assert written == sorted(val_ids)
    for name in val_ids:  # one label map per image, at the image's original size, values in 0..5
        pred = np.array(Image.open(osp.join(out, f'{name}.png')))
        with Image.open(osp.join(toy_voc_root, 'JPEGImages', f'{name}.jpg')) as im:
            assert pred.shape == (im.height, im.width)
        assert pred.max() <= 5


def _corrupt(toy_voc_root, toy_pseudo, dst):
    shutil.copytree(toy_pseudo, dst)
    ids = _ids(toy_voc_root, 'train_aug')
    os.remove(osp.join(dst, f'{ids[1]}.png'))  # missing
    Image.fromarray(np.zeros((5, 7), np.uint8)).save(osp.join(dst, f'{ids[2]}.png'))  # wrong size
    bad = np.array(Image.open(osp.join(dst, f'{ids[3]}.png')))
    bad[0, 0] = 9  # a value outside 0..5 / 255
    Image.fromarray(bad).save(osp.join(dst, f'{ids[3]}.png'))
    return ids[1:4]


def test_bad_pseudo_masks_are_reported_and_training_refuses(toy_voc_root, toy_pseudo, tmp_path, capsys):
    from tools.check_pseudo_masks import main as check_main
    bad_dir = str(tmp_path / 'bad')
    missing, small, out_of_range = _corrupt(toy_voc_root, toy_pseudo, bad_dir)
    opts = ['--cfg-options', f'train_dataloader.dataset.data_root={toy_voc_root}']

    assert check_main([TOY_V1, '--pseudo-dir', toy_pseudo, *opts]) == 0
    assert 'all present' in capsys.readouterr().out
    assert check_main([TOY_V1, '--pseudo-dir', bad_dir, *opts]) == 1
    report = capsys.readouterr().out
    assert f'3 of the {len(_ids(toy_voc_root, "train_aug"))} pseudo masks' in report
    assert re.search(rf'{missing}\.png: missing', report)
    assert re.search(rf'{small}\.png: size 5x7 \(HxW\) differs from its image', report)
    assert re.search(rf'{out_of_range}\.png: values \[9\] outside 0\.\.5 and 255', report)

    res = _run([osp.join(ROOT, 'tools/train.py'), TOY_V1, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                *_opts(toy_voc_root, bad_dir)])
    text = res.stdout + res.stderr
    assert res.returncode != 0
    for name in (missing, small, out_of_range):
        assert f'{name}.png' in text
    assert 'Iter(train)' not in text  # refused before the first iteration
    assert not glob.glob(str(tmp_path / 'work' / '*.pth'))
