"""Base class of the mmwsss data sets: an id list, image-level labels from a configurable source, and pixel
GT attached only on request.

Design (image-level labels are part of the data info, there is no label-loading transform):

* ``label_source='npy'``: psa's ``cls_labels.npy`` (pickled dict ``{name: float32 (C-1,)}``) is read once at
  init; every id of the list is checked there (list-level errors are raised at init, one error listing every
  bad id). The vector sits in the data info as ``gt_img_labels``.
* ``label_source='xml'`` / ``'mask'``: the data info holds ``label_src_path`` (the VOC XML / the class-index
  mask); the vector is computed when the item is fetched (``get_data_info``), so a missing or bad file
  raises at index time, naming the file.
* ``label_source=None``: no image-level labels (e.g. a test split).

``PackWSSSInputs`` turns ``gt_img_labels`` into ``data_sample.gt_img_labels`` (float tensor (C-1,), index
i = label value i + 1). ``load_seg_map=False`` leaves ``seg_map_path`` out of every data info, so no
pipeline can open pixel GT (a WSSS classifier's training split must use it).

Optional ``data_prefix`` entries ``saliency_path``, ``superpixel_path``, ``pseudo_seg_path`` add
``<prefix>/<id><extra_suffix>`` to each data info for the loading transforms ``LoadSaliencyMap``,
``LoadSuperpixels`` and ``LoadPseudoMask``.
"""
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence

import mmengine
import numpy as np
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS
from PIL import Image

from mmwsss.visualization.palette import voc_palette_array

LABEL_SOURCES = ('npy', 'xml', 'mask', None)
EXTRA_PREFIX_KEYS = ('saliency_path', 'superpixel_path', 'pseudo_seg_path')


def voc_palette(num: int) -> List[List[int]]:
    """The PASCAL VOC colour palette for ``num`` labels as ``[[r, g, b], ...]`` (mmseg METAINFO format)."""
    return voc_palette_array(num).tolist()


def read_id_list(ann_file: str, backend_args: Optional[dict] = None) -> List[str]:
    """Image ids of a list file: bare ids, or psa/ICAM lines ``/JPEGImages/<id>.jpg /Segm.../<id>.png``
    (the id is the stem of the first token). Raises on a missing/empty file and on duplicate ids."""
    if not ann_file or not osp.isfile(ann_file):
        raise FileNotFoundError(f'{ann_file}: image list (ann_file) not found')
    names = []
    for line in mmengine.list_from_file(ann_file, backend_args=backend_args):
        tokens = line.split()
        if tokens:
            names.append(osp.splitext(osp.basename(tokens[0]))[0])
    if not names:
        raise ValueError(f'{ann_file}: the image list is empty')
    seen, dups = set(), []
    for n in names:
        if n in seen:
            dups.append(n)
        seen.add(n)
    if dups:
        raise ValueError(f'{ann_file}: {len(dups)} duplicate ids in the image list, e.g. {dups[:5]}')
    return names


