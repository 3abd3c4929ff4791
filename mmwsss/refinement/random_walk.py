"""psa's AffinityNet pair geometry and random walk (affinitynet.md §2.5, §4.3, §5.3; sbnet.md B.7; icam.md §5.2).

Pair geometry (psa ``tool/pyutils.get_indices_of_pairs``). On an ``h x w`` feature grid with radius ``r``
(psa: 5, i.e. "gamma = 5"), the offsets are, in this order::

    (0, 1) .. (0, r-1),  then for dy = 1..r-1, dx = -(r-1)..(r-1) with dx^2 + dy^2 < r^2

(34 offsets for r = 5). The "from" pixels are rows ``[0, h - r + 1)`` and columns ``[r - 1, w - r + 1)`` (P =
(h - r + 1)(w - 2r + 2) of them, row-major); every from pixel is paired with ``from + offset`` for each offset.
Affinities and affinity labels are therefore ``(K, P)`` arrays (offset-major), K = number of offsets.

Random walk (psa ``infer_aff.py``): with ``A`` the symmetric ``N x N`` affinity matrix (N = h w; ``A[i, i] = 1``,
``A[from, to] = A[to, from] = aff``, everything else 0), ``T = A**beta / colsum(A**beta)`` and
``R = V @ T^(2**logt)`` for the ``(C, N)`` stride-8 average-pooled CAM scores ``V``.

psa builds the dense ``N x N`` matrix and squares it ``logt`` times (``method='dense'``, 8 ``N^3`` products).
mmwsss applies ``T`` ``2**logt`` times to ``V`` instead (``method='stencil'``, default): ``T`` has at most
``2K + 1`` non-zeros per column, all at fixed grid offsets, so ``V @ T`` is a spatially varying stencil of
``2K + 1`` shifted multiply-adds on the ``(B, C, h, w)`` score maps. Both give the same result up to float
rounding (``tests/test_affinitynet`` compares them with a brute-force build of psa's matrix;
``tools/benchmark/benchmark_random_walk.py`` measures the speed and the label agreement). Everything is torch,
batched over images of the same grid size, on CPU or GPU.
"""
import copy
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .cam_utils import psa_background

__all__ = [
    'radius_offsets', 'pair_region', 'pair_indices', 'pair_affinities', 'affinity_to_dense', 'pair_label_codes',
    'transition_stencil', 'RandomWalk', 'RW_PRESETS', 'rw_scores_from_cams', 'random_walk_label_map', 'AFF_IGNORE',
    'AFF_BG_POS', 'AFF_FG_POS', 'AFF_NEG', 'rw_preset'
]

#: codes of the packed affinity labels (``(K, P)`` uint8): a pair is ignored, background-positive,
#: foreground-positive or negative (psa's three float label tensors, at most one of them is 1 per pair)
AFF_IGNORE, AFF_BG_POS, AFF_FG_POS, AFF_NEG = 0, 1, 2, 3

#: random-walk parameters of each method: ``alpha`` = background power of ``(1 - max cam) ** alpha``,
#: ``beta`` = affinity power, ``logt`` = number of squarings (t = 2 ** logt), ``radius`` = pair radius.
RW_PRESETS: Dict[str, Union[dict, str]] = {
    # affinitynet.md §5.3 (psa infer_aff.py defaults; README "beta=8, gamma=5, t=256")
    'psa': dict(alpha=16, beta=8, logt=8, radius=5),
    # sccam.md "Refinement per the README is psa's ... (alpha 16, beta 8, t 256)"
    'sccam': 'psa',
    # sbnet.md B.7 / §10 item 2 (SEAM's infer_aff.py defaults, used unchanged by SBNet)
    'seam': dict(alpha=6, beta=8, logt=6, radius=5),
    'sbnet': 'seam',
    # icam.md §5.2 (infer_aff.py defaults alpha 6, beta 8, logt 6)
    'icam': 'seam',
}


def rw_preset(name: str) -> dict:
    """The random-walk parameters of preset ``name`` (aliases resolved), a copy."""
    key = name.lower()
    seen = []
    while isinstance(RW_PRESETS.get(key), str):
        seen.append(key)
        key = RW_PRESETS[key]
        if key in seen:  # pragma: no cover - table error
            raise RuntimeError(f'alias loop in RW_PRESETS: {seen}')
    if key not in RW_PRESETS:
        raise KeyError(f'unknown random-walk preset {name!r}; known: {sorted(RW_PRESETS)}')
    return copy.deepcopy(RW_PRESETS[key])


