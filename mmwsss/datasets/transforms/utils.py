"""Helpers shared by the WSSS transforms: PIL round trips and map reading/resizing with clear errors."""
import os.path as osp
from typing import Tuple

import numpy as np
from PIL import Image

_PIL_RESAMPLE = {
    'nearest': Image.NEAREST,
    'bilinear': Image.BILINEAR,
    'bicubic': Image.BICUBIC,
}


def bgr_to_pil(img: np.ndarray) -> Image.Image:
    """A uint8 HxWx3 BGR array (mmcv's channel order) as a PIL RGB image."""
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise TypeError(f'expected a uint8 HxWx3 image, got dtype {img.dtype} and shape {img.shape}; '
                        'PIL-based transforms must run before the image is converted to float/padded')
    return Image.fromarray(np.ascontiguousarray(img[..., ::-1]), mode='RGB')


def pil_to_bgr(img: Image.Image) -> np.ndarray:
    """A PIL RGB image as a uint8 HxWx3 BGR array."""
    return np.ascontiguousarray(np.asarray(img.convert('RGB'))[..., ::-1])


def pil_resize_map(arr: np.ndarray, size_wh: Tuple[int, int], interpolation: str = 'nearest') -> np.ndarray:
    """Resize a 2-D map with PIL (same geometry as the PIL image resize).

    uint8 maps go through mode 'L', other integer maps through 'I' (int32), float maps through 'F'.
    """
    if arr.ndim != 2:
        raise ValueError(f'expected a 2-D map, got shape {arr.shape}')
    resample = _PIL_RESAMPLE[interpolation]
    if arr.dtype == np.uint8:
        out = np.asarray(Image.fromarray(arr, mode='L').resize(size_wh, resample=resample))
    elif np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < np.iinfo(np.int32).min or arr.max() > np.iinfo(np.int32).max):
            raise ValueError('integer map values do not fit in int32')
        out = np.asarray(Image.fromarray(arr.astype(np.int32), mode='I').resize(size_wh, resample=resample))
        out = out.astype(arr.dtype)
    elif np.issubdtype(arr.dtype, np.floating):
        out = np.asarray(Image.fromarray(arr.astype(np.float32), mode='F').resize(size_wh, resample=resample))
        out = out.astype(arr.dtype)
    else:
        raise TypeError(f'cannot resize a map of dtype {arr.dtype}')
    return np.ascontiguousarray(out)


def read_image_file(path: str, what: str) -> Image.Image:
    """Open and fully decode an image file with PIL; errors name ``path`` and ``what`` it is."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: {what} file not found')
    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except Exception as e:  # PIL raises many types (UnidentifiedImageError, OSError, SyntaxError, ...)
        raise ValueError(f'{path}: cannot decode the {what} ({type(e).__name__}: {e})') from e


def check_same_size(results: dict, arr: np.ndarray, path: str, what: str) -> None:
    """Raise if ``arr`` (H, W[, C]) does not have the size of the loaded image (``ori_shape``)."""
    ref = results.get('ori_shape', results.get('img_shape'))
    if ref is None:
        return
    if tuple(arr.shape[:2]) != tuple(ref[:2]):
        raise ValueError(f'{path}: {what} has size {arr.shape[0]}x{arr.shape[1]} (HxW) but its image '
                         f"{results.get('img_path', '?')} is {ref[0]}x{ref[1]}")


def add_seg_field(results: dict, key: str) -> None:
    """Register ``key`` in ``results['seg_fields']`` so that geometric transforms process it."""
    fields = results.setdefault('seg_fields', [])
    if key not in fields:
        fields.append(key)