@DATASETS.register_module()
class BaseWSSSDataset(BaseSegDataset):
    """WSSS data set on an id list (see the module docstring for the design).

    Args:
        ann_file: the id list (``train_aug.txt``, ``train.txt``, ``val.txt``), relative to ``data_root``.
        label_source: 'npy' | 'xml' | 'mask' | None -- where image-level labels come from.
        cls_labels_file: the ``cls_labels.npy`` for ``label_source='npy'``, relative to ``data_root``.
        load_seg_map: attach ``seg_map_path`` (pixel GT) to the data infos. False for a WSSS classifier's
            training split: then no data info holds a mask path.
        allow_empty_labels: accept images without any foreground label (default: error).
        xml_ignore_difficult: XML labels as ICD reads them (non-difficult objects; the difficult ones only if
            nothing else) instead of psa's rule (every ``<name>`` tag that is a class name, difficult included).
        img_suffix, seg_map_suffix, xml_suffix, extra_suffix: file suffixes (extra: saliency/superpixel/pseudo).
        data_prefix: folders: ``img_path``, ``seg_map_path`` (GT masks; also the label masks of
            ``label_source='mask'``), ``xml_path``, and the optional extra keys.
        **kwargs: the rest of mmseg's ``BaseSegDataset`` arguments (``data_root``, ``pipeline``, ...).
    """
    METAINFO: dict = dict()

    def __init__(self,
                 ann_file: str = '',
                 label_source: Optional[str] = 'npy',
                 cls_labels_file: str = 'cls_labels.npy',
                 load_seg_map: bool = True,
                 allow_empty_labels: bool = False,
                 xml_ignore_difficult: bool = False,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 xml_suffix: str = '.xml',
                 extra_suffix: str = '.png',
                 data_prefix: dict = dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug',
                                          xml_path='Annotations'),
                 **kwargs) -> None:
        if label_source not in LABEL_SOURCES:
            raise ValueError(f'label_source must be one of {LABEL_SOURCES}, got {label_source!r}')
        self.label_source = label_source
        self.cls_labels_file = cls_labels_file
        self.load_seg_map = load_seg_map
        self.allow_empty_labels = allow_empty_labels
        self.xml_ignore_difficult = xml_ignore_difficult
        self.xml_suffix = xml_suffix
        self.extra_suffix = extra_suffix
        super().__init__(ann_file=ann_file, img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         data_prefix=data_prefix, **kwargs)

    # ------------------------------------------------------------------ helpers
    @property
    def num_fg_classes(self) -> int:
        """Number of foreground classes (length of the label vector)."""
        return len(self._metainfo['classes']) - 1

    def _join_prefix(self) -> None:
        super()._join_prefix()
        if self.cls_labels_file and not osp.isabs(self.cls_labels_file) and self.data_root:
            self.cls_labels_file = osp.join(self.data_root, self.cls_labels_file)

    def _require_prefix(self, key: str, why: str) -> str:
        prefix = self.data_prefix.get(key)
        if not prefix:
            raise ValueError(f"{type(self).__name__}: data_prefix['{key}'] is needed for {why}")
        return prefix

    def label_problem(self, vec: np.ndarray) -> Optional[str]:
        """What is wrong with a label vector, or None."""
        vec = np.asarray(vec)
        if vec.ndim != 1 or vec.shape[0] != self.num_fg_classes:
            return (f'label vector has shape {tuple(vec.shape)}, expected ({self.num_fg_classes},) = the '
                    f'number of foreground classes')
        if not np.all(np.isin(vec, (0, 1))):
            return f'label vector is not multi-hot 0/1: {vec.tolist()}'
        if not self.allow_empty_labels and not vec.any():
            return 'image has no foreground label (set allow_empty_labels=True to accept it)'
        return None

    # ------------------------------------------------------------- label sources
    def load_npy_labels(self, names: Sequence[str]) -> Dict[str, np.ndarray]:
        """Labels of ``names`` from ``cls_labels_file``; one error listing every bad id."""
        path = self.cls_labels_file
        if not path or not osp.isfile(path):
            raise FileNotFoundError(f"{path}: cls_labels file not found (label_source='npy')")
        try:
            obj = np.load(path, allow_pickle=True)
            table = obj.item() if isinstance(obj, np.ndarray) and obj.dtype == object else obj
        except Exception as e:
            raise ValueError(f'{path}: cannot read the cls_labels file ({type(e).__name__}: {e})') from e
        if not isinstance(table, dict):
            raise ValueError(f'{path}: cls_labels file must hold a dict {{id: multi-hot vector}}, '
                             f'got {type(table).__name__}')
        labels, problems = {}, []
        for name in names:
            if name not in table:
                problems.append(f'{name}: no entry')
                continue
            try:
                vec = np.asarray(table[name], dtype=np.float32)
            except (TypeError, ValueError) as e:
                problems.append(f'{name}: label vector is not numeric ({e})')
                continue
            problem = self.label_problem(vec)
            if problem:
                problems.append(f'{name}: {problem}')
            labels[name] = vec
        if problems:
            raise ValueError(f'{path}: bad image labels for {len(problems)} of the {len(names)} ids of '
                             f'{self.ann_file}:\n  ' + '\n  '.join(problems))
        return labels

    def labels_from_xml(self, path: str) -> np.ndarray:
        """Multi-hot from a VOC XML (psa: every ``<name>`` that is a class name; ICD rule if
        ``xml_ignore_difficult``)."""
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path}: annotation XML not found')
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            raise ValueError(f'{path}: cannot parse the annotation XML ({e})') from e
        if self.xml_ignore_difficult:
            objects = root.findall('object')
            easy = [o for o in objects if (o.findtext('difficult') or '0').strip() != '1']
            names = [(o.findtext('name') or '').strip() for o in (easy or objects)]
        else:
            names = [(el.text or '').strip() for el in root.iter('name')]
        classes = list(self._metainfo['classes'])
        vec = np.zeros(self.num_fg_classes, dtype=np.float32)
        for n in names:
            if n in classes[1:]:
                vec[classes.index(n) - 1] = 1
        return vec

    def labels_from_mask(self, path: str) -> np.ndarray:
        """Multi-hot of the values present in a class-index mask (0 and 255 ignored)."""
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path}: label mask not found')
        try:
            with Image.open(path) as im:
                if im.mode not in ('L', 'P'):
                    raise ValueError(f'PIL mode {im.mode}, expected a single-channel 8-bit class-index PNG')
                values = np.unique(np.asarray(im))
        except ValueError as e:
            raise ValueError(f'{path}: bad label mask ({e})') from e
        except Exception as e:
            raise ValueError(f'{path}: cannot decode the label mask ({type(e).__name__}: {e})') from e
        values = values[(values != 0) & (values != self.ignore_index)]
        bad = values[values > self.num_fg_classes]
        if bad.size:
            raise ValueError(f'{path}: label mask holds values {bad.tolist()} outside 0..{self.num_fg_classes} '
                             f'and {self.ignore_index}')
        vec = np.zeros(self.num_fg_classes, dtype=np.float32)
        vec[values.astype(np.int64) - 1] = 1
        return vec

    def load_image_labels(self, data_info: dict) -> np.ndarray:
        """Per-image labels for the 'xml'/'mask' sources (called at index time)."""
        path = data_info['label_src_path']
        vec = self.labels_from_xml(path) if self.label_source == 'xml' else self.labels_from_mask(path)
        problem = self.label_problem(vec)
        if problem:
            raise ValueError(f'{path}: {problem}')
        return vec

    # ------------------------------------------------------------ data list
    def make_data_info(self, name: str) -> dict:
        """The data info of one id (paths only; labels are added by the caller)."""
        info = dict(img_path=osp.join(self.data_prefix['img_path'], name + self.img_suffix), img_id=name,
                    label_map=self.label_map, reduce_zero_label=self.reduce_zero_label, seg_fields=[])
        if self.load_seg_map:
            info['seg_map_path'] = osp.join(self.data_prefix['seg_map_path'], name + self.seg_map_suffix)
        for key in EXTRA_PREFIX_KEYS:
            if self.data_prefix.get(key):
                info[key] = osp.join(self.data_prefix[key], name + self.extra_suffix)
        if self.label_source == 'xml':
            info['label_src_path'] = osp.join(self.data_prefix['xml_path'], name + self.xml_suffix)
        elif self.label_source == 'mask':
            info['label_src_path'] = osp.join(self.data_prefix['seg_map_path'], name + self.seg_map_suffix)
        return info

    def load_data_list(self) -> List[dict]:
        """Read the id list, check list-level consistency, build the data infos."""
        if self.label_map is not None:
            raise ValueError(f'{type(self).__name__}: metainfo classes {self._metainfo.get("classes")} differ '
                             f'from {self.METAINFO.get("classes")}; class subsets are not supported')
        img_dir = self._require_prefix('img_path', 'the images')
        if not osp.isdir(img_dir):
            raise FileNotFoundError(f'{img_dir}: image folder not found')
        if self.load_seg_map:
            self._require_prefix('seg_map_path', 'load_seg_map=True')
        if self.label_source == 'xml':
            self._require_prefix('xml_path', "label_source='xml'")
        if self.label_source == 'mask':
            self._require_prefix('seg_map_path', "label_source='mask'")
        names = read_id_list(self.ann_file, self.backend_args)
        labels = self.load_npy_labels(names) if self.label_source == 'npy' else None
        data_list = []
        for name in names:
            info = self.make_data_info(name)
            if labels is not None:
                info['gt_img_labels'] = labels[name]
            data_list.append(info)
        return data_list

    def get_data_info(self, idx: int) -> dict:
        """The data info of item ``idx``; labels of the 'xml'/'mask' sources are read here."""
        info = super().get_data_info(idx)
        if self.label_source in ('xml', 'mask'):
            info['gt_img_labels'] = self.load_image_labels(info)
        return info