# ------------------------------------------------------------------------------------------------ geometry
@lru_cache(maxsize=None)
def radius_offsets(radius: int) -> Tuple[Tuple[int, int], ...]:
    """psa's search offsets ``(dy, dx)`` for ``radius`` (34 for radius 5), in psa's order."""
    if radius < 2:
        raise ValueError(f'the pair radius must be >= 2, got {radius}')
    offsets = [(0, dx) for dx in range(1, radius)]
    for dy in range(1, radius):
        for dx in range(-radius + 1, radius):
            if dx * dx + dy * dy < radius * radius:
                offsets.append((dy, dx))
    return tuple(offsets)


def pair_region(size: Tuple[int, int], radius: int) -> Tuple[int, int]:
    """``(rows, cols)`` of the from-pixel block: rows ``[0, rows)``, columns ``[radius-1, radius-1+cols)``.

    Raises if the grid is too small to hold any pair (psa would silently produce empty tensors)."""
    h, w = int(size[0]), int(size[1])
    rows, cols = h - radius + 1, w - 2 * (radius - 1)
    if rows <= 0 or cols <= 0:
        raise ValueError(f'a {h}x{w} feature grid is too small for pair radius {radius} (needs at least '
                         f'{radius} rows and {2 * radius - 1} columns); use larger inputs or a smaller '
                         'radius')
    return rows, cols


def pair_indices(size: Tuple[int, int], radius: int) -> Tuple[Tensor, Tensor]:
    """psa's ``get_indices_of_pairs``: flat from-indices ``(P,)`` and to-indices ``(K * P,)`` (offset-major)."""
    h, w = int(size[0]), int(size[1])
    rows, cols = pair_region(size, radius)
    rf = radius - 1
    full = torch.arange(h * w).view(h, w)
    src = full[:rows, rf:rf + cols].reshape(-1)
    dst = torch.cat([full[dy:dy + rows, rf + dx:rf + dx + cols].reshape(-1) for dy, dx in radius_offsets(radius)])
    return src, dst


def _pair_slices(radius: int, rows: int, cols: int):
    """``(from_slice, [to_slice_k])`` as (row slice, col slice) pairs on the grid."""
    rf = radius - 1
    src = (slice(0, rows), slice(rf, rf + cols))
    dst = [(slice(dy, dy + rows), slice(rf + dx, rf + dx + cols)) for dy, dx in radius_offsets(radius)]
    return src, dst


def pair_affinities(feats: Tensor, radius: int = 5) -> Tensor:
    """psa's affinities ``exp(-mean_c |F[c, from] - F[c, from + d_k]|)`` of a feature map.

    Args:
        feats: ``(B, C, h, w)`` affinity features.
        radius: pair radius.

    Returns:
        ``(B, K, P)`` affinities in (0, 1].
    """
    if feats.dim() != 4:
        raise ValueError(f'affinity features must be (B, C, h, w), got shape {tuple(feats.shape)}')
    rows, cols = pair_region(feats.shape[-2:], radius)
    (sy, sx), dst = _pair_slices(radius, rows, cols)
    src = feats[:, :, sy, sx]
    out = [torch.exp(-(feats[:, :, ty, tx] - src).abs().mean(dim=1)) for ty, tx in dst]
    return torch.stack(out, dim=1).flatten(2)


def affinity_to_dense(aff: Tensor, size: Tuple[int, int], radius: int = 5) -> Tensor:
    """psa's ``to_dense=True`` matrix ``(N, N)`` of one image: diagonal 1, ``A[from, to] = A[to, from] = aff``."""
    if aff.dim() != 2:
        raise ValueError(f'expected the (K, P) affinities of one image, got shape {tuple(aff.shape)}')
    src, dst = pair_indices(size, radius)
    k = len(radius_offsets(radius))
    if tuple(aff.shape) != (k, src.numel()):
        raise ValueError(f'affinities of shape {tuple(aff.shape)} do not fit a {size[0]}x{size[1]} grid with '
                         f'radius {radius} (expected ({k}, {src.numel()}))')
    n = int(size[0]) * int(size[1])
    dense = torch.zeros(n, n, dtype=aff.dtype, device=aff.device)
    src_rep = src.repeat(k).to(aff.device)
    dst = dst.to(aff.device)
    vals = aff.reshape(-1)
    dense[src_rep, dst] = vals
    dense[dst, src_rep] = vals
    idx = torch.arange(n, device=aff.device)
    dense[idx, idx] = 1
    return dense


