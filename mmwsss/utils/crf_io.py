"""The on-disk format of CRF marginals (la/ha CRF of CAMs, affinitynet.md §4.3).

One file per image and alpha, written by ``tools/gen_pseudo.py --mode lacrf``::

    <crf_dir>/<id>.npy     0-d structured array (np.save, no pickle):
        label_ids  int16 (n,)            0 (background) first, then the present classes' label values, ascending
        probs      float16|float32 (n, H, W)   CRF marginals Q at image resolution (psa's dict values, in order)
        alpha      float32 ()            the background power ``(1 - max cam) ** alpha`` of the CRF input

psa stores the marginals (not arg-max maps) because the affinity labels average them over 8x8 blocks before
the arg-max; a block's average arg-max is not a function of the per-pixel arg-max map, so PNGs would not be
equivalent. float16 halves the files (VOC train_aug: 2 x 10,582 files); ``tests/test_affinitynet`` measures
that it changes no pair label on the toy data (near-ties of two block averages closer than float16's
resolution can flip).
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from .io import atomic_save_npy

__all__ = ['CRFMarginalsError', 'pack_crf_marginals', 'save_crf_marginals', 'load_crf_marginals']


class CRFMarginalsError(ValueError):
    """A CRF marginal file is missing, unreadable or inconsistent with its image."""


def pack_crf_marginals(probs: np.ndarray, label_ids: Sequence[int], alpha: float, dtype=np.float16) -> np.ndarray:
    """The structured record of a CRF marginal file (see the module docstring)."""
    probs = np.asarray(probs)
    ids = np.asarray(label_ids, dtype=np.int64).reshape(-1)
    if probs.ndim != 3 or probs.shape[0] != ids.shape[0]:
        raise ValueError(f'marginals of shape {probs.shape} for {ids.shape[0]} label ids (expected (n, H, W))')
    if ids.size == 0 or ids[0] != 0 or np.any(np.diff(ids) <= 0):
        raise ValueError(f'label ids must be 0 (background) followed by ascending class values, got {ids.tolist()}')
    n, h, w = probs.shape
    rec = np.zeros((), dtype=[('label_ids', np.int16, (n, )), ('probs', dtype, (n, h, w)), ('alpha', np.float32)])
    rec['label_ids'] = ids
    rec['probs'] = probs
    rec['alpha'] = alpha
    return rec


def save_crf_marginals(path: str, probs: np.ndarray, label_ids: Sequence[int], alpha: float, dtype=np.float16) -> None:
    """Write a CRF marginal file atomically."""
    atomic_save_npy(path, pack_crf_marginals(probs, label_ids, alpha, dtype))


def load_crf_marginals(path: str,
                       image_size: Optional[Tuple[int, int]] = None,
                       num_classes: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray, float]:
    """``(probs float32 (n, H, W), label_ids int64 (n,), alpha)`` of a CRF marginal file, validated.

    Raises:
        CRFMarginalsError: naming ``path`` and the problem (missing, not such a file, size differs from
            ``image_size``, label ids outside ``0..num_classes-1``, non-finite values).
    """
    try:
        rec = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise CRFMarginalsError(f'{path}: CRF marginal file not found') from None
    except Exception as e:  # truncated, pickled (psa's dicts), not an npy file
        raise CRFMarginalsError(f'{path}: not a readable mmwsss CRF marginal file ({type(e).__name__}: {e}); '
                                'psa-style pickled dicts must be regenerated with tools/gen_pseudo.py '
                                '--mode lacrf') from None
    names = rec.dtype.names or ()
    if rec.shape != () or not {'label_ids', 'probs', 'alpha'} <= set(names):
        raise CRFMarginalsError(f'{path}: not an mmwsss CRF marginal file (expected a record with fields '
                                f"'label_ids', 'probs', 'alpha'; got dtype {rec.dtype} shape {rec.shape})")
    probs = np.asarray(rec['probs'], dtype=np.float32)
    ids = np.asarray(rec['label_ids'], dtype=np.int64)
    if probs.ndim != 3 or probs.shape[0] != ids.shape[0] or ids.size == 0 or ids[0] != 0:
        raise CRFMarginalsError(f'{path}: marginals of shape {probs.shape} with label ids {ids.tolist()} '
                                '(expected (n, H, W) and ids starting with background 0)')
    if num_classes is not None and ids.max() >= num_classes:
        raise CRFMarginalsError(f'{path}: label ids {ids.tolist()} outside 0..{num_classes - 1}')
    if image_size is not None and tuple(probs.shape[1:]) != tuple(image_size):
        raise CRFMarginalsError(f'{path}: CRF marginals are {probs.shape[1]}x{probs.shape[2]} (HxW) but the '
                                f'image is {image_size[0]}x{image_size[1]}')
    if not np.all(np.isfinite(probs)):
        raise CRFMarginalsError(f'{path}: CRF marginals contain NaN or infinite values')
    return probs, ids, float(rec['alpha'])
