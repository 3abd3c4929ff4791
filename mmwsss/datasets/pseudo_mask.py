import os
import os.path as osp
from multiprocessing.pool import ThreadPool
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmseg.registry import DATASETS
from PIL import Image

from .voc_wsss import VOC_CLASSES, VOC_PALETTE
from .wsss_base import BaseWSSSDataset, voc_palette


@DATASETS.register_module()
class PseudoMaskDataset(BaseWSSSDataset):
    """Images + pseudo masks for the final fully-supervised stage (deeplab_final.md §5.3).

    The masks are PNGs in ``pseudo_dir`` (``<id><seg_map_suffix>``; 0 = background, 1..C-1 = classes,
    255 = ignore) and become ``seg_map_path``, so mmseg's own pipeline works unchanged
    (``LoadImageFromFile``, ``LoadAnnotations``, ``RandomResize``, ``RandomCrop``, ``PackSegInputs``).

    Classes default to VOC's; ``metainfo=dict(classes=...)`` replaces them entirely (e.g. the toy or COCO
    classes; a VOC-style palette is generated if none is given) -- mmseg's class-subset remapping is not used.

    Args:
        pseudo_dir: folder of the pseudo masks (relative to ``data_root`` unless absolute).
        ann_file: the id list (e.g. ``ImageSets/Segmentation/train_aug.txt``).
        check_masks: scan every mask at init and raise ONE error that lists every offending file: missing,
            undecodable / not single-channel 8-bit, size different from its image, values outside
            0..C-1 and 255.
        check_nproc: threads used by the scan.
        label_source: image labels too (default None: not needed by a segmentation model).
        data_prefix: ``img_path`` (and optional extra keys); ``seg_map_path`` is set to ``pseudo_dir``.
        **kwargs: see :class:`BaseWSSSDataset`.
    """
    METAINFO = dict(classes=VOC_CLASSES, palette=VOC_PALETTE)

    def __init__(self, pseudo_dir: str, ann_file: str = '', check_masks: bool = True, check_nproc: int = 4,
                 label_source: Optional[str] = None, data_prefix: dict = dict(img_path='JPEGImages'),
                 metainfo: Optional[dict] = None, **kwargs) -> None:
        if not pseudo_dir:
            raise ValueError('PseudoMaskDataset: pseudo_dir must be given')
        self.pseudo_dir = pseudo_dir
        self.check_masks = check_masks
        self.check_nproc = max(1, int(check_nproc))
        data_prefix = dict(data_prefix)
        data_prefix['seg_map_path'] = pseudo_dir
        if metainfo is not None and 'classes' in metainfo and 'palette' not in metainfo:
            metainfo = dict(metainfo, palette=voc_palette(len(metainfo['classes'])))
        kwargs.pop('load_seg_map', None)
        super().__init__(ann_file=ann_file, label_source=label_source, load_seg_map=True,
                         data_prefix=data_prefix, metainfo=metainfo, **kwargs)

    @classmethod
    def get_label_map(cls, new_classes: Optional[Sequence] = None) -> Union[Dict, None]:
        """No remapping: metainfo classes replace the defaults (the masks hold indices of those classes)."""
        return None

    def _mask_problems(self, info: dict) -> Optional[str]:
        """Everything wrong with one mask, or None."""
        path, img_path = info['seg_map_path'], info['img_path']
        if not osp.isfile(path):
            return f'{path}: missing'
        try:
            with Image.open(path) as im:
                im.load()
                mode = im.mode
                mask = np.asarray(im)
        except Exception as e:
            return f'{path}: cannot decode ({type(e).__name__}: {e})'
        problems = []
        if mode not in ('L', 'P'):
            problems.append(f'not a single-channel 8-bit PNG (PIL mode {mode})')
        else:
            try:
                with Image.open(img_path) as img:
                    w, h = img.size
                if mask.shape != (h, w):
                    problems.append(f'size {mask.shape[0]}x{mask.shape[1]} (HxW) differs from its image '
                                    f'{img_path} ({h}x{w})')
            except FileNotFoundError:
                problems.append(f'its image {img_path} is missing')
            except Exception as e:
                problems.append(f'its image {img_path} cannot be read ({type(e).__name__})')
            values = np.unique(mask)
            num_classes = len(self._metainfo['classes'])
            bad = values[(values >= num_classes) & (values != self.ignore_index)]
            if bad.size:
                problems.append(f'values {bad.tolist()[:10]} outside 0..{num_classes - 1} and '
                                f'{self.ignore_index}')
        return f'{path}: ' + '; '.join(problems) if problems else None

    def check_mask_files(self, data_list: List[dict]) -> None:
        """Scan every mask; raise one ValueError listing every offending file."""
        nproc = min(self.check_nproc, len(data_list), os.cpu_count() or 1)
        if nproc > 1:
            with ThreadPool(nproc) as pool:
                results = pool.map(self._mask_problems, data_list, chunksize=32)
        else:
            results = [self._mask_problems(info) for info in data_list]
        bad = [r for r in results if r]
        if bad:
            raise ValueError(f'{len(bad)} of the {len(data_list)} pseudo masks in {self.data_prefix["seg_map_path"]} '
                             'are bad:\n  ' + '\n  '.join(bad))

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        if self.check_masks:
            self.check_mask_files(data_list)
        return data_list
