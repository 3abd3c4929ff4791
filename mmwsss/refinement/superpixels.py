"""Superpixels for ICD (icd.md §5.3): Felzenszwalb-Huttenlocher segments, greedily merged to at most 64 regions.

Stage A1 (raw segments): the authors ran Felzenszwalb's reference code with sigma 0.8, k 75 and min_size 75.
:func:`felzenszwalb_segments` uses ``skimage.segmentation.felzenszwalb`` with the same numbers (the spec
measured adjusted Rand index 0.98-1.00 against the original C++; not bit-identical, the Gaussian border and the
tie order differ) and numbers the segments 0..n-1 in raster order of their first pixel, as the original.

Stage A2 (merge, ``generate_superpixel.py``): every segment gets the mean of a dense feature map over its
pixels; the similarity of ANY two regions (adjacent or not) is ``cos(f_i, f_j) + 1 - (|i| + |j|) / (h w)``;
the most similar pair is merged (the first maximum in row-major order, the lower index survives, its feature
becomes the size-weighted mean) until at most ``max_regions`` remain; the survivors are renumbered 0..M-1 in the
order of their (lowest) original index. The matrix is symmetric, so after a merge both the row and the column
of the survivor are recomputed (the spec says "recompute that row"; for a symmetric matrix they are the same).

On-disk format (read by :class:`mmwsss.datasets.transforms.LoadSuperpixels`): a 3-channel PNG whose id is
``B + 256 G + 65536 R``; maps with at most 256 ids store it in B only (G = R = 0), as ICD's merged maps.
"""
from typing import Tuple

import numpy as np
from PIL import Image

from mmwsss.utils.io import atomic_path

__all__ = ['felzenszwalb_segments', 'relabel_first_occurrence', 'region_features', 'region_similarity',
           'greedy_merge_regions', 'encode_superpixels', 'save_superpixels']


def relabel_first_occurrence(segments: np.ndarray) -> np.ndarray:
    """Ids renumbered 0..n-1 in raster order of each segment's first pixel (int32)."""
    segments = np.asarray(segments)
    flat = segments.reshape(-1)
    uniq, first = np.unique(flat, return_index=True)
    order = np.argsort(first, kind='stable')  # unique ids sorted by first occurrence
    new_id = np.empty(len(uniq), dtype=np.int32)
    new_id[order] = np.arange(len(uniq), dtype=np.int32)
    return new_id[np.searchsorted(uniq, flat)].reshape(segments.shape)


def felzenszwalb_segments(rgb: np.ndarray, k: float = 75, sigma: float = 0.8, min_size: int = 75) -> np.ndarray:
    """Felzenszwalb-Huttenlocher segments of a uint8 RGB image (H, W, 3), ids in raster first-occurrence order."""
    from skimage.segmentation import felzenszwalb
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f'felzenszwalb_segments needs a uint8 (H, W, 3) image, got {rgb.dtype} {rgb.shape}')
    seg = felzenszwalb(rgb, scale=k, sigma=sigma, min_size=int(min_size))
    return relabel_first_occurrence(seg)


def region_features(segments: np.ndarray, features: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Mean feature (n, D) float64 and pixel count (n,) of every segment id 0..n-1.

    Args:
        segments: (H, W) ids 0..n-1.
        features: (D, H, W) dense features at the same resolution.
    """
    segments = np.asarray(segments)
    features = np.asarray(features)
    if features.ndim != 3 or features.shape[1:] != segments.shape:
        raise ValueError(f'features {features.shape} do not match the (D, H, W) of segments {segments.shape}')
    n = int(segments.max()) + 1
    flat = segments.reshape(-1)
    sizes = np.bincount(flat, minlength=n).astype(np.float64)
    if np.any(sizes == 0):
        raise ValueError(f'segment ids must be 0..n-1 without gaps; missing {np.flatnonzero(sizes == 0)[:10]}')
    sums = np.stack([np.bincount(flat, weights=ch.reshape(-1), minlength=n) for ch in features], axis=1)
    return sums / sizes[:, None], sizes


def region_similarity(feats: np.ndarray, sizes: np.ndarray, total: float) -> np.ndarray:
    """``cos(f_i, f_j) + 1 - (|i| + |j|) / total`` for all pairs (n, n); the diagonal is -inf."""
    norms = np.linalg.norm(feats, axis=1)
    cos = (feats @ feats.T) / np.maximum(norms[:, None] * norms[None, :], 1e-12)
    sim = cos + 1.0 - (sizes[:, None] + sizes[None, :]) / total
    np.fill_diagonal(sim, -np.inf)
    return sim


def greedy_merge_regions(segments: np.ndarray, features: np.ndarray, max_regions: int = 64) -> np.ndarray:
    """ICD's greedy merge (module docstring) of ``segments`` (H, W; ids 0..n-1) with dense ``features``
    (D, H, W); returns int32 ids 0..M-1, M = min(n, max_regions)."""
    if max_regions < 1:
        raise ValueError(f'max_regions must be >= 1, got {max_regions}')
    segments = np.asarray(segments)
    feats, sizes = region_features(segments, features)
    n = len(sizes)
    total = float(segments.size)
    sim = region_similarity(feats, sizes, total)
    parent = np.arange(n)
    alive = np.ones(n, dtype=bool)
    while alive.sum() > max_regions:
        flat = int(np.argmax(sim))  # first maximum in row-major order
        i, j = divmod(flat, n)
        keep, gone = min(i, j), max(i, j)
        new_size = sizes[keep] + sizes[gone]
        feats[keep] = (feats[keep] * sizes[keep] + feats[gone] * sizes[gone]) / new_size
        sizes[keep] = new_size
        parent[parent == gone] = keep
        alive[gone] = False
        sim[gone, :] = -np.inf
        sim[:, gone] = -np.inf
        others = np.flatnonzero(alive)
        others = others[others != keep]
        if others.size:
            fk = feats[keep]
            cos = feats[others] @ fk / np.maximum(np.linalg.norm(feats[others], axis=1) * np.linalg.norm(fk), 1e-12)
            row = cos + 1.0 - (sizes[others] + new_size) / total
            sim[keep, others] = row
            sim[others, keep] = row
    survivors = np.unique(parent)  # ascending = order of the lowest original index
    remap = np.zeros(n, dtype=np.int32)
    remap[survivors] = np.arange(len(survivors), dtype=np.int32)
    return remap[parent][segments]


def encode_superpixels(segments: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) RGB array with ``id = B + 256 G + 65536 R``."""
    seg = np.asarray(segments, dtype=np.int64)
    if seg.ndim != 2 or seg.min(initial=0) < 0 or seg.max(initial=0) >= 1 << 24:
        raise ValueError(f'superpixel ids must be a 2-D map of 0..2^24-1, got shape {seg.shape}')
    return np.stack([(seg >> 16) & 255, (seg >> 8) & 255, seg & 255], axis=-1).astype(np.uint8)


def save_superpixels(path: str, segments: np.ndarray) -> None:
    """Write a superpixel map as a 3-channel PNG (see the module docstring), atomically."""
    img = Image.fromarray(encode_superpixels(segments), mode='RGB')
    with atomic_path(path) as tmp:
        img.save(tmp, format='PNG')
