"""The RTC toy config end to end through the user-facing tools: tools/dist_train.sh with 2 gloo processes
(DDP with the seg branch unused before seg_begin, prototypes gathered across ranks), tools/test.py with
IoUMetric on the seg branch, and tools/gen_pseudo.py (cam_results) on the trained checkpoint."""
import glob
import json
import os
import os.path as osp
import re
import socket
import subprocess
import sys

import numpy as np
from PIL import Image

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOY_CFG = osp.join(ROOT, 'configs/rtc/rtc_res38-w16_1xb4-30it_toy-64x64.py')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _run(cmd, env=None, timeout=600):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    return res.stdout + res.stderr


def test_toy_rtc_train_test_and_gen_pseudo(toy_voc_root, tmp_path):
    work = str(tmp_path / 'work')
    data = [f'{k}.dataset.data_root={toy_voc_root}' for k in ('train_dataloader', 'test_dataloader')]
    fast_test = ['model.test_cfg.scales=[1.0]', 'model.test_cfg.flip=False']
    env = dict(os.environ, PORT=str(_free_port()), PYTHON=sys.executable, OMP_NUM_THREADS='1')
    _run([
        'bash',
        osp.join(ROOT, 'tools/dist_train.sh'), TOY_CFG, '2', '--work-dir', work, '--cfg-options', *data, *fast_test,
        'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=4', 'train_dataloader.batch_size=2',
        'default_hooks.logger.interval=1', 'model.train_cfg.seg_begin=2', 'val_cfg=None', 'val_dataloader=None',
        'val_evaluator=None'
    ],
         env=env)
    runs = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
    assert len(runs) == 1
    with open(runs[0]) as f:
        recs = [json.loads(line) for line in f if 'loss' in line]
    assert [r['iter'] for r in recs] == [1, 2, 3, 4]
    for r in recs:
        assert all(np.isfinite(v) for k, v in r.items() if k.startswith('loss'))
    assert recs[0]['loss_seg'] == 0 and recs[1]['loss_seg'] == 0  # iterations 0, 1: before seg_begin = 2
    assert 'loss_struct' in recs[0] and 'class_relation' in recs[0]
    ckpt = osp.join(work, 'iter_4.pth')
    assert osp.isfile(ckpt)

    out = _run([
        sys.executable,
        osp.join(ROOT, 'tools/test.py'), TOY_CFG, ckpt, '--work-dir',
        str(tmp_path / 'test'), '--cfg-options', *data, *fast_test
    ])
    miou = re.findall(r'mIoU: ([0-9.]+)', out)
    assert miou and 0 <= float(miou[-1]) <= 100

    pseudo = str(tmp_path / 'pseudo')
    _run([
        sys.executable,
        osp.join(ROOT, 'tools/gen_pseudo.py'), TOY_CFG, ckpt, '--split', 'val', '--out-dir', pseudo, '--masks',
        'thr:0.17', '--scales', '1.0', '--no-flip', '--cfg-options', f'gen_pseudo_dataset.data_root={toy_voc_root}'
    ])
    cams = sorted(glob.glob(osp.join(pseudo, 'cam', '*.npy')))
    pngs = sorted(glob.glob(osp.join(pseudo, 'thr_0.17', '*.png')))
    assert len(cams) == len(pngs) == 8
    rec = np.load(cams[0])[()]
    assert rec['class_ids'].tolist() == [1, 2, 3, 4, 5]  # all classes: contrast_infer.py does not gate
    assert set(np.unique(np.asarray(Image.open(pngs[0])))) <= set(range(6))