def pair_label_codes(label: np.ndarray, radius: int = 5, ignore_index: int = 255) -> np.ndarray:
    """psa's ``ExtractAffinityLabelInRadius`` on a grid label map, packed into one code per pair.

    ``bg_pos = from == to == 0``; ``fg_pos = from == to != 0`` with both valid; ``neg = from != to`` with both
    valid (valid = not ``ignore_index``). Label values only need to be comparable (psa uses dict-order
    indices, 0 = background).

    Returns:
        ``(K, P)`` uint8: :data:`AFF_BG_POS`, :data:`AFF_FG_POS`, :data:`AFF_NEG` or :data:`AFF_IGNORE`.
    """
    label = np.asarray(label)
    if label.ndim != 2:
        raise ValueError(f'the affinity label map must be 2-D, got shape {label.shape}')
    rows, cols = pair_region(label.shape, radius)
    (sy, sx), dst = _pair_slices(radius, rows, cols)
    src = label[sy, sx].reshape(1, -1)
    to = np.stack([label[ty, tx].reshape(-1) for ty, tx in dst])
    valid = (src != ignore_index) & (to != ignore_index)
    same = src == to
    codes = np.full(to.shape, AFF_IGNORE, np.uint8)
    codes[valid & ~same] = AFF_NEG
    codes[valid & same & (src != 0)] = AFF_FG_POS
    codes[same & (src == 0)] = AFF_BG_POS
    return codes


# ------------------------------------------------------------------------------------------------ random walk
def _stencil_shifts(radius: int) -> List[Tuple[int, int]]:
    """Source offsets of the stencil: (0, 0), then +d_k (target = from pixel), then -d_k (target = to pixel)."""
    offs = radius_offsets(radius)
    return [(0, 0)] + list(offs) + [(-dy, -dx) for dy, dx in offs]


def transition_stencil(aff: Tensor, size: Tuple[int, int], radius: int = 5, beta: float = 8) -> Tensor:
    """The column-normalised transition ``T`` of psa's random walk as stencil weights.

    ``W[b, s, y, x] = T[(y, x) + shift_s, (y, x)]`` for the shifts of ``_stencil_shifts`` (0 when the source is
    outside the grid or not paired), so that ``(V @ T)[c, j] = sum_s W[s, j] V[c, j + shift_s]``.

    Args:
        aff: ``(B, K, P)`` affinities (``pair_affinities``).
        size: the ``(h, w)`` grid.
        beta: power applied to the affinities (psa 8).

    Returns:
        ``(B, 2K + 1, h, w)`` weights; every column of ``T`` sums to 1, i.e. ``W.sum(1) == 1``.
    """
    if aff.dim() != 3:
        raise ValueError(f'affinities must be (B, K, P), got shape {tuple(aff.shape)}')
    h, w = int(size[0]), int(size[1])
    rows, cols = pair_region((h, w), radius)
    offs = radius_offsets(radius)
    k = len(offs)
    if aff.shape[1:] != (k, rows * cols):
        raise ValueError(f'affinities of shape {tuple(aff.shape)} do not fit a {h}x{w} grid with radius '
                         f'{radius} (expected (B, {k}, {rows * cols}))')
    a = aff.pow(beta).view(aff.shape[0], k, rows, cols)
    weights = aff.new_zeros((aff.shape[0], 2 * k + 1, h, w))
    weights[:, 0] = 1  # A[j, j] = 1 ** beta
    (sy, sx), dst = _pair_slices(radius, rows, cols)
    weights[:, 1:k + 1, sy, sx] = a  # target j = from pixel, source i = j + d_k
    for i, (ty, tx) in enumerate(dst):  # target j = to pixel, source i = j - d_k
        weights[:, k + 1 + i, ty, tx] = a[:, i]
    return weights / weights.sum(dim=1, keepdim=True)


#: stencil weights and walked scores below this value are set to 0 (see :func:`_propagate`)
TINY = 1e-18


