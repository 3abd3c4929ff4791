"""The base dataset configs load with Config.fromfile and build with DATASETS.build +
Runner.build_dataloader."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import DATASETS, MODELS, TRANSFORMS
from PIL import Image

import mmwsss.datasets  # noqa: F401

CFG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets')


@pytest.fixture(autouse=True)
def _mmseg_scope():
    init_default_scope('mmseg')


def _all_transform_types(pipeline):
    for t in pipeline:
        yield t['type']
        for sub in t.get('transforms', []):
            yield from _all_transform_types(sub if isinstance(sub, list) else [sub])


@pytest.mark.parametrize('name', ['voc12_wsss.py', 'coco14_wsss.py', 'toy_wsss.py'])
def test_config_structure(name):
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    train = cfg.train_dataloader.dataset
    assert train.load_seg_map is False and 'seg_map_path' not in train.data_prefix
    assert train.label_source == 'npy'
    assert cfg.val_evaluator.type == 'IoUMetric'
    for key in ('val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.load_seg_map is True
    assert cfg.data_preprocessor.mean == [123.675, 116.28, 103.53] and cfg.data_preprocessor.bgr_to_rgb
    crop = [t for t in cfg.train_pipeline if t['type'] == 'RandomCropPad'][0]
    assert crop['img_pad_val'] == cfg.data_preprocessor.mean[::-1]   # pads to exactly 0 after normalising
    for pipeline in (cfg.train_pipeline, cfg.test_pipeline, cfg.cam_infer_pipeline):
        for t in _all_transform_types(pipeline):
            assert TRANSFORMS.get(t) is not None, t
    assert DATASETS.get(train.type) is not None
    assert MODELS.get(cfg.data_preprocessor.type) is not None


def test_voc_config_splits():
    cfg = Config.fromfile(osp.join(CFG_DIR, 'voc12_wsss.py'))
    assert cfg.data_root == 'data/VOCdevkit/VOC2012'
    assert cfg.train_dataloader.dataset.ann_file == 'ImageSets/Segmentation/train_aug.txt'
    assert cfg.val_dataloader.dataset.ann_file == 'ImageSets/Segmentation/train.txt'
    assert cfg.test_dataloader.dataset.ann_file == 'ImageSets/Segmentation/val.txt'
    resize = [t for t in cfg.train_pipeline if t['type'] == 'RandomResizeLong'][0]
    assert (resize['min_long'], resize['max_long']) == (256, 512)
    assert cfg.icd_data_preprocessor.mean == [127.0] * 3 and cfg.icd_data_preprocessor.std == [1.0] * 3


def test_toy_config_builds_and_loads(toy_voc_root):
    cfg = Config.fromfile(osp.join(CFG_DIR, 'toy_wsss.py'))
    pre = MODELS.build(cfg.data_preprocessor)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dl_cfg = cfg[key].copy()
        dl_cfg.dataset = dict(dl_cfg.dataset, data_root=toy_voc_root)
        dl_cfg.num_workers = 0
        dl_cfg.persistent_workers = False
        assert len(DATASETS.build(dl_cfg.dataset)) > 0
        loader = Runner.build_dataloader(dl_cfg, seed=0)
        batch = next(iter(loader))
        out = pre(batch, training=(key == 'train_dataloader'))
        if key == 'train_dataloader':
            assert out['inputs'].shape == (8, 3, 64, 64)
            labels = torch.stack([s.gt_img_labels for s in out['data_samples']])
            assert labels.shape == (8, 5) and (labels.sum(1) >= 1).all()
        else:
            ds = out['data_samples'][0]
            assert ds.gt_sem_seg.data.shape[-2:] == out['inputs'].shape[-2:]
            assert ds.gt_img_labels.shape == (5, )


def test_toy_cam_infer_pipeline_order(toy_voc_root):
    """TestTimeAug gives psa's order [s1, s1-flip, s0.5, s0.5-flip, s1.5, ..., s2-flip]."""
    from mmcv.transforms import Compose
    cfg = Config.fromfile(osp.join(CFG_DIR, 'toy_wsss.py'))
    ds = DATASETS.build(dict(cfg.eval_val_dataloader.dataset, data_root=toy_voc_root, pipeline=[]))
    info = ds[0]
    h, w = np.array(Image.open(info['img_path'])).shape[:2]
    out = Compose(cfg.cam_infer_pipeline)(info)
    shapes = [tuple(x.shape[-2:]) for x in out['inputs']]
    flips = [s.metainfo['flip'] for s in out['data_samples']]
    exp = []
    for s in (1.0, 0.5, 1.5, 2.0):
        exp += [(int(round(h * s)), int(round(w * s)))] * 2
    assert shapes == exp and flips == [False, True] * 4
    np.testing.assert_array_equal(out['inputs'][1].numpy(), out['inputs'][0].numpy()[..., ::-1])


def test_coco_config_on_converted_tiny_json(tmp_path):
    from tools.dataset_converters.coco2wsss import convert
    root = str(tmp_path)
    images, anns = [], []
    rng = np.random.default_rng(0)
    for split, offset in (('train2014', 0), ('val2014', 100)):
        imgs = []
        os.makedirs(osp.join(root, split), exist_ok=True)
        for k in range(8):
            iid = offset + k + 1
            fname = f'COCO_{split}_{iid:012d}.jpg'
            h, w = 20 + k, 24
            Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(osp.join(root, split, fname))
            imgs.append(dict(id=iid, file_name=fname, height=h, width=w))
            anns.append(dict(id=1000 + iid, image_id=iid, category_id=(1, 13, 90)[k % 3], iscrowd=0,
                             segmentation=[[2, 2, 12, 2, 12, 10, 2, 10]]))
        data = dict(images=imgs, annotations=[a for a in anns if a['image_id'] in {i['id'] for i in imgs}],
                    categories=[dict(id=1, name='person'), dict(id=13, name='stop sign'),
                                dict(id=90, name='toothbrush')])
        with open(osp.join(root, f'instances_{split}.json'), 'w') as f:
            json.dump(data, f)
        images += imgs
    convert([osp.join(root, 'instances_train2014.json'), osp.join(root, 'instances_val2014.json')], root)

    cfg = Config.fromfile(osp.join(CFG_DIR, 'coco14_wsss.py'))
    train = dict(cfg.train_dataloader, num_workers=0, persistent_workers=False, batch_size=4)
    train['dataset'] = dict(train['dataset'], data_root=root)
    train['dataset']['pipeline'] = [dict(t) for t in train['dataset']['pipeline']]
    for t in train['dataset']['pipeline']:
        if t['type'] == 'RandomResizeLong':
            t.update(min_long=24, max_long=48)
        if t['type'] == 'RandomCropPad':
            t.update(crop_size=32)
    batch = next(iter(Runner.build_dataloader(train, seed=0)))
    labels = torch.stack([s.gt_img_labels for s in batch['data_samples']])
    assert labels.shape == (4, 80)
    assert set(labels.argmax(1).tolist()) <= {0, 11, 79}          # person, stop sign, toothbrush
    val = dict(cfg.val_dataloader, num_workers=0, persistent_workers=False)
    val['dataset'] = dict(val['dataset'], data_root=root)
    ds = DATASETS.build(val['dataset'])
    assert len(ds) == 8
    sample = ds[1]['data_samples']                                  # k = 1 -> stop sign -> value 12
    assert sorted(sample.gt_sem_seg.data.unique().tolist()) == [0, 12]
    assert sample.gt_img_labels.nonzero().flatten().tolist() == [11]
