"""Class-balanced cross entropy with batch gating (``balanced_mask_loss_ce`` of visinf/1-stage-wseg as used by
``ChunyanWang1/RTC:contrast_train.py``; rtc.md §3.4 step 4)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

__all__ = ['balanced_mask_ce', 'BalancedMaskCELoss']


def balanced_mask_ce(logits: Tensor,
                     target: Tensor,
                     img_labels: Tensor,
                     ignore_index: int = 255,
                     align_corners: bool = True) -> Tensor:
    """Per-image loss (N,) -- the caller averages over the batch.

    ``logits`` (N, C, h, w) are bilinearly resized to the target size; per image with ``T`` labelled pixels
    and ``n_c`` pixels of class c, a pixel of class c weighs ``(T - n_c) / (1 + T)`` (ignored pixels 0);
    the per-image loss is the mean over ALL pixels (ignored ones as 0) of weight x CE, times a gate that is
    1 iff the number of classes in the mask equals ``#image labels + 1`` (background), else 0.

    Args:
        logits: (N, C, h, w) segmentation logits.
        target: (N, H, W) int64 pseudo labels in 0..C-1 or ``ignore_index``.
        img_labels: (N, C-1) multi-hot foreground image labels.
    """
    n, c = logits.shape[:2]
    if target.shape[0] != n or target.dim() != 3:
        raise ValueError(f'target must be (N, H, W) with N={n}, got {tuple(target.shape)}')
    logits = F.interpolate(logits, size=target.shape[-2:], mode='bilinear', align_corners=align_corners)
    valid = target != ignore_index
    if bool(((target < 0) | (target >= c))[valid].any()):
        raise ValueError(f'target holds labels outside 0..{c - 1} (and not {ignore_index})')
    safe = torch.where(valid, target, torch.zeros_like(target))
    flat = safe.reshape(n, -1)
    counts = torch.zeros((n, c), dtype=logits.dtype, device=logits.device)
    counts.scatter_add_(1, flat, valid.reshape(n, -1).to(logits.dtype))
    total = counts.sum(dim=1, keepdim=True)
    class_weight = (total - counts) / (1 + total)
    pixel_weight = torch.gather(class_weight, 1, flat) * valid.reshape(n, -1)
    ce = F.cross_entropy(logits, target, ignore_index=ignore_index, reduction='none').reshape(n, -1)
    per_image = (pixel_weight * ce).mean(dim=-1)
    gate = (img_labels.sum(dim=-1).to(logits.dtype) + 1) == (counts > 0).sum(dim=-1).to(logits.dtype)
    return gate.to(logits.dtype) * per_image


@MODELS.register_module()
class BalancedMaskCELoss(nn.Module):
    """Registered wrapper: ``loss_weight * mean_batch balanced_mask_ce(...)`` (rejected images still count
    in the batch mean, as in RTC)."""

    def __init__(self,
                 ignore_index: int = 255,
                 align_corners: bool = True,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_seg') -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.align_corners = align_corners
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, logits: Tensor, target: Tensor, img_labels: Tensor) -> Tensor:
        return self.loss_weight * balanced_mask_ce(logits, target, img_labels, self.ignore_index,
                                                   self.align_corners).mean()

    @property
    def loss_name(self) -> str:
        return self._loss_name
