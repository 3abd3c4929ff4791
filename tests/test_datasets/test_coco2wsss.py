"""tools/dataset_converters/coco2wsss.py on a tiny hand-written instances JSON (icam.md §1.2)."""
import json
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from tools.dataset_converters.coco2wsss import (COCO_CATEGORY_IDS, COCO_CLASS_NAMES, category_to_label, convert,
                                                decode_rle, rle_string_to_counts)

CATEGORIES = [dict(id=1, name='person'), dict(id=13, name='stop sign'), dict(id=44, name='bottle'),
              dict(id=90, name='toothbrush')]


def _instances():
    images = [
        dict(id=1, file_name='COCO_train2014_000000000001.jpg', height=10, width=12),
        dict(id=2, file_name='COCO_train2014_000000000002.jpg', height=4, width=3),
        dict(id=3, file_name='COCO_train2014_000000000003.jpg', height=2, width=2),
    ]
    annotations = [
        # person: axis-aligned rectangle x 1..5, y 1..4 (fillPoly includes the boundary)
        dict(id=10, image_id=1, category_id=1, iscrowd=0, segmentation=[[1, 1, 5, 1, 5, 4, 1, 4]]),
        # stop sign: float corners truncated to x 3..8, y 2..6, painted over the person
        dict(id=11, image_id=1, category_id=13, iscrowd=0,
             segmentation=[[3.7, 2.2, 8.9, 2.2, 8.9, 6.9, 3.7, 6.9]]),
        # toothbrush crowd, uncompressed RLE (column-major): 100 zeros = columns 0..9, then 15 ones =
        # column 10 (10 px) + rows 0..4 of column 11, then 5 zeros
        dict(id=12, image_id=1, category_id=90, iscrowd=1,
             segmentation=dict(size=[10, 12], counts=[100, 15, 5])),
        # bottle, compressed RLE string "3214" = counts [3, 2, 1, 2 + 4 = 6]
        dict(id=13, image_id=2, category_id=44, iscrowd=1, segmentation=dict(size=[4, 3], counts='3214')),
    ]
    return dict(images=images, annotations=annotations, categories=[dict(c) for c in CATEGORIES])


def _write(tmp_path, data, name='instances_train2014.json'):
    path = osp.join(str(tmp_path), name)
    with open(path, 'w') as f:
        json.dump(data, f)
    return path


def test_category_mapping_91_to_80():
    assert len(COCO_CATEGORY_IDS) == 80 and len(COCO_CLASS_NAMES) == 80
    m = category_to_label()
    # icam.md §1.2: person 1 -> 1, fire hydrant 11 -> 11, stop sign 13 -> 12, toothbrush 90 -> 80
    assert m[1] == 1 and m[11] == 11 and m[13] == 12 and m[90] == 80
    # bottle 44: ids 12, 26, 29, 30 below it are unused -> 44 - 4 = 40
    assert m[44] == 40
    assert COCO_CLASS_NAMES[m[13] - 1] == 'stop sign' and COCO_CLASS_NAMES[m[44] - 1] == 'bottle'
    for missing in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83):
        assert missing not in m


def test_rle_string_decoding_hand_cases():
    assert rle_string_to_counts('3214') == [3, 2, 1, 6]
    assert rle_string_to_counts('d0') == [20]  # 20 needs two 5-bit groups
    assert rle_string_to_counts('151M') == [1, 5, 1, 2]  # 'M' = -3 (sign bit), delta to counts[1] = 5
    m = decode_rle(dict(size=[2, 3], counts=[1, 2, 3]))
    # column-major: pixel order (0,0),(1,0),(0,1),(1,1),(0,2),(1,2) -> 0,1,1,0,0,0
    np.testing.assert_array_equal(m, [[0, 1, 0], [1, 0, 0]])
    with pytest.raises(ValueError, match='sum'):
        decode_rle(dict(size=[2, 3], counts=[1, 2]))


