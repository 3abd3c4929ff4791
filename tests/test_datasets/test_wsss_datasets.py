"""WSSS datasets on the toy data: label sources agree, no pixel GT in classifier training, bad input errors,
pseudo-mask scan."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from PIL import Image

import mmwsss.datasets  # noqa: F401  (registers the datasets and transforms)
from mmwsss.datasets import (COCO_CLASSES, TOY_CLASSES, VOC_CLASSES, PseudoMaskDataset, ToyWSSSDataset,
                             WSSSCOCODataset, WSSSVOCDataset)

PREFIX = dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug', xml_path='Annotations')


@pytest.fixture(autouse=True)
def _mmseg_scope():
    init_default_scope('mmseg')


def _toy(root, split='train_aug', **kwargs):
    kwargs.setdefault('data_prefix', PREFIX)
    kwargs.setdefault('pipeline', [])
    return ToyWSSSDataset(data_root=root, ann_file=f'ImageSets/Segmentation/{split}.txt', **kwargs)


def _ids(root, split):
    with open(osp.join(root, 'ImageSets', 'Segmentation', split + '.txt')) as f:
        return f.read().split()


@pytest.fixture
def toy_copy(toy_voc_root, tmp_path):
    """A private, writable copy of the toy data set."""
    dst = osp.join(str(tmp_path), 'toy')
    shutil.copytree(toy_voc_root, dst)
    return dst


def test_class_tables():
    from tools.dataset_converters.coco2wsss import COCO_CLASS_NAMES
    from tools.dataset_converters.make_toy_voc import TOY_CLASSES as GENERATOR_CLASSES
    assert TOY_CLASSES == GENERATOR_CLASSES
    assert ToyWSSSDataset.METAINFO['classes'] == GENERATOR_CLASSES
    assert COCO_CLASSES[1:] == COCO_CLASS_NAMES and len(COCO_CLASSES) == 81
    assert len(VOC_CLASSES) == 21 and VOC_CLASSES[1] == 'aeroplane' and VOC_CLASSES[20] == 'tvmonitor'
    assert len(WSSSVOCDataset.METAINFO['palette']) == 21 and WSSSVOCDataset.METAINFO['palette'][1] == [128, 0, 0]
    assert ToyWSSSDataset.METAINFO['palette'][:3] == [[0, 0, 0], [128, 0, 0], [0, 128, 0]]
    assert WSSSCOCODataset.METAINFO['classes'] == COCO_CLASSES


def test_label_sources_agree(toy_voc_root):
    table = np.load(osp.join(toy_voc_root, 'cls_labels.npy'), allow_pickle=True).item()
    for split in ('train_aug', 'val'):
        per_source = {}
        for src in ('npy', 'xml', 'mask'):
            ds = _toy(toy_voc_root, split, label_source=src, load_seg_map=False)
            assert len(ds) == len(_ids(toy_voc_root, split))
            per_source[src] = {ds[i]['img_id']: ds[i]['gt_img_labels'] for i in range(len(ds))}
        for name in _ids(toy_voc_root, split):
            for src in ('npy', 'xml', 'mask'):
                vec = per_source[src][name]
                assert vec.shape == (5, ) and vec.dtype == np.float32
                np.testing.assert_array_equal(vec, table[name], err_msg=f'{src} {name}')
        # the labels really vary (not all the same vector)
        assert len({tuple(v) for v in per_source['npy'].values()}) > 1


def test_mask_labels_hand_case(tmp_path, toy_voc_root):
    """Label value v -> vector index v-1; 0 and 255 ignored."""
    root = osp.join(str(tmp_path), 'mini')
    shutil.copytree(toy_voc_root, root)
    name = _ids(root, 'val')[0]
    mask_path = osp.join(root, 'SegmentationClassAug', name + '.png')
    h, w = np.array(Image.open(mask_path)).shape
    m = np.zeros((h, w), np.uint8)
    m[0, 0], m[0, 1], m[1, 0] = 2, 5, 255
    Image.fromarray(m, mode='L').save(mask_path)
    ds = _toy(root, 'val', label_source='mask', load_seg_map=False)
    assert ds[0]['gt_img_labels'].tolist() == [0, 1, 0, 0, 1]


def test_xml_label_rules(tmp_path, toy_voc_root):
    root = osp.join(str(tmp_path), 'mini')
    shutil.copytree(toy_voc_root, root)
    name = _ids(root, 'val')[0]
    xml = ('<annotation><object><name>disc</name><difficult>1</difficult></object>'
           '<object><name>cross</name><difficult>0</difficult><part><name>head</name></part></object>'
           '<object><name>notaclass</name></object></annotation>')
    with open(osp.join(root, 'Annotations', name + '.xml'), 'w') as f:
        f.write(xml)
    psa = _toy(root, 'val', label_source='xml', load_seg_map=False)[0]['gt_img_labels']
    assert psa.tolist() == [1, 0, 0, 0, 1]          # psa: every <name> that is a class, difficult included
    icd = _toy(root, 'val', label_source='xml', load_seg_map=False, xml_ignore_difficult=True)[0]['gt_img_labels']
    assert icd.tolist() == [0, 0, 0, 0, 1]          # ICD: non-difficult objects only
    with open(osp.join(root, 'Annotations', name + '.xml'), 'w') as f:
        f.write('<annotation><object><name>square</name><difficult>1</difficult></object></annotation>')
    icd = _toy(root, 'val', label_source='xml', load_seg_map=False, xml_ignore_difficult=True)[0]['gt_img_labels']
    assert icd.tolist() == [0, 1, 0, 0, 0]          # ICD: only difficult objects -> use them


def test_classifier_training_never_opens_pixel_gt(toy_copy):
    """Delete every pixel-GT folder, then run the full psa training pipeline over every item."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets',
                                   'toy_wsss.py'))
    for d in ('SegmentationClass', 'SegmentationClassAug'):
        shutil.rmtree(osp.join(toy_copy, d))
    table = np.load(osp.join(toy_copy, 'cls_labels.npy'), allow_pickle=True).item()
    for src in ('npy', 'xml'):
        ds_cfg = cfg.train_dataloader.dataset.copy()
        ds_cfg.update(data_root=toy_copy, label_source=src)
        ds_cfg.pop('type')
        ds = ToyWSSSDataset(**ds_cfg)
        assert not ds.load_seg_map
        np.random.seed(0)
        torch.manual_seed(0)
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            assert not any('seg_map' in k for k in info), info.keys()
            assert not any('Segmentation' in str(v) for v in info.values())
            out = ds[i]
            ds_ = out['data_samples']
            assert 'gt_sem_seg' not in ds_
            assert out['inputs'].shape == (3, 64, 64) and out['inputs'].dtype == torch.float32
            np.testing.assert_array_equal(ds_.gt_img_labels.numpy(), table[ds_.metainfo['img_id']])
            y0, y1, x0, x1 = ds_.metainfo['crop_box']
            assert 0 <= y0 < y1 <= 64 and 0 <= x0 < x1 <= 64


