"""Convert COCO 2014 instance annotations into the WSSS layout used by ``WSSSCOCODataset``.

    python tools/dataset_converters/coco2wsss.py \
        data/coco/annotations/instances_train2014.json data/coco/annotations/instances_val2014.json \
        --out-dir data/coco2014 [--name-style file|id12] [--crowd-label class|ignore] [--nproc 2]

Written tree (``out_dir``)::

    SegmentationClass/<name>.png   8-bit single-channel class-index mask: 0 = background, 1..80 = classes
    ImageSets/<split>.txt          one name per line, every image of the JSON (also images without objects)
    cls_labels.npy                 pickled dict {name: float32 (80,) multi-hot}, all splits merged
    classes.txt                    'background' + the 80 COCO category names in label order

``<split>`` is the JSON file name without ``instances_`` (``train2014``, ``val2014``). ``<name>`` is the image
file stem (``COCO_train2014_000000000009``, ``--name-style file``, the images stay in the official
``train2014/`` / ``val2014/`` folders) or the zero-padded 12-digit id (``000000000009``, ``--name-style id12``,
ICAM's layout where all images sit in one ``Images/`` folder under their 2017 names).

Semantics (icam.md §1.2, ICAM's ``process_coco.py``):

* label value of category id ``k`` = 1 + its index among the 80 COCO category ids sorted ascending
  (person 1 -> 1, stop sign 13 -> 12, toothbrush 90 -> 80; the unused ids 12, 26, 29, 30, 45, 66, 68, 69,
  71, 83 are skipped);
* every annotation of an image is painted in the order of the JSON ``annotations`` list (the order
  ``COCO.getAnnIds`` returns), later ones overwrite earlier ones; polygons with ``cv2.fillPoly`` after
  truncating the float coordinates to int32, RLE (crowd) masks pasted; **no ignore label**: crowd regions take
  their class value (``--crowd-label class``, faithful). ``--crowd-label ignore`` paints crowd regions 255
  instead (an mmwsss option, not in ICAM);
* image labels = the unique non-zero (and non-255) values of the written mask, so a class whose pixels were all
  overwritten is absent, and crowd-only classes count.

pycocotools is not needed (and is not installed in the mmwsss venv): polygons are rasterised with
``cv2.fillPoly`` exactly as ICAM does, and RLE (uncompressed ``counts`` lists as in the instances files, and the
compressed string form) is decoded here.
"""
import argparse
import json
import multiprocessing
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from PIL import Image

# The 80 category ids of COCO 2014/2017 instances, ascending (= sorted(COCO.getCatIds())).
COCO_CATEGORY_IDS: Tuple[int, ...] = tuple(
    [i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)])

COCO_CLASS_NAMES: Tuple[str, ...] = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
    'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
    'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
    'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
    'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
    'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard',
    'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase',
    'scissors', 'teddy bear', 'hair drier', 'toothbrush')

assert len(COCO_CATEGORY_IDS) == 80 and len(COCO_CLASS_NAMES) == 80

IGNORE_INDEX = 255


def category_to_label(category_ids: Sequence[int] = COCO_CATEGORY_IDS) -> Dict[int, int]:
    """Map COCO category ids to label values 1..N (ascending id order); 0 is background."""
    ids = sorted(int(i) for i in category_ids)
    return {cid: i + 1 for i, cid in enumerate(ids)}


def rle_string_to_counts(s: Union[str, bytes]) -> List[int]:
    """Decode the compressed (string) COCO RLE ``counts`` into run lengths.

    Each number is stored in 6-bit groups offset by 48 ('0'): 5 value bits, bit 0x20 = "more groups follow",
    bit 0x10 of the last group = sign; from the third number on, values are deltas to the number two places
    back.
    """
    if isinstance(s, bytes):
        s = s.decode('ascii')
    counts: List[int] = []
    p = 0
    while p < len(s):
        x = 0
        k = 0
        more = True
        while more:
            if p >= len(s):
                raise ValueError('truncated compressed RLE string')
            c = ord(s[p]) - 48
            x |= (c & 0x1f) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def decode_rle(rle: dict) -> np.ndarray:
    """Decode a COCO RLE dict ``{'size': [h, w], 'counts': list|str}`` into a bool (h, w) mask.

    Runs alternate background/foreground starting with background, over the pixels in column-major order.
    """
    h, w = (int(v) for v in rle['size'])
    counts = rle['counts']
    if isinstance(counts, (str, bytes)):
        counts = rle_string_to_counts(counts)
    counts = [int(c) for c in counts]
    if any(c < 0 for c in counts) or sum(counts) != h * w:
        raise ValueError(f'RLE counts sum to {sum(counts)} (negative runs: {any(c < 0 for c in counts)}), '
                         f'expected h*w = {h * w}')
    flat = np.zeros(h * w, dtype=bool)
    pos = 0
    for i, c in enumerate(counts):
        if i % 2 == 1:
            flat[pos:pos + c] = True
        pos += c
    return flat.reshape((w, h)).T


