import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class MultiLabelSoftMarginLoss(nn.Module):
    """Multi-label soft-margin loss on image-level logits (psa's classification loss).

    ``loss = mean_{b,c} -[y log sigmoid(z) + (1 - y) log sigmoid(-z)]``, i.e.
    ``F.multilabel_soft_margin_loss`` with its default mean reduction.

    Args:
        loss_weight: multiplier of the loss.
        loss_name: key of the loss in the returned dict (must start with ``loss_`` to be back-propagated).
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_cls'):
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        """``logits`` and multi-hot ``labels`` are both (B, C)."""
        if logits.shape != labels.shape:
            raise ValueError(f'logits {tuple(logits.shape)} and image labels {tuple(labels.shape)} differ in '
                             'shape: does the data set have the number of classes the head expects?')
        return self.loss_weight * F.multilabel_soft_margin_loss(logits, labels.to(logits.dtype))

    @property
    def loss_name(self) -> str:
        return self._loss_name
