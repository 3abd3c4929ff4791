from typing import Dict, Sequence

import torch
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from mmwsss.refinement.random_walk import AFF_BG_POS, AFF_FG_POS, AFF_NEG


@MODELS.register_module()
class AffinityLoss(nn.Module):
    """psa's AffinityNet loss (``train_aff.py``; affinitynet.md §4.4, sbnet.md B.7, icam.md §3.4).

    With the pair labels ``bg_pos``, ``fg_pos``, ``neg`` and counts summed over the **whole batch**::

        bg  = sum(-bg_pos * log(aff + eps)) / (sum(bg_pos) + eps)
        fg  = sum(-fg_pos * log(aff + eps)) / (sum(fg_pos) + eps)
        neg = sum(-neg * log(1 + eps - aff)) / (sum(neg) + eps)
        loss = bg / 4 + fg / 4 + neg / 2

    Args:
        term_weights: weights of (bg, fg, neg) (psa: 0.25, 0.25, 0.5).
        eps: psa's 1e-5 (inside the logs and in the denominators).
        loss_weight: multiplies all three terms.
        loss_name: prefix of the returned keys (``<name>_bg``, ``<name>_fg``, ``<name>_neg``; their sum is
            psa's loss).
    """

    def __init__(self,
                 term_weights: Sequence[float] = (0.25, 0.25, 0.5),
                 eps: float = 1e-5,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_aff') -> None:
        super().__init__()
        if len(term_weights) != 3:
            raise ValueError(f'term_weights needs (bg, fg, neg), got {term_weights}')
        self.term_weights = tuple(float(w) for w in term_weights)
        self.eps = eps
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, aff: Tensor, codes: Tensor) -> Dict[str, Tensor]:
        """``aff`` (B, K, P) affinities in (0, 1]; ``codes`` (B, K, P) packed pair labels
        (``mmwsss.refinement.random_walk.AFF_*``). Returns the three weighted terms."""
        if aff.shape != codes.shape:
            raise ValueError(f'affinities of shape {tuple(aff.shape)} but pair labels of shape '
                             f'{tuple(codes.shape)}: the label transform and the model disagree on the crop '
                             'size, the stride or the radius')
        eps = self.eps
        pos_loss = -torch.log(aff + eps)
        neg_loss = -torch.log(1 + eps - aff)
        out = {}
        for (name, code, per_pair), w in zip(
            (('bg', AFF_BG_POS, pos_loss), ('fg', AFF_FG_POS, pos_loss), ('neg', AFF_NEG, neg_loss)),
                self.term_weights):
            mask = (codes == code).to(aff.dtype)
            term = (mask * per_pair).sum() / (mask.sum() + eps)
            out[f'{self._loss_name}_{name}'] = term * (w * self.loss_weight)
        return out