def paint_annotation(mask: np.ndarray, segmentation, value: int) -> None:
    """Paint one annotation's segmentation into ``mask`` (in place) with ``value``.

    Polygons: float coordinates truncated to int32 (``astype``) and filled with ``cv2.fillPoly``, one polygon
    at a time (their union). RLE: decoded and pasted.
    """
    h, w = mask.shape
    if isinstance(segmentation, list):
        for poly in segmentation:
            pts = np.asarray(poly, dtype=np.float64).reshape(-1, 2).astype(np.int32)
            if len(pts) == 0:
                continue
            cv2.fillPoly(mask, [pts], int(value))
    elif isinstance(segmentation, dict):
        m = decode_rle(segmentation)
        if m.shape != (h, w):
            raise ValueError(f'RLE size {list(m.shape)} differs from the image size {[h, w]}')
        mask[m] = value
    else:
        raise ValueError(f'unknown segmentation type {type(segmentation).__name__}')


def rasterise_image(img_info: dict, anns: Sequence[dict], cat2label: Dict[int, int],
                    crowd_label: str = 'class') -> np.ndarray:
    """Build the uint8 class-index mask of one image from its annotations (JSON order)."""
    h, w = int(img_info['height']), int(img_info['width'])
    mask = np.zeros((h, w), dtype=np.uint8)
    for ann in anns:
        cid = int(ann['category_id'])
        if cid not in cat2label:
            raise ValueError(f"annotation {ann.get('id')} of image {img_info['id']} has unknown "
                             f'category id {cid}')
        value = cat2label[cid]
        if ann.get('iscrowd', 0) and crowd_label == 'ignore':
            value = IGNORE_INDEX
        try:
            paint_annotation(mask, ann['segmentation'], value)
        except ValueError as e:
            raise ValueError(f"annotation {ann.get('id')} of image {img_info['id']} "
                             f"({img_info.get('file_name')}): {e}") from e
    return mask


def labels_from_mask(mask: np.ndarray, num_classes: int = 80) -> np.ndarray:
    """float32 (num_classes,) multi-hot of the values 1..num_classes present in ``mask``."""
    vec = np.zeros(num_classes, dtype=np.float32)
    values = np.unique(mask)
    values = values[(values > 0) & (values != IGNORE_INDEX)]
    vec[values.astype(np.int64) - 1] = 1
    return vec


def image_name(img_info: dict, name_style: str) -> str:
    """The WSSS name of an image: its file stem or its zero-padded 12-digit id."""
    if name_style == 'file':
        return osp.splitext(osp.basename(img_info['file_name']))[0]
    if name_style == 'id12':
        return f"{int(img_info['id']):012d}"
    raise ValueError(f"name_style must be 'file' or 'id12', got {name_style!r}")


def _write_png(path: str, mask: np.ndarray) -> None:
    from mmwsss.utils.io import atomic_path
    with atomic_path(path) as tmp:
        Image.fromarray(mask, mode='L').save(tmp, format='PNG')


def _write_text(path: str, lines: Sequence[str]) -> None:
    from mmwsss.utils.io import atomic_path
    with atomic_path(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(''.join(line + '\n' for line in lines))


def _convert_one(args) -> Tuple[str, np.ndarray]:
    img_info, anns, cat2label, crowd_label, mask_path, name = args
    mask = rasterise_image(img_info, anns, cat2label, crowd_label)
    _write_png(mask_path, mask)
    return name, labels_from_mask(mask, len(cat2label))


def load_instances(ann_file: str) -> dict:
    """Read an instances JSON and check the keys the conversion needs."""
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'{ann_file}: COCO instances file not found')
    try:
        with open(ann_file, encoding='utf-8') as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f'{ann_file}: not a valid JSON file ({e})') from e
    missing = [k for k in ('images', 'annotations', 'categories') if k not in data]
    if missing:
        raise ValueError(f'{ann_file}: missing top-level keys {missing} (not a COCO instances file?)')
    return data