def test_load_seg_map_attaches_gt(toy_voc_root):
    ds = _toy(toy_voc_root, 'train', label_source='npy', load_seg_map=True)
    info = ds.get_data_info(0)
    assert info['seg_map_path'].endswith(osp.join('SegmentationClassAug', info['img_id'] + '.png'))
    ds = _toy(toy_voc_root, 'train', label_source='npy', load_seg_map=True,
              data_prefix=dict(PREFIX, saliency_path='Sal', superpixel_path='SP'))
    info = ds.get_data_info(0)
    assert info['saliency_path'] == osp.join(toy_voc_root, 'Sal', info['img_id'] + '.png')
    assert info['superpixel_path'] == osp.join(toy_voc_root, 'SP', info['img_id'] + '.png')


# ----------------------------------------------------------------------------- bad input
EVAL_PIPELINE = [dict(type='LoadWSSSImageFromFile'), dict(type='LoadWSSSAnnotations', num_classes=6),
                 dict(type='PackWSSSInputs')]


def test_bad_image_files(toy_copy):
    ds = _toy(toy_copy, 'val', pipeline=EVAL_PIPELINE)
    corrupt = ds.get_data_info(0)['img_path']
    with open(corrupt, 'wb') as f:
        f.write(b'\x00garbage, not a jpeg' * 10)
    missing = ds.get_data_info(1)['img_path']
    os.remove(missing)
    truncated = ds.get_data_info(2)['img_path']
    with open(truncated, 'rb') as f:
        data = f.read()
    with open(truncated, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(ValueError, match=f'{osp.basename(corrupt)}: cannot decode the image'):
        ds[0]
    with pytest.raises(FileNotFoundError, match=f'{osp.basename(missing)}: image file not found'):
        ds[1]
    with pytest.raises(ValueError, match=f'{osp.basename(truncated)}: cannot decode the image'):
        ds[2]
    ds_cv2 = _toy(toy_copy, 'val', pipeline=[dict(type='LoadWSSSImageFromFile', imdecode_backend='cv2')])
    with pytest.raises(ValueError, match=f'{osp.basename(truncated)}: cannot decode the image'):
        ds_cv2[2]
    ds[3]  # the others still load


def test_bad_mask_files(toy_copy):
    ds = _toy(toy_copy, 'val', pipeline=EVAL_PIPELINE)
    missing = ds.get_data_info(0)['seg_map_path']
    os.remove(missing)
    with pytest.raises(FileNotFoundError, match=f'{osp.basename(missing)}: segmentation mask file not found'):
        ds[0]
    wrong = ds.get_data_info(1)['seg_map_path']
    Image.fromarray(np.zeros((7, 9), np.uint8), mode='L').save(wrong)
    with pytest.raises(ValueError, match=f'{osp.basename(wrong)}: segmentation mask has size 7x9'):
        ds[1]
    bad_val = ds.get_data_info(2)['seg_map_path']
    m = np.array(Image.open(bad_val))
    m[0, 0] = 6
    Image.fromarray(m, mode='L').save(bad_val)
    with pytest.raises(ValueError, match=rf'{osp.basename(bad_val)}: segmentation mask holds values \[6\]'):
        ds[2]
    ds[3]


def test_missing_xml_and_label_mask_at_index_time(toy_copy):
    ds_xml = _toy(toy_copy, 'val', label_source='xml', load_seg_map=False)
    ds_mask = _toy(toy_copy, 'val', label_source='mask', load_seg_map=False)
    xml = ds_xml.get_data_info(0)['label_src_path']
    os.remove(xml)
    with pytest.raises(FileNotFoundError, match=f'{osp.basename(xml)}: annotation XML not found'):
        ds_xml[0]
    with open(ds_xml.get_data_info(1)['label_src_path'], 'w') as f:
        f.write('<annotation><object><name>disc</name>')
    with pytest.raises(ValueError, match='cannot parse the annotation XML'):
        ds_xml[1]
    mask = ds_mask.get_data_info(2)['label_src_path']
    os.remove(mask)
    with pytest.raises(FileNotFoundError, match=f'{osp.basename(mask)}: label mask not found'):
        ds_mask[2]


def test_no_foreground_label(toy_copy):
    name = _ids(toy_copy, 'val')[0]
    with open(osp.join(toy_copy, 'Annotations', name + '.xml'), 'w') as f:
        f.write('<annotation><object><name>person</name></object></annotation>')
    with pytest.raises(ValueError, match=f'{name}.xml: image has no foreground label'):
        _toy(toy_copy, 'val', label_source='xml', load_seg_map=False)[0]
    ds = _toy(toy_copy, 'val', label_source='xml', load_seg_map=False, allow_empty_labels=True)
    assert ds[0]['gt_img_labels'].sum() == 0

    table = np.load(osp.join(toy_copy, 'cls_labels.npy'), allow_pickle=True).item()
    table[name] = np.zeros(5, np.float32)
    np.save(osp.join(toy_copy, 'cls_labels.npy'), table, allow_pickle=True)
    with pytest.raises(ValueError, match=rf'cls_labels.npy: bad image labels(.|\n)*{name}: image has no foreground'):
        _toy(toy_copy, 'val', label_source='npy')            # list-level: at init


def test_npy_label_problems_listed_at_init(toy_copy):
    ids = _ids(toy_copy, 'val')
    table = np.load(osp.join(toy_copy, 'cls_labels.npy'), allow_pickle=True).item()
    table[ids[0]] = np.ones(20, np.float32)          # VOC-length vector in a 5-class data set
    del table[ids[1]]
    table[ids[2]] = np.array([0, 0.5, 0, 0, 1], np.float32)
    np.save(osp.join(toy_copy, 'cls_labels.npy'), table, allow_pickle=True)
    with pytest.raises(ValueError) as e:
        _toy(toy_copy, 'val', label_source='npy')
    msg = str(e.value)
    assert 'cls_labels.npy' in msg and '3 of the' in msg
    assert f'{ids[0]}: label vector has shape (20,), expected (5,)' in msg
    assert f'{ids[1]}: no entry' in msg
    assert f'{ids[2]}: label vector is not multi-hot' in msg


def test_list_level_errors(toy_copy):
    with pytest.raises(FileNotFoundError, match='nolist.txt: image list'):
        _toy(toy_copy, 'nolist')
    with pytest.raises(FileNotFoundError, match='other.npy: cls_labels file not found'):
        _toy(toy_copy, 'val', cls_labels_file='other.npy')
    ids = _ids(toy_copy, 'val')
    with open(osp.join(toy_copy, 'ImageSets', 'Segmentation', 'dup.txt'), 'w') as f:
        f.write('\n'.join(ids + ids[:1]) + '\n')
    with pytest.raises(ValueError, match='dup.txt: 1 duplicate ids'):
        _toy(toy_copy, 'dup')
    with pytest.raises(FileNotFoundError, match='NoImages: image folder not found'):
        _toy(toy_copy, 'val', data_prefix=dict(PREFIX, img_path='NoImages'))
    with pytest.raises(ValueError, match='class subsets are not supported'):
        _toy(toy_copy, 'val', metainfo=dict(classes=('background', 'disc')))


def test_psa_list_lines(toy_copy):
    ids = _ids(toy_copy, 'val')
    with open(osp.join(toy_copy, 'ImageSets', 'Segmentation', 'psa.txt'), 'w') as f:
        f.write(''.join(f'/JPEGImages/{n}.jpg /SegmentationClassAug/{n}.png\n' for n in ids))
    ds = _toy(toy_copy, 'psa')
    assert [ds.get_data_info(i)['img_id'] for i in range(len(ds))] == ids


# ----------------------------------------------------------------------------- pseudo masks
def _pseudo_dir(root, split):
    d = osp.join(root, 'pseudo')
    os.makedirs(d, exist_ok=True)
    for n in _ids(root, split):
        shutil.copy(osp.join(root, 'SegmentationClass', n + '.png'), osp.join(d, n + '.png'))
    return d


def test_pseudo_mask_dataset_with_mmseg_pipeline(toy_copy):
    _pseudo_dir(toy_copy, 'train')
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                dict(type='RandomResize', scale=(64, 64), ratio_range=(0.5, 1.5), keep_ratio=True),
                dict(type='RandomCrop', crop_size=(32, 32), cat_max_ratio=1.0),
                dict(type='PackSegInputs')]
    ds = PseudoMaskDataset(pseudo_dir='pseudo', data_root=toy_copy, ann_file='ImageSets/Segmentation/train.txt',
                           metainfo=dict(classes=TOY_CLASSES), pipeline=pipeline)
    assert ds.metainfo['classes'] == TOY_CLASSES and len(ds.metainfo['palette']) == 6
    info = ds.get_data_info(0)
    assert info['seg_map_path'] == osp.join(toy_copy, 'pseudo', info['img_id'] + '.png')
    np.random.seed(0)
    out = ds[0]
    seg = out['data_samples'].gt_sem_seg.data
    assert seg.shape[-2:] == out['inputs'].shape[-2:]
    assert set(seg.unique().tolist()) <= set(range(6)) | {255}


