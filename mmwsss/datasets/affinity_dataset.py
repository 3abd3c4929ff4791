"""AffinityNet training data: images + the la/ha CRF marginals of their CAMs (affinitynet.md §4.3).

The marginal files follow :mod:`mmwsss.utils.crf_io` (written by ``tools/gen_pseudo.py --mode lacrf``).
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmseg.registry import DATASETS
from PIL import Image

from mmwsss.utils.crf_io import CRFMarginalsError, load_crf_marginals
from .voc_wsss import VOC_CLASSES, VOC_PALETTE
from .wsss_base import BaseWSSSDataset, voc_palette

__all__ = ['AffinityCRFDataset']


@DATASETS.register_module()
class AffinityCRFDataset(BaseWSSSDataset):
    """Images with their low/high-alpha CRF marginals, for AffinityNet training (psa ``VOC12AffDataset``).

    Each data info gets ``la_crf_path`` / ``ha_crf_path`` (``<dir>/<id>.npy``). When an item is fetched the
    two files are loaded and checked (present, readable, same size as the image, the same label ids) and
    put into the results as ``gt_la_crf`` / ``gt_ha_crf``, float32 ``(H, W, n)`` maps registered in
    ``seg_fields``, so ``RandomCropPad`` / ``WSSSRandomFlip`` transform them with the image and
    ``ExtractAffinityLabels`` turns them into pair labels. Image-level labels are not needed (psa does not
    use them here).

    Args:
        la_crf_dir: folder of the low-alpha marginals (psa alpha 4: confident foreground), relative to
            ``data_root`` unless absolute.
        ha_crf_dir: folder of the high-alpha marginals (psa alpha 32: confident background).
        ann_file: the id list (psa: train_aug).
        check_files: at init, raise ONE error listing every id whose la/ha file is missing.
        label_source: image-level labels (default None).
        data_prefix: ``img_path`` (default ``JPEGImages``).
        metainfo: ``dict(classes=...)`` replaces the VOC classes (e.g. the toy classes).
        **kwargs: see :class:`BaseWSSSDataset`.
    """
    METAINFO = dict(classes=VOC_CLASSES, palette=VOC_PALETTE)
    CRF_KEYS = (('la_crf_path', 'gt_la_crf'), ('ha_crf_path', 'gt_ha_crf'))

    def __init__(self,
                 la_crf_dir: str,
                 ha_crf_dir: str,
                 ann_file: str = '',
                 check_files: bool = True,
                 label_source: Optional[str] = None,
                 data_prefix: dict = dict(img_path='JPEGImages'),
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        if not la_crf_dir or not ha_crf_dir:
            raise ValueError('AffinityCRFDataset: la_crf_dir and ha_crf_dir must both be given')
        self.la_crf_dir = la_crf_dir
        self.ha_crf_dir = ha_crf_dir
        self.check_files = check_files
        if metainfo is not None and 'classes' in metainfo and 'palette' not in metainfo:
            metainfo = dict(metainfo, palette=voc_palette(len(metainfo['classes'])))
        kwargs.pop('load_seg_map', None)
        super().__init__(ann_file=ann_file,
                         label_source=label_source,
                         load_seg_map=False,
                         data_prefix=data_prefix,
                         metainfo=metainfo,
                         **kwargs)

    @classmethod
    def get_label_map(cls, new_classes: Optional[Sequence] = None) -> None:
        """No remapping: metainfo classes replace the defaults (as ``PseudoMaskDataset``)."""
        return None

    def _join_prefix(self) -> None:
        super()._join_prefix()
        if self.data_root:
            if not osp.isabs(self.la_crf_dir):
                self.la_crf_dir = osp.join(self.data_root, self.la_crf_dir)
            if not osp.isabs(self.ha_crf_dir):
                self.ha_crf_dir = osp.join(self.data_root, self.ha_crf_dir)

    def make_data_info(self, name: str) -> dict:
        info = super().make_data_info(name)
        info['la_crf_path'] = osp.join(self.la_crf_dir, name + '.npy')
        info['ha_crf_path'] = osp.join(self.ha_crf_dir, name + '.npy')
        return info

    def load_data_list(self) -> List[dict]:
        for what, d in (('la_crf_dir', self.la_crf_dir), ('ha_crf_dir', self.ha_crf_dir)):
            if not osp.isdir(d):
                raise FileNotFoundError(f'{d}: {what} (CRF marginals, tools/gen_pseudo.py --mode lacrf) not found')
        data_list = super().load_data_list()
        if self.check_files:
            missing = [info[k] for info in data_list for k, _ in self.CRF_KEYS if not osp.isfile(info[k])]
            if missing:
                raise FileNotFoundError(f'{len(missing)} CRF marginal files of {self.ann_file} are missing:\n  ' +
                                        '\n  '.join(missing[:50]) + ('\n  ...' if len(missing) > 50 else ''))
        return data_list

    @staticmethod
    def image_size(path: str) -> Tuple[int, int]:
        """``(H, W)`` from the image header (no decoding)."""
        try:
            with Image.open(path) as im:
                w, h = im.size
        except FileNotFoundError:
            raise FileNotFoundError(f'{path}: image file not found') from None
        except Exception as e:
            raise ValueError(f'{path}: cannot read the image header ({type(e).__name__}: {e})') from None
        return h, w

    def load_crf_maps(self, info: dict) -> dict:
        """Load and check the la/ha marginals of one data info; adds ``gt_la_crf`` / ``gt_ha_crf`` (H, W, n)."""
        size = self.image_size(info['img_path'])
        num_classes = len(self._metainfo['classes'])
        loaded: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
        for path_key, key in self.CRF_KEYS:
            probs, ids, _ = load_crf_marginals(info[path_key], image_size=size, num_classes=num_classes)
            loaded[key] = (probs, ids)
        (la, la_ids), (ha, ha_ids) = loaded['gt_la_crf'], loaded['gt_ha_crf']
        if not np.array_equal(la_ids, ha_ids):
            raise CRFMarginalsError(f"{info['la_crf_path']} and {info['ha_crf_path']}: different label ids "
                                    f'({la_ids.tolist()} vs {ha_ids.tolist()}); both must come from the same CAMs')
        info['gt_la_crf'] = np.ascontiguousarray(la.transpose(1, 2, 0))
        info['gt_ha_crf'] = np.ascontiguousarray(ha.transpose(1, 2, 0))
        info['crf_label_ids'] = la_ids
        fields = info.setdefault('seg_fields', [])
        for _, key in self.CRF_KEYS:
            if key not in fields:
                fields.append(key)
        return info

    def prepare_data(self, idx: int) -> Union[dict, None]:
        """Data info + the loaded CRF maps, through the pipeline (runs in the data-loader workers)."""
        return self.pipeline(self.load_crf_maps(self.get_data_info(idx)))
