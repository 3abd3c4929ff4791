"""Multi-scale + flip CAM inference (psa ``infer_cls.py`` semantics), shared by models, tools and hooks.

For an image of size H x W and each scale s (psa: 1.0, 0.5, 1.5, 2.0, in this order) the image is resized
to (round(H s), round(W s)) with Python's ``round`` (banker's rounding) and bicubic interpolation, passed
with its horizontal flip through the network, and every CAM is ReLU'd, bilinearly upsampled to H x W
(``align_corners=False``) and un-flipped. The CAMs are summed over all inputs and each class map is divided
by its maximum plus 1e-5 (:func:`mmwsss.refinement.cam_utils.max_normalize`).

Speed: each flip pair goes through the network as one batch of two, under ``torch.inference_mode``. On a
2-core CPU this is within noise of the per-input loop: the convolutions dominate and already run near the
machine's arithmetic limit (``tools/benchmark/benchmark_cam_inference.py`` prints the roofline). Batching is
meant for devices with a large per-call overhead (GPUs), where it was not measured.
Resizing happens on the tensor (``F.interpolate`` bicubic with anti-aliasing, on 0..255 values clamped and
rounded like PIL's uint8 output); ``tests/test_apis/test_cam_inference.py`` measures the difference to
PIL's bicubic resize.
"""
from typing import Callable, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

CAMFn = Callable[[Tensor], Tensor]


def scaled_size(size: Tuple[int, int], scale: float) -> Tuple[int, int]:
    """``(round(H s), round(W s))`` with Python's banker's rounding, as psa's PIL resize."""
    h, w = size
    return max(1, round(h * scale)), max(1, round(w * scale))


def resize_normalized(img: Tensor, size: Tuple[int, int], mean: Optional[Tensor] = None,
                      std: Optional[Tensor] = None) -> Tensor:
    """Bicubic resize of a normalised (N, 3, H, W) image as if it had been resized as uint8 first.

    With ``mean``/``std`` (shape (3, 1, 1), 0..255 scale) the image is de-normalised, resized with
    anti-aliased bicubic interpolation, clamped and rounded to 0..255 (PIL's uint8 output), and normalised
    again. Without them the tensor is resized as it is.
    """
    if tuple(img.shape[-2:]) == tuple(size):
        return img
    if mean is None or std is None:
        return F.interpolate(img, size=size, mode='bicubic', align_corners=False, antialias=True)
    raw = img * std + mean
    raw = F.interpolate(raw, size=size, mode='bicubic', align_corners=False, antialias=True)
    raw = raw.clamp_(0, 255).round_()
    return (raw - mean) / std


def multi_scale_cams(cam_fn: CAMFn,
                     img: Tensor,
                     scales: Sequence[float] = (1.0, 0.5, 1.5, 2.0),
                     flip: bool = True,
                     mean: Optional[Tensor] = None,
                     std: Optional[Tensor] = None,
                     channels_last: bool = False) -> Tensor:
    """Sum of ReLU'd CAMs over scales and flips, at the image's resolution.

    Args:
        cam_fn: maps a normalised batch (N, 3, h, w) to CAMs (N, C, h', w') (ReLU is applied here again,
            harmless if ``cam_fn`` already did).
        img: one normalised image (1, 3, H, W) or (3, H, W).
        scales: scale factors, summed in this order.
        flip: add the horizontal flip of every scale.
        mean, std: the normalisation (3, 1, 1) used to resize like a uint8 image (see
            :func:`resize_normalized`); ``None`` resizes the normalised tensor directly.

    Returns:
        (C, H, W) float tensor: the un-normalised sum (apply ``max_normalize`` afterwards).
    """
    if img.dim() == 3:
        img = img[None]
    if img.dim() != 4 or img.shape[0] != 1:
        raise ValueError(f'multi_scale_cams takes one image (1, 3, H, W), got {tuple(img.shape)}')
    H, W = img.shape[-2:]
    total: Optional[Tensor] = None
    for scale in scales:
        x = resize_normalized(img, scaled_size((H, W), scale), mean, std)
        if flip:
            x = torch.cat([x, x.flip(-1)], dim=0)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        cams = F.relu(cam_fn(x))
        cams = F.interpolate(cams, size=(H, W), mode='bilinear', align_corners=False)
        summed = cams[0] + cams[1].flip(-1) if flip else cams[0]
        total = summed if total is None else total + summed
    assert total is not None, 'scales must not be empty'
    return total