def test_pseudo_mask_check_lists_every_bad_file(toy_copy):
    d = _pseudo_dir(toy_copy, 'train')
    ids = _ids(toy_copy, 'train')
    os.remove(osp.join(d, ids[0] + '.png'))                                            # missing
    Image.fromarray(np.zeros((5, 5), np.uint8), mode='L').save(osp.join(d, ids[1] + '.png'))  # wrong size
    m = np.array(Image.open(osp.join(d, ids[2] + '.png')))
    m[0, 0], m[0, 1] = 6, 200                                                          # values 6, 200
    Image.fromarray(m, mode='L').save(osp.join(d, ids[2] + '.png'))
    Image.fromarray(np.zeros(m.shape + (3, ), np.uint8)).save(osp.join(d, ids[3] + '.png'))  # RGB
    with open(osp.join(d, ids[4] + '.png'), 'wb') as f:
        f.write(b'garbage')                                                            # undecodable
    with pytest.raises(ValueError) as e:
        PseudoMaskDataset(pseudo_dir=d, data_root=toy_copy, ann_file='ImageSets/Segmentation/train.txt',
                          metainfo=dict(classes=TOY_CLASSES))
    msg = str(e.value)
    assert msg.startswith(f'5 of the {len(ids)} pseudo masks in {d} are bad')
    assert f'{ids[0]}.png: missing' in msg
    assert f'{ids[1]}.png: size 5x5 (HxW) differs from its image' in msg
    assert f'{ids[2]}.png: values [6, 200] outside 0..5 and 255' in msg
    assert f'{ids[3]}.png: not a single-channel 8-bit PNG (PIL mode RGB)' in msg
    assert f'{ids[4]}.png: cannot decode' in msg
    for n in ids[5:]:
        assert n not in msg
    # the VOC default has 21 classes: 6 and 200 -> only 200 is bad there
    with pytest.raises(ValueError, match=r'values \[200\] outside 0..20 and 255'):
        PseudoMaskDataset(pseudo_dir=d, data_root=toy_copy, ann_file='ImageSets/Segmentation/train.txt')
    ds = PseudoMaskDataset(pseudo_dir=d, data_root=toy_copy, ann_file='ImageSets/Segmentation/train.txt',
                           check_masks=False)
    assert len(ds) == len(ids)