def _propagate(scores: Tensor, weights: Tensor, radius: int, steps: int) -> Tensor:
    """``scores @ T`` applied ``steps`` times with the stencil weights.

    The scores live in a zero-bordered buffer so that every shift is a plain slice; the products accumulate
    in a contiguous tensor (much faster than writing into the strided interior of the buffer).

    Weights and scores below :data:`TINY` are set to 0 (weights once, scores after every step): affinities
    of a trained AffinityNet go to ~0 across boundaries and ``aff ** 8`` then reaches the float32 subnormal
    range, where x86 arithmetic is ~100x slower. The change is below 1e-17 absolute. Every column of ``T``
    sums to 1, so a walked score vector is a convex combination of pooled input vectors; each pixel's input
    vector sums to at least ``max(m, (1 - m) ** alpha)`` (> 0.03 for alpha <= 100) and a pooled cell holds
    at least one image pixel, so the largest walked score of a cell is > 1e-5 and no arg-max depends on
    the change.
    """
    b, c, h, w = scores.shape
    rf = radius - 1
    shifts = _stencil_shifts(radius)
    padded = scores.new_zeros((b, c, h + 2 * rf, w + 2 * rf))
    inner = padded[..., rf:rf + h, rf:rf + w]
    inner.copy_(F.threshold(scores, TINY, 0.))
    weights = F.threshold(weights, TINY, 0.)
    wmaps = [weights[:, s:s + 1].contiguous() for s in range(len(shifts))]
    out = torch.empty_like(scores)
    for step in range(steps):
        torch.mul(inner, wmaps[0], out=out)
        for s in range(1, len(shifts)):
            dy, dx = shifts[s]
            out.addcmul_(padded[..., rf + dy:rf + dy + h, rf + dx:rf + dx + w], wmaps[s])
        F.threshold_(out, TINY, 0.)
        if step + 1 < steps:
            inner.copy_(out)
    return out if steps else scores.clone()


class _IntraOpThreads:
    """Temporarily set torch's intra-op thread count (``None``: leave it)."""

    def __init__(self, num: Optional[int]) -> None:
        self.num, self.prev = num, None

    def __enter__(self):
        if self.num is not None and self.num != torch.get_num_threads():
            self.prev = torch.get_num_threads()
            torch.set_num_threads(self.num)

    def __exit__(self, *exc):
        if self.prev is not None:
            torch.set_num_threads(self.prev)


class RandomWalk:
    """psa's random walk with learned affinities (affinitynet.md §5.3).

    Args:
        beta: affinity power (psa 8).
        logt: number of squarings of ``T`` (t = 2 ** logt; psa 8, SEAM/SBNet/ICAM 6).
        radius: pair radius of the affinities (psa 5).
        method: ``'stencil'`` (default; ``2**logt`` sparse stencil products, fast on CPU and GPU) or
            ``'dense'`` (psa: dense ``N x N`` matrix squared ``logt`` times).
        cpu_threads: intra-op threads of the CPU stencil (default 1: its element-wise ops on a few 10^4
            values lose more to thread synchronisation than they gain, badly so on a busy machine -- use
            processes to parallelise over images); ``None`` keeps torch's setting. Ignored on GPU and by
            ``'dense'``.
    """

    METHODS = ('stencil', 'dense')

    def __init__(self,
                 beta: float = 8,
                 logt: int = 8,
                 radius: int = 5,
                 method: str = 'stencil',
                 cpu_threads: Optional[int] = 1) -> None:
        if method not in self.METHODS:
            raise ValueError(f'method must be one of {self.METHODS}, got {method!r}')
        if int(logt) != logt or logt < 0:
            raise ValueError(f'logt must be a non-negative integer, got {logt}')
        self.beta = beta
        self.logt = int(logt)
        self.radius = int(radius)
        self.method = method
        self.cpu_threads = cpu_threads
        radius_offsets(self.radius)  # validates the radius

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(beta={self.beta}, logt={self.logt}, radius={self.radius}, '
                f'method={self.method!r})')

    def __call__(self, aff: Tensor, scores: Tensor) -> Tensor:
        """Propagate ``scores`` (``(B, C, h, w)`` or ``(C, h, w)``) with the affinities ``aff`` (``(B, K, P)`` or
        ``(K, P)``) of the same ``h x w`` grid; returns the walked scores of the same shape."""
        single = scores.dim() == 3
        if single:
            scores, aff = scores[None], aff[None] if aff.dim() == 2 else aff
        if scores.dim() != 4 or aff.dim() != 3 or aff.shape[0] != scores.shape[0]:
            raise ValueError(f'scores (B, C, h, w) and affinities (B, K, P) expected, got {tuple(scores.shape)} '
                             f'and {tuple(aff.shape)}')
        size = tuple(scores.shape[-2:])
        aff = aff.to(scores.dtype)
        if self.method == 'dense':
            out = torch.stack([self._dense(a, s, size) for a, s in zip(aff, scores)])
        else:
            with _IntraOpThreads(self.cpu_threads if scores.device.type == 'cpu' else None):
                out = _propagate(scores, transition_stencil(aff, size, self.radius, self.beta), self.radius,
                                 2**self.logt)
        return out[0] if single else out

    def _dense(self, aff: Tensor, scores: Tensor, size: Tuple[int, int]) -> Tensor:
        """psa: ``T = A**beta / colsum``; ``T = T @ T`` ``logt`` times; ``V @ T``."""
        a = affinity_to_dense(aff, size, self.radius).pow(self.beta)
        trans = a / a.sum(dim=0, keepdim=True)
        for _ in range(self.logt):
            trans = trans @ trans
        return (scores.flatten(1) @ trans).view_as(scores)