def check_categories(ann_file: str, categories: Sequence[dict],
                     category_ids: Sequence[int] = COCO_CATEGORY_IDS) -> None:
    """The JSON's categories must be a subset of the COCO-80 ids (same ids -> same label values)."""
    unknown = sorted({int(c['id']) for c in categories} - set(category_ids))
    if unknown:
        raise ValueError(f'{ann_file}: category ids {unknown} are not COCO-80 category ids')


def convert_split(ann_file: str, out_dir: str, split: Optional[str] = None, name_style: str = 'file',
                  crowd_label: str = 'class', nproc: int = 1) -> Tuple[str, Dict[str, np.ndarray]]:
    """Convert one instances JSON; returns ``(split, {name: labels})`` and writes masks and the list."""
    if crowd_label not in ('class', 'ignore'):
        raise ValueError(f"crowd_label must be 'class' or 'ignore', got {crowd_label!r}")
    data = load_instances(ann_file)
    check_categories(ann_file, data['categories'])
    cat2label = category_to_label(COCO_CATEGORY_IDS)
    if split is None:
        split = osp.splitext(osp.basename(ann_file))[0]
        if split.startswith('instances_'):
            split = split[len('instances_'):]
    anns_of: Dict[int, List[dict]] = {int(img['id']): [] for img in data['images']}
    for ann in data['annotations']:
        iid = int(ann['image_id'])
        if iid not in anns_of:
            raise ValueError(f"{ann_file}: annotation {ann.get('id')} refers to unknown image id {iid}")
        anns_of[iid].append(ann)
    mask_dir = osp.join(out_dir, 'SegmentationClass')
    os.makedirs(mask_dir, exist_ok=True)
    jobs = []
    names = []
    for img in data['images']:
        name = image_name(img, name_style)
        names.append(name)
        jobs.append((img, anns_of[int(img['id'])], cat2label, crowd_label, osp.join(mask_dir, name + '.png'),
                     name))
    if len(set(names)) != len(names):
        raise ValueError(f'{ann_file}: image names are not unique with name_style={name_style!r}')
    if nproc > 1:
        with multiprocessing.Pool(nproc) as pool:
            results = pool.map(_convert_one, jobs, chunksize=64)
    else:
        results = [_convert_one(j) for j in jobs]
    _write_text(osp.join(out_dir, 'ImageSets', split + '.txt'), names)
    return split, dict(results)


def convert(ann_files: Sequence[str], out_dir: str, name_style: str = 'file', crowd_label: str = 'class',
            nproc: int = 1) -> Dict[str, List[str]]:
    """Convert every instances JSON into ``out_dir``; returns ``{split: [names]}``.

    ``cls_labels.npy`` holds the labels of all converted splits; an existing one in ``out_dir`` is updated
    (entries of the converted images replaced, others kept), so the splits may be converted one at a time.
    """
    labels_path = osp.join(out_dir, 'cls_labels.npy')
    cls_labels: Dict[str, np.ndarray] = {}
    if osp.isfile(labels_path):
        cls_labels = dict(np.load(labels_path, allow_pickle=True).item())
    splits = {}
    for ann_file in ann_files:
        split, labels = convert_split(ann_file, out_dir, None, name_style, crowd_label, nproc)
        cls_labels.update(labels)
        splits[split] = list(labels)
    from mmwsss.utils.io import atomic_path
    with atomic_path(labels_path) as tmp:
        with open(tmp, 'wb') as f:
            np.save(f, cls_labels, allow_pickle=True)
    _write_text(osp.join(out_dir, 'classes.txt'), ('background', ) + COCO_CLASS_NAMES)
    return splits


def parse_args():
    parser = argparse.ArgumentParser(description='COCO 2014 instances JSON -> WSSS masks, lists, cls_labels.npy')
    parser.add_argument('ann_files', nargs='+', help='instances_<split>.json files')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--name-style', choices=('file', 'id12'), default='file',
                        help="'file': image file stem (COCO_train2014_...), 'id12': 12-digit id (ICAM layout)")
    parser.add_argument('--crowd-label', choices=('class', 'ignore'), default='class',
                        help="'class' (ICAM, faithful): crowd regions take their class; 'ignore': paint 255")
    parser.add_argument('--nproc', type=int, default=1)
    return parser.parse_args()


def main():
    args = parse_args()
    t0 = time.time()
    splits = convert(args.ann_files, args.out_dir, args.name_style, args.crowd_label, args.nproc)
    print(f'written to {args.out_dir} in {time.time() - t0:.1f}s: ' +
          ', '.join(f'{k} {len(v)}' for k, v in splits.items()))


if __name__ == '__main__':
    main()
