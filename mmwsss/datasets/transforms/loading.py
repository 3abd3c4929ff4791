"""Loading transforms of mmwsss: checked image / mask loading and the optional per-image inputs
(saliency maps, superpixel maps, pseudo masks).

Every loader raises an error that names the file and the problem (missing, undecodable, wrong size, bad
values). Extra maps are appended to ``results['seg_fields']`` so that the geometric transforms of mmwsss
(``RandomResizeLong``, ``WSSSRandomFlip``, ``RandomCropPad``) and mmseg's ``RandomCrop``/``Resize`` process them.
Paths come from the data info (keys ``saliency_path``, ``superpixel_path``, ``pseudo_seg_path``), which
the WSSS datasets fill from the ``data_prefix`` entries of the same name.
"""
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmengine import fileio
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS

from .utils import add_seg_field, check_same_size, read_image_file


def _check_label_values(arr: np.ndarray, num_classes: Optional[int], ignore_index: int, path: str,
                        what: str) -> None:
    if num_classes is None:
        return
    values = np.unique(arr)
    bad = values[((values < 0) | (values >= num_classes)) & (values != ignore_index)]
    if bad.size:
        raise ValueError(f'{path}: {what} holds values {bad.tolist()[:10]} outside 0..{num_classes - 1} '
                         f'and {ignore_index}')


@TRANSFORMS.register_module()
class LoadWSSSImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with errors that name the file: missing file, unreadable bytes, data
    that does not decode as an image (garbage, truncated JPEG). Output as mmcv's: BGR uint8,
    ``img_shape``/``ori_shape``.

    Difference: ``imdecode_backend`` defaults to 'pillow' -- psa, RTC and ICAM read images with PIL, and
    PIL's JPEG decoder is not guaranteed to match OpenCV's bit for bit (ICD reads with cv2: pass
    ``imdecode_backend='cv2'``). Other arguments as mmcv's ``LoadImageFromFile``.
    """

    def __init__(self, imdecode_backend: str = 'pillow', **kwargs) -> None:
        super().__init__(imdecode_backend=imdecode_backend, **kwargs)

    def transform(self, results: dict) -> Optional[dict]:
        filename = results['img_path']
        try:
            img_bytes = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError as e:
            if self.ignore_empty:
                return None
            raise FileNotFoundError(f'{filename}: image file not found') from e
        except OSError as e:
            if self.ignore_empty:
                return None
            raise OSError(f'{filename}: cannot read the image file ({e})') from e
        try:
            img = mmcv.imfrombytes(img_bytes, flag=self.color_type, backend=self.imdecode_backend)
        except Exception as e:
            img = None
            err = f' ({type(e).__name__}: {e})'
        else:
            err = ''
        if img is None or img.size == 0:
            if self.ignore_empty:
                return None
            raise ValueError(f'{filename}: cannot decode the image (corrupt or not an image file){err}')
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadWSSSAnnotations(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` plus checks: the mask file exists and decodes, has the size of its image
    (needs the image loaded first) and, if ``num_classes`` is given, holds only 0..num_classes-1 and
    ``ignore_index``. Arguments as mmseg's ``LoadAnnotations``."""

    def __init__(self, num_classes: Optional[int] = None, ignore_index: int = 255, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def _load_seg_map(self, results: dict) -> None:
        path = results.get('seg_map_path')
        if path is None:
            raise KeyError(f"{results.get('img_path', '?')}: no 'seg_map_path' in the data info; the dataset "
                           'was built with load_seg_map=False (no pixel labels)')
        try:
            super()._load_seg_map(results)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'{path}: segmentation mask file not found') from e
        except Exception as e:
            raise ValueError(f'{path}: cannot decode the segmentation mask ({type(e).__name__}: {e})') from e
        seg = results.get('gt_seg_map')
        if seg is None or seg.ndim != 2:
            raise ValueError(f'{path}: segmentation mask must be a single-channel image, got shape '
                             f'{None if seg is None else seg.shape}')
        check_same_size(results, seg, path, 'segmentation mask')
        _check_label_values(seg, self.num_classes, self.ignore_index, path, 'segmentation mask')

    def __repr__(self) -> str:
        return (super().__repr__()[:-1] + f', num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index})')


