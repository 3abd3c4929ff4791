"""Heat-map and label-map overlays on RGB images (uint8 in, uint8 out)."""
from typing import Optional

import numpy as np

from .palette import voc_palette_array

__all__ = ['colorize_label', 'label_overlay', 'heatmap', 'heatmap_overlay']


def _check_rgb(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'expected a uint8 (H, W, 3) RGB image, got {img.dtype} of shape {img.shape}')
    return img


def colorize_label(label: np.ndarray, palette: Optional[np.ndarray] = None) -> np.ndarray:
    """Colour an integer ``(H, W)`` label map with ``palette`` (``(N, 3)`` uint8; VOC by default)."""
    label = np.asarray(label)
    if label.ndim != 2 or not np.issubdtype(label.dtype, np.integer):
        raise ValueError(f'expected an integer (H, W) label map, got {label.dtype} of shape {label.shape}')
    pal = voc_palette_array() if palette is None else np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    if label.size and (label.min() < 0 or label.max() >= len(pal)):
        raise ValueError(f'label values {int(label.min())}..{int(label.max())} outside the palette '
                         f'of {len(pal)} colours')
    return pal[label]


def _blend(img: np.ndarray, colour: np.ndarray, alpha: float, mask: Optional[np.ndarray] = None) -> np.ndarray:
    if not 0 <= alpha <= 1:
        raise ValueError(f'alpha must be in [0, 1], got {alpha}')
    out = (1 - alpha) * img.astype(np.float32) + alpha * colour.astype(np.float32)
    if mask is not None:
        out = np.where(mask[..., None], out, img.astype(np.float32))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def label_overlay(img: np.ndarray, label: np.ndarray, alpha: float = 0.5, palette: Optional[np.ndarray] = None,
                  skip_background: bool = False) -> np.ndarray:
    """``(1 - alpha) * img + alpha * colour(label)`` (rounded); background left bare if ``skip_background``."""
    img = _check_rgb(img)
    label = np.asarray(label)
    if label.shape != img.shape[:2]:
        raise ValueError(f'label map {label.shape} does not match the image {img.shape[:2]}')
    return _blend(img, colorize_label(label, palette), alpha, (label != 0) if skip_background else None)


def heatmap(cam: np.ndarray, vmin: float = 0.0, vmax: float = 1.0) -> np.ndarray:
    """JET colours (OpenCV ``COLORMAP_JET``) of a ``(H, W)`` map scaled from ``[vmin, vmax]``, RGB uint8."""
    import cv2
    cam = np.asarray(cam, dtype=np.float32)
    if cam.ndim != 2:
        raise ValueError(f'expected an (H, W) map, got shape {cam.shape}')
    if vmax <= vmin:
        raise ValueError(f'vmax ({vmax}) must be > vmin ({vmin})')
    scaled = np.clip((np.nan_to_num(cam) - vmin) / (vmax - vmin), 0, 1)
    bgr = cv2.applyColorMap(np.rint(scaled * 255).astype(np.uint8), cv2.COLORMAP_JET)
    return np.ascontiguousarray(bgr[..., ::-1])


def heatmap_overlay(img: np.ndarray, cam: np.ndarray, alpha: float = 0.5, vmin: float = 0.0,
                    vmax: float = 1.0) -> np.ndarray:
    """``(1 - alpha) * img + alpha * jet(cam)`` (rounded), uint8 RGB."""
    img = _check_rgb(img)
    cam = np.asarray(cam)
    if cam.shape != img.shape[:2]:
        raise ValueError(f'CAM of shape {cam.shape} does not match the image {img.shape[:2]}')
    return _blend(img, heatmap(cam, vmin, vmax), alpha)
