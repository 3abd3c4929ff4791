"""The one place where CAMs are normalised, given a background channel and turned into label maps.

Every function takes either a numpy array or a torch tensor and returns the same kind. CAMs are laid out
as ``(K, H, W)`` (numpy or torch) or ``(B, K, H, W)`` (torch, for models); ``K`` runs over the classes that
are present in the image, whose label-map values are ``class_ids`` (ascending, 1..C-1; 0 = background).

Background rules (the channel is put *in front of* the class channels, so index 0 = background):

* :func:`threshold_background` -- a constant score ``thr`` (psa ``out_cam_pred`` 0.2, SC-CAM 0.15,
  SEAM/SBNet 0.26, RTC 0.17; the ``--curve`` sweeps of SEAM/RTC/ICAM).
* :func:`psa_background` -- ``(1 - max_c cam_c) ** alpha`` (psa ``_crf_with_alpha`` and random walk;
  affinitynet.md §5.2-5.3).
* :func:`sum_background` -- ``1 - sum_c cam_c`` (ICAM ``eval_cam.py`` on its one-class-per-pixel CAMs;
  icam.md §5.1).

:func:`scores_to_label_map` takes the arg-max over ``[bg, cams]``; ties go to the lowest index, so
the background wins a tie with a class, as in SEAM's ``evaluation.py`` (sbnet.md B.6). Absent classes
need no channel: their all-zero maps can never beat a background score >= 0 placed first.
"""
from typing import Sequence, Union

import numpy as np
import torch

Array = Union[np.ndarray, torch.Tensor]

__all__ = [
    'max_normalize', 'psa_background', 'threshold_background', 'sum_background', 'add_background',
    'scores_to_label_map', 'cams_to_label_map'
]


def _is_torch(x) -> bool:
    return isinstance(x, torch.Tensor)


def _check_cams(cams: Array, name: str = 'cams') -> None:
    ndim = cams.ndim
    if _is_torch(cams):
        if ndim not in (3, 4):
            raise ValueError(f'{name} must be (K, H, W) or (B, K, H, W), got shape {tuple(cams.shape)}')
    elif ndim != 3:
        raise ValueError(f'{name} must be a (K, H, W) array, got shape {tuple(cams.shape)}')


def max_normalize(cams: Array, eps: float = 1e-5) -> Array:
    """psa's CAM normalisation ``S[c] / (max_{x,y} S[c] + eps)`` per channel (affinitynet.md §5.1).

    Apply it to the channels of the present classes (absent ones are zero and stay zero). No ReLU or
    clipping is applied here: psa's ``S`` is a sum of ReLU'd maps and therefore already >= 0.

    Args:
        cams: ``(K, H, W)`` or, for torch, ``(B, K, H, W)``.
        eps: added to the spatial maximum (1e-5 in psa, SC-CAM, ICAM).
    """
    _check_cams(cams)
    if _is_torch(cams):
        peak = cams.flatten(-2).max(dim=-1).values[..., None, None]
        return cams / (peak + eps)
    peak = cams.max(axis=(-2, -1), keepdims=True)
    return (cams / (peak + eps)).astype(cams.dtype, copy=False)


def _class_max(cams: Array) -> Array:
    """``max_c cams[c]`` with the channel dim kept; 0 when there is no class channel."""
    cdim = -3
    if cams.shape[cdim] == 0:
        shape = tuple(cams.shape[:-3]) + (1, ) + tuple(cams.shape[-2:])
        return torch.zeros(shape, dtype=cams.dtype, device=cams.device) if _is_torch(cams) \
            else np.zeros(shape, dtype=cams.dtype)
    if _is_torch(cams):
        return cams.max(dim=cdim, keepdim=True).values
    return cams.max(axis=cdim, keepdims=True)


def psa_background(cams: Array, alpha: float) -> Array:
    """psa's background score ``(1 - max_c cam_c) ** alpha``, shape ``(1, H, W)`` (``(B, 1, H, W)``).

    Used by psa/SC-CAM/SEAM/SBNet/ICAM for the la/ha CRF (alpha 4/32, 4/24, 2/4) and by the random walk
    (alpha 16 psa, 6 SEAM/ICAM). With no class channel the background is 1 everywhere. CAMs are expected
    in [0, 1]; values above 1 with a non-integer alpha give NaN, as in the original.
    """
    _check_cams(cams)
    return (1 - _class_max(cams))**alpha


def threshold_background(cams: Array, thr: float) -> Array:
    """A constant background score ``thr``, shape ``(1, H, W)`` (``(B, 1, H, W)``), dtype of ``cams``."""
    _check_cams(cams)
    shape = tuple(cams.shape[:-3]) + (1, ) + tuple(cams.shape[-2:])
    if _is_torch(cams):
        return torch.full(shape, float(thr), dtype=cams.dtype, device=cams.device)
    return np.full(shape, thr, dtype=cams.dtype)


def sum_background(cams: Array) -> Array:
    """ICAM's background ``1 - sum_c cam_c``, shape ``(1, H, W)`` (``(B, 1, H, W)``) (icam.md §5.1)."""
    _check_cams(cams)
    if _is_torch(cams):
        return 1 - cams.sum(dim=-3, keepdim=True)
    return (1 - cams.sum(axis=-3, keepdims=True)).astype(cams.dtype, copy=False)


def add_background(cams: Array, bg: Array) -> Array:
    """Concatenate ``bg`` (1 channel) in front of ``cams`` -> ``(K + 1, H, W)``; NOT renormalised."""
    _check_cams(cams)
    if tuple(bg.shape[-2:]) != tuple(cams.shape[-2:]) or bg.shape[-3] != 1:
        raise ValueError(f'background of shape {tuple(bg.shape)} does not fit cams of shape {tuple(cams.shape)}')
    if _is_torch(cams):
        return torch.cat([bg.to(cams.dtype), cams], dim=-3)
    return np.concatenate([bg.astype(cams.dtype, copy=False), cams], axis=-3)


def scores_to_label_map(scores: Array, class_ids: Union[Sequence[int], Array]) -> Array:
    """Arg-max over ``(K + 1, H, W)`` scores (channel 0 = background) mapped to label values.

    Channel 0 becomes label 0, channel ``i + 1`` becomes ``class_ids[i]``. Ties go to the lowest channel.

    Returns:
        numpy: ``uint8`` (H, W) if every id < 256 else ``int64``; torch: ``int64`` (H, W) / (B, H, W).
    """
    _check_cams(scores, 'scores')
    ids = [int(c) for c in (class_ids.tolist() if hasattr(class_ids, 'tolist') else class_ids)]
    if scores.shape[-3] != len(ids) + 1:
        raise ValueError(f'{scores.shape[-3]} score channels but {len(ids)} class ids (+1 background expected)')
    if _is_torch(scores):
        lut = torch.tensor([0] + ids, dtype=torch.long, device=scores.device)
        return lut[scores.argmax(dim=-3)]
    lut = np.asarray([0] + ids, dtype=np.uint8 if max([0] + ids) < 256 else np.int64)
    return lut[np.argmax(scores, axis=-3)]


def cams_to_label_map(cams: Array, class_ids: Union[Sequence[int], Array], bg_threshold: float) -> Array:
    """Label map from CAMs with a constant background threshold (pixel is background iff max cam <= thr)."""
    return scores_to_label_map(add_background(cams, threshold_background(cams, bg_threshold)), class_ids)
