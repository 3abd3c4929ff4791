"""The on-disk CAM format of mmwsss.

One file per image, ``<name>.npy``, written with ``np.save`` (no pickle). It holds a 0-d *structured*
array with two fields::

    class_ids  int16  (K,)        label-map values of the K classes present in the image, ascending
                                  (VOC: 1 = aeroplane ... 20 = tvmonitor; 0 = background is never stored)
    cams       float16|float32 (K, H, W)   max-normalised activation maps in [0, 1] at image resolution

Read it back with :func:`load_cams` (or ``r = np.load(path)[()]; r['cams'], r['class_ids']``).
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from .io import atomic_save_npy


class CAMFileError(ValueError):
    """A CAM file is missing, unreadable, or does not follow the mmwsss CAM format."""


def pack_cams(cams: np.ndarray, class_ids: Sequence[int], dtype=np.float16) -> np.ndarray:
    """Pack ``cams`` (K, H, W) and their ``class_ids`` (K,) into the structured record that is saved."""
    cams = np.asarray(cams)
    class_ids = np.asarray(class_ids, dtype=np.int64).reshape(-1)
    if cams.ndim != 3:
        raise ValueError(f'cams must be (K, H, W), got shape {cams.shape}')
    if cams.shape[0] != class_ids.shape[0]:
        raise ValueError(f'{cams.shape[0]} CAMs but {class_ids.shape[0]} class ids')
    if class_ids.size and (class_ids.min() < 1 or np.any(np.diff(class_ids) <= 0)):
        raise ValueError(f'class ids must be ascending label values >= 1, got {class_ids.tolist()}')
    k, h, w = cams.shape
    rec = np.zeros((), dtype=[('class_ids', np.int16, (k,)), ('cams', dtype, (k, h, w))])
    rec['class_ids'] = class_ids
    rec['cams'] = cams
    return rec


def save_cams(path: str, cams: np.ndarray, class_ids: Sequence[int], dtype=np.float16) -> None:
    """Save CAMs atomically in the mmwsss CAM format (see module docstring)."""
    atomic_save_npy(path, pack_cams(cams, class_ids, dtype))


def load_cams(path: str,
              num_classes: Optional[int] = None,
              image_size: Optional[Tuple[int, int]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Load ``(cams float32 (K, H, W), class_ids int64 (K,))`` and validate them.

    Args:
        path: the ``.npy`` file.
        num_classes: number of classes including background; class ids must be < it.
        image_size: expected ``(H, W)``.

    Raises:
        CAMFileError: naming ``path`` and what is wrong.
    """
    try:
        rec = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise CAMFileError(f'{path}: CAM file not found') from None
    except Exception as e:  # truncated, pickled, not an npy file
        raise CAMFileError(f'{path}: not a readable mmwsss CAM file ({e})') from None
    names = rec.dtype.names or ()
    if rec.shape != () or 'cams' not in names or 'class_ids' not in names:
        raise CAMFileError(f'{path}: not an mmwsss CAM file (expected a record with fields '
                           f"'class_ids' and 'cams', got dtype {rec.dtype} shape {rec.shape})")
    cams = np.asarray(rec['cams'], dtype=np.float32)
    class_ids = np.asarray(rec['class_ids'], dtype=np.int64)
    if cams.ndim != 3 or cams.shape[0] != class_ids.shape[0]:
        raise CAMFileError(f'{path}: cams of shape {cams.shape} do not match {class_ids.shape[0]} class ids')
    if num_classes is not None and class_ids.size and (class_ids.min() < 1 or class_ids.max() >= num_classes):
        raise CAMFileError(f'{path}: class ids {class_ids.tolist()} outside 1..{num_classes - 1}')
    if image_size is not None and tuple(cams.shape[1:]) != tuple(image_size):
        raise CAMFileError(f'{path}: CAMs are {cams.shape[1]}x{cams.shape[2]} but the image is '
                           f'{image_size[0]}x{image_size[1]}')
    if not np.all(np.isfinite(cams)):
        raise CAMFileError(f'{path}: CAMs contain NaN or infinite values')
    return cams, class_ids
