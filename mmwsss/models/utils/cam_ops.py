"""Element-wise CAM operations of the SEAM family (SEAM, SBNet, PPC, RTC, ICAM training code).

These are the *training-time* normalisations of ``tool/visualization.py`` and the train scripts; they are
not psa's inference normaliser :func:`mmwsss.refinement.cam_utils.max_normalize` (``S / (max S + eps)``):

* :func:`seam_max_norm` -- SEAM's ``max_norm``: a per-channel **min-max** normalisation after a ReLU
  (``ReLU(ReLU(p) - min - eps) / (max - min + eps)``). It equals ``max_normalize`` only when the channel
  minimum is 0, which is not the case for raw CAM logits, so it cannot be expressed by ``max_normalize``.
* :func:`pcm_seed` -- the CAM that seeds PCM (SEAM ``Net.forward`` / RTC ``Net.FCM``).
* :func:`max_onehot` -- winner-take-all over the foreground channels (values kept, not set to 1).
* :func:`fg_background` -- ``1 - max`` over the foreground channels.

Layout: ``(N, C, H, W)`` with channel 0 = background (SEAM/RTC heads have ``C = 21`` outputs).
"""
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['seam_max_norm', 'pcm_seed', 'max_onehot', 'fg_background', 'channel_min_max', 'bilinear_upsampled_mean']


def channel_min_max(x: Tensor):
    """Per (n, c) minimum and maximum over the spatial dims, shaped (N, C, 1, 1)."""
    flat = x.flatten(2)
    return flat.amin(dim=-1)[..., None, None], flat.amax(dim=-1)[..., None, None]


def seam_max_norm(p: Tensor, eps: float = 1e-5) -> Tensor:
    """SEAM/RTC ``max_norm`` (torch branch): ``ReLU(ReLU(p) - min - eps) / (max - min + eps)`` per (n, c),
    with min/max over H x W of ``ReLU(p)``. Differentiable (gradients flow through min and max as in the
    original). ``p``: (N, C, H, W)."""
    if p.dim() != 4:
        raise ValueError(f'seam_max_norm expects (N, C, H, W), got shape {tuple(p.shape)}')
    p = F.relu(p)
    lo, hi = channel_min_max(p)
    return F.relu(p - lo - eps) / (hi - lo + eps)


def fg_background(x: Tensor) -> Tensor:
    """``1 - max_{c >= 1} x_c``, shape (N, 1, H, W)."""
    return 1 - x[:, 1:].amax(dim=1, keepdim=True)


def max_onehot(x: Tensor) -> Tensor:
    """Winner-take-all over channels 1..C-1: every foreground value that is not the per-pixel foreground
    maximum becomes 0; channel 0 and the maximal values (all of them on ties) are kept.

    Functional (returns a new tensor). The original (``contrast_train.py (max_onehot)``) works in place, so
    ``max_onehot(c.detach())`` also rewrote ``c``; in RTC's loop that changes no loss value and no
    gradient (the later ``max_onehot(c)`` re-selects the same entries), so callers apply this function
    where the original's values are read. Gradient flows only into the kept entries.
    """
    fg = x[:, 1:]
    keep = fg == fg.amax(dim=1, keepdim=True)
    return torch.cat([x[:, :1], fg * keep], dim=1)


@torch.no_grad()
def pcm_seed(cam: Tensor, eps: float = 1e-5) -> Tensor:
    """The CAM that PCM propagates (SEAM ``Net.forward``, RTC ``Net.FCM``), computed without gradient.

    1. ``A = ReLU(cam)``; per (n, c): ``A <- ReLU(A - eps) / (max A + eps)``;
    2. ``A_0 <- 1 - max_{c >= 1} A_c`` (the background channel is overwritten);
    3. foreground winner-take-all: ``A_c <- 0`` where ``A_c < max_{c' >= 1} A_c'`` (all foreground
       channels compete: no label masking; ties keep every maximal channel).
    """
    a = F.relu(cam.detach())
    peak = a.flatten(2).amax(dim=-1)[..., None, None] + eps
    a = F.relu(a - eps) / peak
    fg = a[:, 1:]
    fg_max = fg.amax(dim=1, keepdim=True)
    fg = torch.where(fg < fg_max, torch.zeros_like(fg), fg)
    return torch.cat([1 - fg_max, fg], dim=1)


def _linear_mean_weights(n_in: int, n_out: int, align_corners: bool, like: Tensor) -> Tensor:
    """Average weight (n_in,) of each input sample over the ``n_out`` samples of a 1-D linear resize."""
    eye = torch.eye(n_in, dtype=like.dtype, device=like.device)[None]  # channel i = indicator of input i
    return F.interpolate(eye, size=n_out, mode='linear', align_corners=align_corners)[0].mean(dim=1)


def bilinear_upsampled_mean(x: Tensor, size, align_corners: bool = True) -> Tensor:
    """``F.interpolate(x, size, mode='bilinear', align_corners=...).mean((2, 3))`` without building the
    resized tensor: bilinear resizing is separable and linear, so the mean is ``ry^T x rx`` with ``ry``/``rx``
    the average 1-D interpolation weights. ``x``: (N, C, h, w) -> (N, C)."""
    h, w = x.shape[-2:]
    ry = _linear_mean_weights(h, int(size[0]), align_corners, x)
    rx = _linear_mean_weights(w, int(size[1]), align_corners, x)
    return torch.einsum('nchw,h,w->nc', x, ry, rx)
