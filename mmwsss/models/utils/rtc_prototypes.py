"""RTC's cross-transform regularisation: contrast pseudo-labels, cross-view class prototypes and the
global-context CAM feedback (``ChunyanWang1/RTC:contrast_train.py``; rtc.md §3.2). All without gradient.

Positions are flattened in (n, y, x) order over the whole batch: ``feats`` (N, D, h, w) become
``(N h w, D)`` rows and ``scores`` (N, C, h, w) become ``(C, N h w)``.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .cam_ops import channel_min_max

__all__ = [
    'contrast_pseudo_labels', 'class_topk', 'flatten_positions', 'weighted_prototypes', 'feedback_cams',
    'prototype_class_relation'
]


@torch.no_grad()
def contrast_pseudo_labels(scores: Tensor,
                           label: Tensor,
                           bg_score: float = 0.2,
                           eps: float = 1e-5) -> Tuple[Tensor, Tensor]:
    """RTC ``normal()``: per (n, c) min-max normalised scores with a constant background and the pseudo
    label per pixel.

    ``P <- ReLU(P)``; values below ``min + eps`` become 0; ``P <- (P - min - eps) / (max - min + eps)`` (so
    the zeroed values end slightly negative); channel 0 <- ``bg_score``;
    ``y = argmax_c softmax(P * label)_c``. The returned ``P`` is NOT label-masked.

    Args:
        scores: (N, C, h, w) PCM-refined CAMs.
        label: (N, C, 1, 1) with channel 0 = 1 (background) and the image labels.
    Returns:
        ``(P (N, C, h, w), y (N, h, w) int64)``.
    """
    p = F.relu(scores)
    lo, hi = channel_min_max(p)
    p = torch.where(p < lo + eps, torch.zeros_like(p), p)
    p = (p - lo - eps) / (hi - lo + eps)
    p[:, 0] = bg_score
    y = F.softmax(p * label, dim=1).argmax(dim=1)
    return p, y


def flatten_positions(feats: Tensor) -> Tensor:
    """(N, D, h, w) -> (N h w, D) in (n, y, x) order."""
    return feats.permute(0, 2, 3, 1).reshape(-1, feats.shape[1])


@torch.no_grad()
def class_topk(scores: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """The ``k`` highest scores of every class over the whole batch: ``(values, indices)`` (C, k); indices
    address :func:`flatten_positions` rows. (RTC: k = h w / 8 of ONE image, i.e. 32 on 16x16.)
    Classes with constant scores (the background) are ranked by ``torch.topk``'s tie order."""
    c = scores.shape[1]
    return torch.topk(scores.transpose(0, 1).reshape(c, -1), k=k, dim=-1)


@torch.no_grad()
def weighted_prototypes(values: Tensor, tokens: Tensor) -> Tensor:
    """Score-weighted means ``sum_k v_ck t_ck / sum_k v_ck`` (C, D) of ``tokens`` (C, k, D); NOT
    L2-normalised (the caller normalises)."""
    return (values.unsqueeze(-1) * tokens).sum(dim=1) / values.sum(dim=1, keepdim=True)


@torch.no_grad()
def feedback_cams(scores: Tensor, values: Tensor, tokens: Tensor, queries: Tensor, present: Tensor) -> Tensor:
    """Global-context feedback: ``P~_c = P_c + softmax_k(q̂ t̂_cᵀ) v_c`` for the present classes.

    Args:
        scores: (N, C, h, w) normalised scores ``P`` of the view being refined.
        values: (C, k) its top-k scores.
        tokens: (C, k, D) features at its top-k positions, taken from the OTHER view (cross-view).
        queries: (N h w, D) features of the other view at every position of ``scores``' images.
        present: (C,) bool, classes present in the batch (background always); absent: ``P~ = P``.
    Returns:
        (N, C, h, w). One batched product over all classes (no Python loop).
    """
    n, c, h, w = scores.shape
    q = F.normalize(queries, dim=-1)
    t = F.normalize(tokens, dim=-1)
    att = F.softmax(torch.einsum('pd,ckd->cpk', q, t), dim=-1)
    add = torch.einsum('cpk,ck->cp', att, values).reshape(c, n, h, w).transpose(0, 1)
    return torch.where(present.view(1, c, 1, 1), scores + add, scores)


@torch.no_grad()
def prototype_class_relation(proto1: Tensor, proto2: Tensor, present: Tensor) -> Tensor:
    """RTC ``loss_class_relation`` (logged, NOT part of the loss):
    ``0.5 * mean_{i != j present} -log(1 - <proto1_i, proto2_j>)`` over ordered pairs; 0 without pairs."""
    idx = torch.nonzero(present).flatten()
    if idx.numel() < 2:
        return proto1.new_zeros(())
    sim = proto1[idx] @ proto2[idx].t()
    off = ~torch.eye(idx.numel(), dtype=torch.bool, device=sim.device)
    return 0.5 * (-torch.log(1 - sim[off])).mean()
