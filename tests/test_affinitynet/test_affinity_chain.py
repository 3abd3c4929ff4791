"""The AffinityNet stage end to end on the toy data through the tools (subprocesses): CAMs -> la/ha CRF
marginals -> AffinityNet training -> random walk -> evaluation; plus the generation jobs' guarantees
(resumable, sharded, failures listed) and bad inputs, in-process where that is cheaper."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

import mmwsss  # noqa: F401
from mmwsss.apis.random_walk_labels import crf_marginals_dirname, generate_la_ha_crf
from mmwsss.utils.crf_io import load_crf_marginals
from mmwsss.refinement.dense_crf import psa_crf_labels
from mmwsss.utils.cam_io import load_cams, save_cams

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
AFF_CFG = osp.join(ROOT, 'configs/affinitynet/affinitynet_res38-w16_1xb8-40it_toy-64x64.py')
init_default_scope('mmseg')


def _run(args, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS='1')  # tiny tensors: threads only add contention
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=env)


def _ok(res):
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def _ids(root, split='train'):
    return open(osp.join(root, 'ImageSets/Segmentation', split + '.txt')).read().split()


def test_toy_chain_through_the_tools(toy_voc_root, tmp_path):
    """CAM files -> gen_pseudo --mode lacrf -> train.py (AffinityNet) -> gen_pseudo --mode rw -> eval_pseudo.

    The CAM files are made here from the GT masks (the CAM stage's own tool is tested in
    tests/test_tools/test_gen_pseudo.py; one subprocess less keeps this test cheap)."""
    out, work = str(tmp_path / 'pseudo'), str(tmp_path / 'aff')
    data = [f'gen_pseudo_dataset.data_root={toy_voc_root}']
    ids = _ids(toy_voc_root)
    _write_cams(toy_voc_root, osp.join(out, 'cam'), ids, blur=True)
    # 1. la/ha CRF marginals (psa alphas 4 / 32)
    res = _ok(_run(['tools/gen_pseudo.py', AFF_CFG, '--mode', 'lacrf', '--la-ha', 'psa', '--split', 'train',
                    '--out-dir', out, '--workers', '2', '--cfg-options', *data]))
    assert f'CRF marginals crf_marginals_a4, crf_marginals_a32: {len(ids)} done' in res.stdout
    for alpha in (4, 32):
        assert sorted(os.listdir(osp.join(out, f'crf_marginals_a{alpha}'))) == sorted(i + '.npy' for i in ids)
    # 2. AffinityNet on them (a few iterations)
    res = _ok(_run(['tools/train.py', AFF_CFG, '--work-dir', work, '--cfg-options',
                    f'train_dataloader.dataset.data_root={toy_voc_root}',
                    'train_dataloader.dataset.ann_file=ImageSets/Segmentation/train.txt',
                    f'train_dataloader.dataset.la_crf_dir={out}/crf_marginals_a4',
                    f'train_dataloader.dataset.ha_crf_dir={out}/crf_marginals_a32', 'train_cfg.max_iters=3',
                    'train_dataloader.batch_size=4', 'default_hooks.checkpoint.interval=3',
                    'default_hooks.logger.interval=1']))
    assert 'loss_aff_neg' in res.stdout + res.stderr
    ckpt = osp.join(work, 'iter_3.pth')
    # 3. random walk with SEAM's parameters from the preset
    res = _ok(_run(['tools/gen_pseudo.py', AFF_CFG, ckpt, '--mode', 'rw', '--rw-preset', 'sbnet', '--split', 'train',
                    '--out-dir', out, '--cfg-options', *data]))
    rw_dir = osp.join(out, 'rw_a6_b8_logt6')
    assert f'random walk rw_a6_b8_logt6: {len(ids)} done, 0 skipped' in res.stdout
    labels = np.load(osp.join(toy_voc_root, 'cls_labels.npy'), allow_pickle=True).item()
    for name in ids:
        mask = np.asarray(Image.open(osp.join(rw_dir, name + '.png')))
        with Image.open(osp.join(toy_voc_root, 'JPEGImages', name + '.jpg')) as im:
            assert mask.shape == (im.height, im.width)
        assert set(np.unique(mask).tolist()) <= {0, *(np.nonzero(labels[name])[0] + 1).tolist()}
    # 4. evaluation (tools/eval_pseudo.py, in this process)
    from tools.eval_pseudo import main as eval_main
    assert eval_main(['--pred-dir', rw_dir, '--gt-dir', osp.join(toy_voc_root, 'SegmentationClassAug'), '--list',
                      osp.join(toy_voc_root, 'ImageSets/Segmentation/train.txt'), '--num-classes', '6',
                      '--out-dir', str(tmp_path / 'eval')]) == 0
    metrics = json.load(open(osp.join(tmp_path, 'eval', 'metrics.json')))
    assert 0 <= metrics['metrics']['mIoU'] <= 1 and len(metrics['metrics']['IoU']) == 6


def _img_paths(root, split='train'):
    return {i: osp.join(root, 'JPEGImages', i + '.jpg') for i in _ids(root, split)}


def _write_cams(root, cam_dir, names, blur=False):
    """CAMs made from the GT masks (present classes only), at image size; ``blur``: smoothed and max-normalised
    like real CAMs."""
    from scipy.ndimage import gaussian_filter
    for name in names:
        gt = np.asarray(Image.open(osp.join(root, 'SegmentationClassAug', name + '.png')))
        ids = [c for c in range(1, 6) if (gt == c).any()]
        cams = np.stack([(gt == c) * 0.8 + 0.1 for c in ids]).astype(np.float32)
        if blur:
            cams = np.stack([gaussian_filter(c, 4) for c in cams])
            cams /= cams.max(axis=(1, 2), keepdims=True)
        save_cams(osp.join(cam_dir, name + '.npy'), cams, ids)


def test_la_ha_job_is_sharded_resumable_and_lists_failures(toy_voc_root, tmp_path):
    paths = _img_paths(toy_voc_root)
    names = sorted(paths)[:6]
    paths = {n: paths[n] for n in names}
    cam_dir, out = str(tmp_path / 'cam'), str(tmp_path / 'out')
    _write_cams(toy_voc_root, cam_dir, names)
    # two shards together cover every image once
    s0 = generate_la_ha_crf(paths, cam_dir, out, (4, 32), num_classes=6, rank=0, world_size=2, progress=False)
    s1 = generate_la_ha_crf(paths, cam_dir, out, (4, 32), num_classes=6, rank=1, world_size=2, progress=False)
    assert s0.done == s1.done == 3 and not s0.failed and not s1.failed
    # the stored marginals are psa's _crf_with_alpha of the CAMs (float16)
    name = names[0]
    img = np.asarray(Image.open(paths[name]).convert('RGB'))
    cams, cids = load_cams(osp.join(cam_dir, name + '.npy'))
    for alpha in (4, 32):
        q, label_ids = psa_crf_labels(img, cams, cids, alpha)
        probs, ids, a = load_crf_marginals(osp.join(out, crf_marginals_dirname(alpha), name + '.npy'), img.shape[:2])
        assert a == alpha and ids.tolist() == label_ids.tolist() == [0, *cids.tolist()]
        np.testing.assert_allclose(probs, q, atol=1e-3)
    # resumable: a lost file is redone, the rest skipped
    os.remove(osp.join(out, 'crf_marginals_a32', names[2] + '.npy'))
    again = generate_la_ha_crf(paths, cam_dir, out, (4, 32), num_classes=6, progress=False)
    assert (again.done, again.skipped) == (1, 5)
    # a CAM file without classes and a CAM file of the wrong size: listed, named, the others done
    h, w = np.asarray(Image.open(paths[names[1]])).shape[:2]
    save_cams(osp.join(cam_dir, names[1] + '.npy'), np.zeros((0, h, w)), [])
    save_cams(osp.join(cam_dir, names[3] + '.npy'), np.zeros((1, 5, 5)), [1])
    for n in (names[1], names[3]):
        for alpha in (4, 32):
            os.remove(osp.join(out, crf_marginals_dirname(alpha), n + '.npy'))
    res = generate_la_ha_crf(paths, cam_dir, out, (4, 32), num_classes=6, progress=False)
    assert res.done == 0 and res.skipped == 4 and len(res.failed) == 2
    errors = dict(res.failed)
    assert f'{names[1]}.npy: the CAM file holds no class' in errors[names[1]]
    assert f'{names[3]}.npy: CAMs are 5x5 but the image is' in errors[names[3]]
    assert 'FAILED' in res.format()


def test_random_walk_job_resumes_and_names_bad_cam_files(toy_voc_root, tmp_path):
    from mmseg.registry import DATASETS, MODELS

    from mmwsss.apis.random_walk_labels import generate_random_walk
    cfg = Config.fromfile(AFF_CFG)
    cfg.gen_pseudo_dataset.update(data_root=toy_voc_root, ann_file='ImageSets/Segmentation/val.txt')
    dataset = DATASETS.build(cfg.gen_pseudo_dataset)
    names = _ids(toy_voc_root, 'val')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.test_cfg['logt'] = 3
    cam_dir, out = str(tmp_path / 'cam'), str(tmp_path / 'rw')
    _write_cams(toy_voc_root, cam_dir, names)
    h, w = np.asarray(Image.open(osp.join(toy_voc_root, 'JPEGImages', names[0] + '.jpg'))).shape[:2]
    save_cams(osp.join(cam_dir, names[0] + '.npy'), np.zeros((0, h, w)), [])
    os.remove(osp.join(cam_dir, names[1] + '.npy'))
    first = generate_random_walk(model, dataset, cam_dir, out, rank=1, world_size=2, progress=False)
    second = generate_random_walk(model, dataset, cam_dir, out, progress=False)
    assert first.done + len(first.failed) == len(names[1::2])
    assert second.skipped == first.done and second.done + first.done == len(names) - 2
    errors = dict(first.failed + second.failed)
    assert set(errors) == {names[0], names[1]}
    assert f'{names[0]}.npy: the CAM file holds no class' in errors[names[0]]
    assert f'{names[1]}.npy: CAM file not found' in errors[names[1]]
    assert len(os.listdir(out)) == len(names) - 2
