"""RTC's ``loss_struct`` (``ChunyanWang1/RTC:contrast_train.py``; rtc.md §3.2 step 5)."""
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from mmwsss.models.utils.cam_ops import max_onehot
from .seam_losses import topk_count, topk_mean

__all__ = ['wta_struct_loss', 'WTAStructLoss']


def wta_struct_loss(refined: Tensor, cam: Tensor, ratio: float = 0.8) -> Tensor:
    """``topk_mean(|max_onehot(refined) - max_onehot(cam)|[:, 1:], k = int((C-1) h w ratio))``.

    ``refined`` (the feedback CAM, detached by the caller's construction) and ``cam`` are (N, C, h, w),
    max-normed and label-masked; ``cam``'s background channel is irrelevant (only foreground is compared).
    Gradient reaches ``cam`` through its per-pixel foreground maxima only.
    """
    n, c, h, w = cam.shape
    diff = (max_onehot(refined.detach()) - max_onehot(cam)).abs()[:, 1:]
    return topk_mean(diff, topk_count(c - 1, h, w, ratio))


@MODELS.register_module()
class WTAStructLoss(nn.Module):
    """Registered wrapper of :func:`wta_struct_loss` (RTC: ratio 0.8, weight 1)."""

    def __init__(self, ratio: float = 0.8, loss_weight: float = 1.0, loss_name: str = 'loss_struct') -> None:
        super().__init__()
        self.ratio = ratio
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, refined: Tensor, cam: Tensor) -> Tensor:
        return self.loss_weight * wta_struct_loss(refined, cam, self.ratio)

    @property
    def loss_name(self) -> str:
        return self._loss_name
