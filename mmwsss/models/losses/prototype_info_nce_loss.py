"""Pixel-to-prototype InfoNCE of RTC (``ChunyanWang1/RTC:contrast_train.py``; rtc.md §3.3)."""
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

__all__ = ['prototype_info_nce', 'PrototypeInfoNCELoss']


def prototype_info_nce(feats: Tensor, prototypes: Tensor, labels: Tensor, temperature: float = 0.1) -> Tensor:
    """``mean_j -log( exp(f_j . p_{y_j} / t) / sum_c exp(f_j . p_c / t) )`` over all prototypes.

    Args:
        feats: (P, D) L2-normalised pixel features (with gradient).
        prototypes: (C, D) L2-normalised prototypes (detached); every class is in the denominator.
        labels: (P,) pseudo labels in 0..C-1.
    The original writes ``exp``/``log`` out; this is the same value as a cross entropy of the logits
    ``f Pᵀ / t`` (computed stably with log-sum-exp).
    """
    return F.cross_entropy(feats @ prototypes.t() / temperature, labels)


@MODELS.register_module()
class PrototypeInfoNCELoss(nn.Module):
    """``loss_weight * prototype_info_nce`` (RTC: temperature 0.1, loss_weight 0.1 -- the original's internal
    ``0.1 *`` factor of each contrast term)."""

    def __init__(self, temperature: float = 0.1, loss_weight: float = 0.1) -> None:
        super().__init__()
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, feats: Tensor, prototypes: Tensor, labels: Tensor) -> Tensor:
        return self.loss_weight * prototype_info_nce(feats, prototypes, labels, self.temperature)
