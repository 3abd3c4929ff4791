"""tools/gen_pseudo.py: CAM files + pseudo-masks, resumable and byte-identical after a kill, failures listed."""
import filecmp
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.config import Config
from PIL import Image

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOY_CFG = osp.join(ROOT, 'configs/cam/cam_res38-w16_1xb8-300it_toy-64x64.py')


@pytest.fixture(scope='module')
def toy_checkpoint(tmp_path_factory):
    """A CAM model checkpoint with its initial weights (quality is irrelevant here)."""
    import mmwsss  # noqa: F401
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(TOY_CFG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = str(tmp_path_factory.mktemp('ckpt') / 'cam.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def _cmd(ckpt, root, out, *extra, multi_scale=False):
    scales = ['--scales', '1.0', '0.5', '1.5', '2.0', '--flip'] if multi_scale else []
    return [sys.executable, osp.join(ROOT, 'tools/gen_pseudo.py'), TOY_CFG, ckpt, '--split', 'train_aug',
            '--out-dir', out, '--masks', 'thr:0.2', 'crf:4', *scales, *extra, '--cfg-options', f'gen_pseudo_dataset.data_root={root}',
            'gen_pseudo_dataset.ann_file=ImageSets/Segmentation/train_aug.txt']


def _all_files(d):
    return sorted(osp.relpath(osp.join(r, f), d) for r, _, fs in os.walk(d) for f in fs)


def test_outputs_and_summary(toy_voc_root, toy_checkpoint, tmp_path):
    out = str(tmp_path / 'out')
    res = subprocess.run(_cmd(toy_checkpoint, toy_voc_root, out, '--workers', '2'), capture_output=True,
                         text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    ids = open(osp.join(toy_voc_root, 'ImageSets/Segmentation/train_aug.txt')).read().split()
    assert sorted(os.listdir(osp.join(out, 'cam'))) == sorted(i + '.npy' for i in ids)
    for kind in ('thr_0.20', 'crf_a4'):
        assert sorted(os.listdir(osp.join(out, kind))) == sorted(i + '.png' for i in ids)
    assert f'CAMs: {len(ids)} done, 0 skipped' in res.stdout
    assert 'images/s' in res.stdout

    from mmwsss.utils.cam_io import load_cams
    labels = np.load(osp.join(toy_voc_root, 'cls_labels.npy'), allow_pickle=True).item()
    for name in ids[:5]:
        img = Image.open(osp.join(toy_voc_root, 'JPEGImages', name + '.jpg'))
        cams, cids = load_cams(osp.join(out, 'cam', name + '.npy'), num_classes=6,
                               image_size=(img.height, img.width))
        # the CAMs of exactly the image's classes, max-normalised into [0, 1]
        assert cids.tolist() == (np.nonzero(labels[name])[0] + 1).tolist()
        assert cams.min() >= 0 and cams.max() <= 1
        mask = np.array(Image.open(osp.join(out, 'thr_0.20', name + '.png')))
        assert mask.shape == (img.height, img.width)
        assert set(np.unique(mask).tolist()) <= {0, *cids.tolist()}
        # thr mask = argmax([0.2, cams]) (ties to background), computed here from the saved CAMs
        want = np.where(cams.max(0) > 0.2, cids[np.argmax(cams, 0)], 0)
        np.testing.assert_array_equal(mask, want)

    # second run: everything is skipped
    res2 = subprocess.run(_cmd(toy_checkpoint, toy_voc_root, out), capture_output=True, text=True, timeout=600,
                          cwd=ROOT)
    assert res2.returncode == 0
    assert f'CAMs: 0 done, {len(ids)} skipped' in res2.stdout


def test_killed_run_resumes_to_identical_bytes(toy_voc_root, toy_checkpoint, tmp_path):
    ref = str(tmp_path / 'ref')
    # multi-scale + flip makes the run slow enough to be killed in the middle
    subprocess.run(_cmd(toy_checkpoint, toy_voc_root, ref, multi_scale=True), check=True, capture_output=True,
                   timeout=600, cwd=ROOT)
    total = len(_all_files(ref))

    out = str(tmp_path / 'killed')
    proc = subprocess.Popen(_cmd(toy_checkpoint, toy_voc_root, out, multi_scale=True), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=ROOT)
    cam_dir = osp.join(out, 'cam')
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if osp.isdir(cam_dir) and len([f for f in os.listdir(cam_dir) if f.endswith('.npy')]) >= 3:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_at_kill = len([f for f in _all_files(out) if not osp.basename(f).startswith('.')])
    assert done_at_kill < total, 'the run finished before it could be killed; the test proves nothing'
    # every finished file is complete: loadable CAM files (temporaries are hidden '.name.*.tmp.npy' files)
    from mmwsss.utils.cam_io import load_cams
    for f in os.listdir(cam_dir):
        if not f.startswith('.'):
            load_cams(osp.join(cam_dir, f))

    res = subprocess.run(_cmd(toy_checkpoint, toy_voc_root, out, multi_scale=True), capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    assert _all_files(out) == _all_files(ref)  # no leftover temporaries either
    match, mismatch, errors = filecmp.cmpfiles(ref, out, _all_files(ref), shallow=False)
    assert not mismatch and not errors


def test_failures_are_listed_and_exit_nonzero(toy_voc_root, toy_checkpoint, tmp_path):
    root = str(tmp_path / 'data')
    shutil.copytree(toy_voc_root, root)
    ids = open(osp.join(root, 'ImageSets/Segmentation/train_aug.txt')).read().split()
    bad = ids[3]
    with open(osp.join(root, 'JPEGImages', bad + '.jpg'), 'wb') as f:
        f.write(b'not a jpeg at all')
    out = str(tmp_path / 'out')
    res = subprocess.run(_cmd(toy_checkpoint, root, out), capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode != 0
    assert f'FAILED {bad}' in res.stdout and bad + '.jpg' in res.stdout
    assert f'CAMs: {len(ids) - 1} done, 0 skipped' in res.stdout and '1 failed' in res.stdout
    # the other images were finished, the bad one has no output
    assert len(os.listdir(osp.join(out, 'cam'))) == len(ids) - 1
    assert not osp.exists(osp.join(out, 'thr_0.20', bad + '.png'))


def test_bad_arguments(toy_voc_root, toy_checkpoint, tmp_path):
    res = subprocess.run(_cmd(toy_checkpoint, toy_voc_root, str(tmp_path), '--masks', 'crf'), capture_output=True,
                         text=True, timeout=300, cwd=ROOT)
    assert res.returncode != 0 and "mask spec must look like" in res.stderr
    res = subprocess.run(_cmd(str(tmp_path / 'missing.pth'), toy_voc_root, str(tmp_path)), capture_output=True,
                         text=True, timeout=300, cwd=ROOT)
    assert res.returncode != 0 and 'checkpoint not found' in res.stderr
