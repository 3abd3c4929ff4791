"""VARM: RTC's pixel-adaptive mask refiner (``ChunyanWang1/RTC:network/VARM.py``; rtc.md §2.3)."""
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

__all__ = ['VARM', 'dilated_neighbors', 'NEIGHBOR_OFFSETS']

#: the 8 neighbour directions (dy, dx) in the original's order; scaled by each dilation
NEIGHBOR_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def dilated_neighbors(x: Tensor, dilations: Sequence[int]) -> Tensor:
    """The 8 neighbours at distance ``d`` for every ``d`` in ``dilations`` with replicate padding.

    Returns (B, C, 8 * len(dilations), H, W); neighbour ``k`` of dilation index ``i`` is at ``8 i + k`` and
    holds ``x[y + dy d, x + dx d]`` (coordinates clamped to the image = replicate padding). One padding by
    the largest dilation serves every dilation (clamping is the same at any padding width).
    """
    h, w = x.shape[-2:]
    pad = max(dilations)
    xp = F.pad(x, [pad] * 4, mode='replicate')
    out = []
    for d in dilations:
        for dy, dx in NEIGHBOR_OFFSETS:
            y0, x0 = pad + dy * d, pad + dx * d
            out.append(xp[..., y0:y0 + h, x0:x0 + w])
    return torch.stack(out, dim=2)


@MODELS.register_module()
class VARM(nn.Module):
    """Propagate masks with image-adaptive local weights (a variant of ToCo/AFA's PAR).

    For an image ``I`` (B, 3, H, W) in [0, 1] and its neighbours ``N(I)`` (48 with the default dilations):

    * ``a_n = mean_c( -(color_scale * |N(I)_n - I| / (std_n(N(I)) + 1e-8))^2 )`` (unbiased std over the
      neighbours, per colour channel; ``color_scale`` 4 -- PAR divides by 0.3 instead);
    * ``g_n = mean_c( (N(I)_n - shift_y N(I)_n)^2 + (N(I)_n - shift_x N(I)_n)^2 )`` -- squared forward
      differences of each neighbour image (the last row / column repeated, i.e. 0 there);
    * ``w_n = softmax_n(a) - edge_weight * softmax_n(g)`` (sum 1 - edge_weight = 0.99 per pixel);
    * ``num_iter`` times ``M <- sum_n N(M)_n w_n``: the mask mass shrinks by 0.99 per iteration.

    No gradient flows through VARM (it makes pseudo-labels).

    Args:
        num_iter: propagation steps (RTC: 10).
        dilations: neighbourhood distances (RTC: 1, 2, 4, 8, 12, 24).
        color_scale: multiplier of the normalised colour difference (4).
        edge_weight: weight of the subtracted gradient-magnitude term (0.01).
    """

    def __init__(self,
                 num_iter: int = 10,
                 dilations: Sequence[int] = (1, 2, 4, 8, 12, 24),
                 color_scale: float = 4.0,
                 edge_weight: float = 0.01) -> None:
        super().__init__()
        if not dilations or min(dilations) < 1:
            raise ValueError(f'VARM: dilations must be positive integers, got {dilations}')
        self.num_iter = int(num_iter)
        self.dilations = tuple(int(d) for d in dilations)
        self.color_scale = color_scale
        self.edge_weight = edge_weight

    @staticmethod
    def _forward_diff_sq(x: Tensor) -> Tensor:
        """``(x - x[y+1])^2 + (x - x[:, x+1])^2`` with the last row/column repeated (difference 0 there)."""
        g = torch.zeros_like(x)
        g[..., :-1, :] = (x[..., :-1, :] - x[..., 1:, :]).pow_(2)
        g[..., :, :-1] += (x[..., :, :-1] - x[..., :, 1:]).pow_(2)
        return g

    @torch.no_grad()
    def affinity(self, img: Tensor) -> Tensor:
        """Propagation weights (B, 1, K, H, W) of an image (B, 3, H, W) in [0, 1]."""
        nb = dilated_neighbors(img, self.dilations)  # (B, 3, K, H, W)
        std = nb.std(dim=2, keepdim=True).add_(1e-8)
        a = (nb - img.unsqueeze(2)).abs_().div_(std).mul_(self.color_scale).pow_(2).mean(dim=1, keepdim=True).neg_()
        g = self._forward_diff_sq(nb).mean(dim=1, keepdim=True)
        return F.softmax(a, dim=2).sub_(F.softmax(g, dim=2), alpha=self.edge_weight)

    @torch.no_grad()
    def propagate(self, masks: Tensor, weights: Tensor) -> Tensor:
        """``num_iter`` steps ``M <- sum_n N(M)_n w_n`` of masks (B, C, H, W) with ``weights`` from
        :meth:`affinity`; the neighbours are accumulated one at a time (no (B, C, K, H, W) tensor)."""
        h, w = masks.shape[-2:]
        pad = max(self.dilations)
        wts = weights[:, 0]  # (B, K, H, W)
        offsets = [(pad + dy * d, pad + dx * d) for d in self.dilations for dy, dx in NEIGHBOR_OFFSETS]
        for _ in range(self.num_iter):
            mp = F.pad(masks, [pad] * 4, mode='replicate')
            out = torch.zeros_like(masks)
            for n, (y0, x0) in enumerate(offsets):
                out.addcmul_(mp[..., y0:y0 + h, x0:x0 + w], wts[:, n:n + 1])
            masks = out
        return masks

    @torch.no_grad()
    def forward(self, img: Tensor, masks: Tensor) -> Tensor:
        """Refine ``masks`` (B, C, h, w), first resized to the image size (bilinear, align_corners=True)."""
        if masks.shape[-2:] != img.shape[-2:]:
            masks = F.interpolate(masks, size=img.shape[-2:], mode='bilinear', align_corners=True)
        return self.propagate(masks, self.affinity(img))