def test_convert_tiny_json(tmp_path):
    ann = _write(tmp_path, _instances())
    out = osp.join(str(tmp_path), 'out')
    splits = convert([ann], out)
    assert splits == {'train2014': ['COCO_train2014_000000000001', 'COCO_train2014_000000000002',
                                    'COCO_train2014_000000000003']}
    with open(osp.join(out, 'ImageSets', 'train2014.txt')) as f:
        assert f.read().split() == splits['train2014']

    exp1 = np.zeros((10, 12), np.uint8)
    exp1[1:5, 1:6] = 1       # person
    exp1[2:7, 3:9] = 12      # stop sign overwrites
    exp1[:, 10] = 80         # crowd toothbrush keeps its class (no 255, ICAM)
    exp1[0:5, 11] = 80
    m1 = np.array(Image.open(osp.join(out, 'SegmentationClass', 'COCO_train2014_000000000001.png')))
    np.testing.assert_array_equal(m1, exp1)

    exp2 = np.array([[0, 40, 40], [0, 0, 40], [0, 40, 40], [40, 40, 40]], np.uint8)
    m2 = np.array(Image.open(osp.join(out, 'SegmentationClass', 'COCO_train2014_000000000002.png')))
    np.testing.assert_array_equal(m2, exp2)
    m3 = np.array(Image.open(osp.join(out, 'SegmentationClass', 'COCO_train2014_000000000003.png')))
    np.testing.assert_array_equal(m3, np.zeros((2, 2), np.uint8))

    labels = np.load(osp.join(out, 'cls_labels.npy'), allow_pickle=True).item()
    assert set(labels) == set(splits['train2014'])
    for name, idx in (('COCO_train2014_000000000001', [0, 11, 79]), ('COCO_train2014_000000000002', [39]),
                      ('COCO_train2014_000000000003', [])):
        exp = np.zeros(80, np.float32)
        exp[idx] = 1
        assert labels[name].dtype == np.float32
        np.testing.assert_array_equal(labels[name], exp)
    with open(osp.join(out, 'classes.txt')) as f:
        classes = f.read().split('\n')
    assert classes[0] == 'background' and classes[12] == 'stop sign' and classes[80] == 'toothbrush'


def test_convert_crowd_ignore_and_id12_names(tmp_path):
    ann = _write(tmp_path, _instances())
    out = osp.join(str(tmp_path), 'out')
    convert([ann], out, name_style='id12', crowd_label='ignore')
    m1 = np.array(Image.open(osp.join(out, 'SegmentationClass', '000000000001.png')))
    assert (m1[:, 10] == 255).all() and (m1[0:5, 11] == 255).all() and m1[5, 11] == 0
    labels = np.load(osp.join(out, 'cls_labels.npy'), allow_pickle=True).item()
    assert labels['000000000001'][79] == 0 and labels['000000000001'][0] == 1
    assert labels['000000000002'].sum() == 0  # its only object is crowd -> ignored


def test_convert_merges_splits(tmp_path):
    data = _instances()
    convert([_write(tmp_path, data)], osp.join(str(tmp_path), 'out'))
    val = dict(images=[dict(id=7, file_name='COCO_val2014_000000000007.jpg', height=3, width=3)],
               annotations=[dict(id=70, image_id=7, category_id=44, iscrowd=0,
                                 segmentation=[[0, 0, 2, 0, 2, 2, 0, 2]])], categories=CATEGORIES)
    convert([_write(tmp_path, val, 'instances_val2014.json')], osp.join(str(tmp_path), 'out'))
    labels = np.load(osp.join(str(tmp_path), 'out', 'cls_labels.npy'), allow_pickle=True).item()
    assert len(labels) == 4 and labels['COCO_val2014_000000000007'][39] == 1


def test_convert_bad_input_names_file(tmp_path):
    data = _instances()
    data['annotations'].append(dict(id=99, image_id=1, category_id=12, iscrowd=0, segmentation=[[0, 0, 1, 0, 1, 1]]))
    data['categories'].append(dict(id=12, name='street sign'))
    path = _write(tmp_path, data)
    with pytest.raises(ValueError, match='instances_train2014.json.*12'):
        convert([path], osp.join(str(tmp_path), 'out'))
    data = _instances()
    data['annotations'][0]['image_id'] = 5
    path = _write(tmp_path, data, 'instances_val2014.json')
    with pytest.raises(ValueError, match='instances_val2014.json.*unknown image id 5'):
        convert([path], osp.join(str(tmp_path), 'out'))
    with pytest.raises(FileNotFoundError, match='nothere.json'):
        convert([osp.join(str(tmp_path), 'nothere.json')], osp.join(str(tmp_path), 'out'))