class _ExtraMapLoader(BaseTransform):
    """Shared steps of the extra per-image map loaders: find the path in the data info, read the file,
    decode it (:meth:`decode_map`, per subclass), check its size against the image, store it under ``key``
    and register it in ``seg_fields`` (so flips and crops move it with the image)."""

    #: what the file is, for error messages
    what = 'map'

    def __init__(self, path_key: str, key: str, check_size: bool = True):
        self.path_key = path_key
        self.key = key
        self.check_size = check_size

    def decode_map(self, im, path: str) -> np.ndarray:
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        if self.path_key not in results:
            raise KeyError(f"{results.get('img_path', '?')}: no '{self.path_key}' in the data info; set "
                           f"data_prefix['{self.path_key}'] of the dataset")
        path = results[self.path_key]
        arr = self.decode_map(read_image_file(path, self.what), path)
        if self.check_size:
            check_same_size(results, arr, path, self.what)
        results[self.key] = arr
        add_seg_field(results, self.key)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(path_key={self.path_key!r}, key={self.key!r})'


@TRANSFORMS.register_module()
class LoadSaliencyMap(_ExtraMapLoader):
    """Load a saliency map (8-bit PNG, 0..255) as float32 in [0, 1] into ``results[key]``.

    Required keys: ``saliency_path`` (``path_key``). Added keys: ``gt_saliency`` (``key``, HxW float32);
    ``key`` is appended to ``seg_fields``. A colour PNG is converted to grey (PIL 'L').

    Args:
        path_key: data-info key holding the file path.
        key: results key to write.
        check_size: raise if the map's size differs from the image's (``ori_shape``).
    """

    what = 'saliency map'

    def __init__(self, path_key: str = 'saliency_path', key: str = 'gt_saliency', check_size: bool = True):
        super().__init__(path_key, key, check_size)

    def decode_map(self, im, path: str) -> np.ndarray:
        if im.mode in ('I', 'I;16', 'F'):
            raise ValueError(f'{path}: saliency map must be an 8-bit image (0..255), got PIL mode {im.mode}')
        return np.asarray(im.convert('L'), dtype=np.float32) / 255.0


@TRANSFORMS.register_module()
class LoadSuperpixels(_ExtraMapLoader):
    """Load a superpixel map (integer segment ids) into ``results[key]`` (HxW int32).

    ICD's format (icd.md §1): a 3-channel PNG whose id is B + 256·G + 65536·R (the merged maps store the id
    in B only, G = R = 0); single-channel 8/16/32-bit PNGs are read as ids directly.

    Required keys: ``superpixel_path``. Added keys: ``gt_superpixels`` (appended to ``seg_fields``).
    """

    what = 'superpixel map'

    def __init__(self, path_key: str = 'superpixel_path', key: str = 'gt_superpixels',
                 check_size: bool = True):
        super().__init__(path_key, key, check_size)

    @staticmethod
    def decode(im) -> np.ndarray:
        """Segment ids of a decoded PIL image (see class docstring)."""
        if im.mode in ('RGB', 'RGBA'):
            rgb = np.asarray(im.convert('RGB'), dtype=np.int32)
            return rgb[..., 2] + 256 * rgb[..., 1] + 65536 * rgb[..., 0]
        if im.mode in ('L', 'P', 'I', 'I;16', 'I;16B', 'I;16L'):
            return np.asarray(im, dtype=np.int64).astype(np.int32)
        raise ValueError(f'unsupported PIL mode {im.mode} for a superpixel map')

    def decode_map(self, im, path: str) -> np.ndarray:
        try:
            return self.decode(im)
        except ValueError as e:
            raise ValueError(f'{path}: {e}') from e


@TRANSFORMS.register_module()
class LoadPseudoMask(_ExtraMapLoader):
    """Load a pseudo mask (single-channel PNG, 0 = bg, 1..C-1 = classes, 255 = ignore) as an extra map.

    For methods that train on pixel GT-like targets next to image labels (the mask goes to
    ``results['gt_pseudo_seg']``, not ``gt_seg_map``, so evaluation GT and pseudo labels stay apart). For the
    final fully-supervised stage use ``PseudoMaskDataset`` with mmseg's ``LoadAnnotations`` instead.

    Args:
        path_key: data-info key holding the path (``pseudo_seg_path``).
        key: results key (``gt_pseudo_seg``), appended to ``seg_fields``.
        num_classes: if given, values must be in 0..num_classes-1 or ``ignore_index``.
    """

    what = 'pseudo mask'

    def __init__(self, path_key: str = 'pseudo_seg_path', key: str = 'gt_pseudo_seg',
                 num_classes: Optional[int] = None, ignore_index: int = 255, check_size: bool = True):
        super().__init__(path_key, key, check_size)
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def decode_map(self, im, path: str) -> np.ndarray:
        if im.mode not in ('L', 'P'):
            raise ValueError(f'{path}: pseudo mask must be a single-channel 8-bit PNG, got PIL mode {im.mode}')
        mask = np.array(im, dtype=np.uint8)
        _check_label_values(mask, self.num_classes, self.ignore_index, path, 'pseudo mask')
        return mask

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(path_key={self.path_key!r}, key={self.key!r}, '
                f'num_classes={self.num_classes})')
