"""The SEAM loss terms (``YudeWang/SEAM:train_SEAM.py``; sbnet.md B.3), shared by SEAM, SBNet, PPC and RTC.

Inputs follow SEAM's layout: (N, C, H, W) with channel 0 = background; ``c``/``r`` are the max-normed
(:func:`mmwsss.models.utils.seam_max_norm`) and label-masked CAM / PCM-refined CAM of a view, resized to
the common (view-2) size. The caller sets the background channel of ``c`` (``1 - max fg``) before ECR,
as SEAM does after ER.
"""
import torch
import torch.nn.functional as F
from torch import Tensor

from mmwsss.models.utils.cam_ops import max_onehot

__all__ = ['topk_mean', 'adaptive_min_pooling_loss', 'er_loss', 'ecr_loss', 'topk_count']


def topk_count(c: int, h: int, w: int, ratio: float) -> int:
    """``int(c * h * w * ratio)`` evaluated left to right like the originals (e.g. ``int(21*128*128*0.2)``)."""
    return int(c * h * w * ratio)


def topk_mean(x: Tensor, k: int) -> Tensor:
    """Mean of the ``k`` largest values of every sample (flattened), averaged over the batch."""
    return torch.topk(x.reshape(x.shape[0], -1), k=k, dim=-1)[0].mean()


def adaptive_min_pooling_loss(x: Tensor) -> Tensor:
    """SEAM's adaptive min-pooling ("rvmin"): per pixel the max over channels of ``x`` (N, C, H, W) -- the
    label-masked foreground PCM CAM -- then the ``k = H W // 4`` smallest values per image, ReLU'd,
    ``sum / (k N)``."""
    n, _, h, w = x.shape
    k = h * w // 4
    m = x.amax(dim=1).reshape(n, -1)
    return F.relu(torch.topk(m, k=k, dim=-1, largest=False)[0]).sum() / (k * n)


def er_loss(c1: Tensor, c2: Tensor) -> Tensor:
    """Equivariant regularisation ``mean |c1[:, 1:] - c2[:, 1:]|`` (absent classes count as zeros)."""
    return (c1[:, 1:] - c2[:, 1:]).abs().mean()


def ecr_loss(c1: Tensor, c2: Tensor, r1: Tensor, r2: Tensor, ratio: float = 0.2) -> Tensor:
    """Equivariant cross regularisation
    ``topk_mean(|max_onehot(c2) - r1|) + topk_mean(|max_onehot(c1) - r2|)`` with the targets detached and
    ``k = int(C H W ratio)`` per sample (SEAM/RTC: 0.2). Gradient flows only into ``r1``/``r2``."""
    n, c, h, w = r1.shape
    k = topk_count(c, h, w, ratio)
    return topk_mean((max_onehot(c2.detach()) - r1).abs(), k) + topk_mean((max_onehot(c1.detach()) - r2).abs(), k)