# ------------------------------------------------------------------------------------------------ CAMs -> labels
def rw_scores_from_cams(cams: Tensor, alpha: float, stride: int = 8) -> Tensor:
    """psa's random-walk input: ``[(1 - max cam) ** alpha, cams]`` zero-padded (bottom/right) to a multiple of
    ``stride`` and ``stride x stride`` average-pooled.

    Args:
        cams: ``(K, H, W)`` or ``(B, K, H, W)`` CAMs of the present classes, in [0, 1].
        alpha: background power (psa 16, SEAM/SBNet/ICAM 6).

    Returns:
        ``(K + 1, ceil(H / stride), ceil(W / stride))`` (batched: with the leading B).
    """
    single = cams.dim() == 3
    if single:
        cams = cams[None]
    scores = torch.cat([psa_background(cams, alpha).to(cams.dtype), cams], dim=1)
    h, w = scores.shape[-2:]
    ph, pw = -h % stride, -w % stride
    scores = F.pad(scores, (0, pw, 0, ph))
    scores = F.avg_pool2d(scores, stride, stride)
    return scores[0] if single else scores


def random_walk_label_map(aff: Tensor,
                          cams: Union[Tensor, Sequence[Tensor]],
                          class_ids: Union[Sequence[int], Tensor, Sequence[Union[Sequence[int], Tensor]]],
                          image_size: Tuple[int, int],
                          alpha: float = 16,
                          walk: Optional[RandomWalk] = None,
                          stride: int = 8) -> Union[Tensor, List[Tensor]]:
    """psa ``infer_aff.py``: CAMs -> walked scores -> bilinear upsampling -> arg-max -> label maps.

    Args:
        aff: ``(K_pairs, P)`` affinities of one image, or ``(B, K_pairs, P)`` of B images of the same size,
            computed on the image zero-padded (bottom/right) to a multiple of ``stride``.
        cams: ``(K, H, W)`` CAMs of the present classes at image resolution, or a list of B of them (their K
            may differ; the walk runs on ``max K + 1`` channels, missing ones zero).
        class_ids: label values of the CAMs (ascending), or a list of B of them.
        image_size: ``(H, W)`` of the (unpadded) images.
        alpha: background power of ``(1 - max cam) ** alpha`` (psa 16).
        walk: the random walk (default ``RandomWalk()`` = psa's beta 8, logt 8, radius 5).

    Returns:
        ``(H, W)`` int64 label map (0 = background, ``class_ids`` for the classes; no ignore value), or a list
        of B of them.
    """
    walk = RandomWalk() if walk is None else walk
    single = aff.dim() == 2
    if single:
        aff, cams, class_ids = aff[None], [cams], [class_ids]
    if len(cams) != aff.shape[0] or len(class_ids) != aff.shape[0]:
        raise ValueError(f'{aff.shape[0]} affinity maps but {len(cams)} CAM sets and {len(class_ids)} id lists')
    h, w = int(image_size[0]), int(image_size[1])
    luts, scores = [], []
    for cam, ids in zip(cams, class_ids):
        if tuple(cam.shape[-2:]) != (h, w) or cam.dim() != 3:
            raise ValueError(f'CAMs of shape {tuple(cam.shape)} do not match the image size {h}x{w}')
        ids = torch.as_tensor(ids, dtype=torch.long, device=cam.device).reshape(-1)
        if ids.numel() != cam.shape[0]:
            raise ValueError(f'{ids.numel()} class ids for {cam.shape[0]} CAMs')
        luts.append(torch.cat([ids.new_zeros(1), ids]))
        scores.append(rw_scores_from_cams(cam, alpha, stride))
    channels = max(s.shape[0] for s in scores)
    batch = scores[0].new_zeros((len(scores), channels) + tuple(scores[0].shape[-2:]))
    for i, s in enumerate(scores):
        batch[i, :s.shape[0]] = s
    walked = walk(aff, batch)
    hp, wp = batch.shape[-2] * stride, batch.shape[-1] * stride
    up = F.interpolate(walked, size=(hp, wp), mode='bilinear', align_corners=False)[..., :h, :w]
    labels = [lut[u[:lut.numel()].argmax(dim=0)] for lut, u in zip(luts, up)]
    return labels[0] if single else labels
