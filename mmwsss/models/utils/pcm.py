"""Pixel correlation module (PCM) of SEAM, reused by SBNet, PPC, RTC (with two features) and ICAM."""
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['pcm_affinity', 'pcm_refine']


def pcm_affinity(feat: Tensor, eps: float = 1e-5) -> Tensor:
    """Column-normalised affinity of SEAM's ``Net.PCM``: ``f̂ = f / (||f||_2 + eps)`` per pixel,
    ``S = ReLU(f̂ᵀ f̂)`` (N, hw, hw), ``S_ij <- S_ij / (sum_i S_ij + eps)`` (normalised over the source
    index i for each target j)."""
    n, c, h, w = feat.shape
    f = feat.reshape(n, c, h * w)
    f = f / (torch.norm(f, dim=1, keepdim=True) + eps)
    aff = F.relu(torch.bmm(f.transpose(1, 2), f))
    return aff / (aff.sum(dim=1, keepdim=True) + eps)


def pcm_refine(seed: Tensor, feat: Tensor, eps: float = 1e-5) -> Tensor:
    """Refined CAM ``R[:, j] = sum_i seed[:, i] S_ij`` (SEAM/RTC ``Net.PCM``).

    Args:
        seed: (N, C, h', w') CAM to propagate (bilinearly resized, ``align_corners=True``, to the feature
            size first -- a no-op when the sizes match, as in SEAM/RTC).
        feat: (N, D, h, w) affinity feature.
    Returns:
        (N, C, h, w).
    """
    n, _, h, w = feat.shape
    if seed.shape[-2:] != feat.shape[-2:]:
        seed = F.interpolate(seed, (h, w), mode='bilinear', align_corners=True)
    aff = pcm_affinity(feat, eps)
    return torch.bmm(seed.reshape(n, seed.shape[1], h * w), aff).reshape(n, -1, h, w)
