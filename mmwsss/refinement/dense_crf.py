"""Fully connected CRF (Kraehenbuehl & Koltun) over pydensecrf, with the settings of every method.

``pydensecrf2`` (imports as ``pydensecrf``) is the mean-field implementation that all the original code
bases call; this wrapper only builds the same calls with every parameter exposed and checks its inputs.
Presets (:meth:`DenseCRF.from_preset`, table :data:`CRF_PRESETS`) name the method and cite the spec
section their numbers come from. The psa la/ha rule is :func:`psa_crf_labels`.
"""
import copy
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

from .cam_utils import add_background, psa_background

__all__ = [
    'DenseCRF', 'CRF_PRESETS', 'LA_HA_ALPHAS', 'psa_crf_labels', 'icd_seed_probabilities',
    'marginals_to_label_map'
]

Number = Union[int, float]
Pair = Union[Number, Tuple[Number, Number]]

# Keyword arguments of DenseCRF for each method; the comment names the spec section (shared/specs/).
CRF_PRESETS: Dict[str, dict] = {
    # affinitynet.md §5.2 (psa tool/imutils.crf_inference, used by _crf_with_alpha for the la/ha labels):
    # unary -log(clip(P, 1e-5, 1)), Gaussian 3/3, bilateral 80/13/10, 10 iterations, DIAG / SYMMETRIC.
    'psa': dict(unary='prob', prob_clip=1e-5, gaussian_sxy=3, gaussian_compat=3, bilateral_sxy=80,
                bilateral_srgb=13, bilateral_compat=10, iterations=10),
    # sccam.md §4.1 item 8 and "Refinement per the README is psa's": psa's _crf_with_alpha, unchanged.
    'sccam': 'psa',
    # sbnet.md §5 step 6 and B.5 (SEAM infer_SEAM.py, SBNet infer_SB.py): psa's crf_inference unchanged.
    'sbnet': 'psa',
    'seam': 'psa',
    # icam.md §5.1 step 5 (pseudo-label CRF at alpha 2/4): psa's crf_inference unchanged.
    'icam': 'psa',
    # icd.md §5.2 step 9 (_generate_seed): unary -log(max(prob, 1e-5)) of icd_seed_probabilities(),
    # Gaussian 3/3, bilateral 80/13/10, 10 iterations over all 21 labels; then
    # marginals_to_label_map(Q, renormalize=True, min_prob=0.1).
    'icd': dict(unary='prob', prob_clip=1e-5, gaussian_sxy=3, gaussian_compat=3, bilateral_sxy=80,
                bilateral_srgb=13, bilateral_compat=10, iterations=10),
    # rtc.md §5 (contrast_infer.py --out_crf): unary_from_labels(labels, 21, gt_prob=0.7, zero_unsure=False)
    # on the bg-0.17 arg-max labels, Gaussian 3/3, bilateral 50/5/10, 10 iterations (--crf_iters ignored).
    'rtc': dict(unary='label', gt_prob=0.7, zero_unsure=False, gaussian_sxy=3, gaussian_compat=3,
                bilateral_sxy=50, bilateral_srgb=5, bilateral_compat=10, iterations=10),
    # deeplab_final.md §3 "TEST_CRF" (YudeWang codebase utils/DenseCRF.dense_crf, the DeepLab-v1 final stage
    # of ICAM and of RTC's reference code base) and icam.md §5.3: softmax unary, Gaussian 3/3,
    # bilateral 32/13/10, ONE mean-field iteration.
    'deeplab-v1': dict(unary='prob', prob_clip=1e-5, gaussian_sxy=3, gaussian_compat=3, bilateral_sxy=32,
                       bilateral_srgb=13, bilateral_compat=10, iterations=1),
    'icam-test': 'deeplab-v1',
    # deeplab_final.md §2.4 (kazuto1011/deeplab-pytorch, the DeepLab-v2 many WSSS repos -- SBNet among them --
    # retrain with): iter 10, pos_w 3, pos_xy_std 1, bi_w 4, bi_xy_std 67, bi_rgb_std 3; softmax unary.
    'deeplab-v2': dict(unary='prob', prob_clip=1e-5, gaussian_sxy=1, gaussian_compat=3, bilateral_sxy=67,
                       bilateral_srgb=3, bilateral_compat=4, iterations=10),
    # extended_training.md §4 (PMM / WSSS_MMSeg EncoderDecoder.DenseCRF at test time): the same numbers as
    # deeplab-v2, on the RGB original.
    'pmm': 'deeplab-v2',
    # extended_training.md §6 (PMM refine_cam.py PPMG binary CRF, alpha 11): Gaussian 3/10 (compat 10, not 3),
    # bilateral 80/13/10, 10 iterations. Quirk: the original reads the image with cv2 (BGR) and passes it
    # as "rgbim"; rgb_to_bgr=True reproduces that when this wrapper is given an RGB image.
    'pmm-ppmg': dict(unary='prob', prob_clip=1e-5, gaussian_sxy=3, gaussian_compat=10, bilateral_sxy=80,
                     bilateral_srgb=13, bilateral_compat=10, iterations=10, rgb_to_bgr=True),
}

# (low alpha "la", high alpha "ha") of the two CRF runs whose labels train AffinityNet.
LA_HA_ALPHAS: Dict[str, Tuple[float, float]] = {
    'psa': (4, 32),  # affinitynet.md §5.2 (code defaults --low_alpha 4 --high_alpha 32)
    'psa-cvpr': (4, 24),  # affinitynet.md §5.2 (the CVPR paper's 4/24)
    'sccam': (4, 32),  # sccam.md §4.1 item 8 (psa's defaults)
    'seam': (4, 24),  # sbnet.md B.5
    'sbnet': (4, 24),  # sbnet.md §5 step 6 (hard-coded crf_alpha = [4, 24])
    'icam': (2, 4),  # icam.md §5.1 step 5
}

_KERNELS = ('const', 'diag', 'full')
_NORMALIZATIONS = ('none', 'before', 'after', 'symmetric')


def _dcrf():
    try:
        import pydensecrf.densecrf as dcrf
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError('DenseCRF needs pydensecrf2 (pip install pydensecrf2==1.1; imports as pydensecrf); '
                          f'it could not be imported: {e}') from e
    return dcrf


class DenseCRF:
    """Dense CRF with every pydensecrf parameter exposed.

    Args:
        unary: ``'prob'`` -- scores are per-label probabilities ``(n_labels, H, W)``, unary
            ``-log(clip(P, prob_clip, 1))`` (pydensecrf ``unary_from_softmax``; NOT renormalised first), or
            ``'label'`` -- scores are an integer label map ``(H, W)`` (pydensecrf ``unary_from_labels``).
        iterations: mean-field iterations.
        prob_clip: lower clip of the probabilities (``'prob'``).
        prob_scale: pydensecrf's ``scale`` of ``unary_from_softmax`` (mix with uniform); None = off.
        gt_prob: confidence of the given label (``'label'``), in (0, 1).
        zero_unsure: pydensecrf semantics (``'label'``): label value 0 means "unsure" (uniform unary) and
            values 1..n mean labels 0..n-1. Keep False for ordinary 0-based label maps.
        ignore_index: with ``zero_unsure=False``, pixels of this value get a uniform unary (e.g. 255);
            None = such values are an error.
        gaussian_sxy, gaussian_compat: appearance-free smoothness kernel; ``gaussian_sxy=None`` drops it.
        bilateral_sxy, bilateral_srgb, bilateral_compat: appearance kernel; ``bilateral_sxy=None`` drops it.
            ``sxy`` may be a number or ``(sx, sy)``, ``srgb`` a number or 3 values, ``compat`` a number
            (Potts), a vector (diagonal) or an ``n_labels x n_labels`` matrix.
        kernel: ``'diag'`` (pydensecrf default), ``'const'`` or ``'full'``.
        normalization: ``'symmetric'`` (default), ``'none'``, ``'before'`` or ``'after'``.
        scale_factor: divides both ``sxy`` (psa's ``crf_inference(scale_factor=1)`` argument).
        rgb_to_bgr: reverse the channel order of the given RGB image before the bilateral kernel
            (reproduces originals that pass a cv2 BGR image; see the 'pmm-ppmg' preset).
    """

    def __init__(self,
                 unary: str = 'prob',
                 iterations: int = 10,
                 prob_clip: Optional[float] = 1e-5,
                 prob_scale: Optional[float] = None,
                 gt_prob: float = 0.5,
                 zero_unsure: bool = False,
                 ignore_index: Optional[int] = None,
                 gaussian_sxy: Optional[Pair] = 3,
                 gaussian_compat=3,
                 bilateral_sxy: Optional[Pair] = 80,
                 bilateral_srgb=13,
                 bilateral_compat=10,
                 kernel: str = 'diag',
                 normalization: str = 'symmetric',
                 scale_factor: float = 1.0,
                 rgb_to_bgr: bool = False) -> None:
        if unary not in ('prob', 'label'):
            raise ValueError(f"unary must be 'prob' or 'label', got {unary!r}")
        if kernel not in _KERNELS:
            raise ValueError(f'kernel must be one of {_KERNELS}, got {kernel!r}')
        if normalization not in _NORMALIZATIONS:
            raise ValueError(f'normalization must be one of {_NORMALIZATIONS}, got {normalization!r}')
        if int(iterations) < 0:
            raise ValueError(f'iterations must be >= 0, got {iterations}')
        if unary == 'label' and not 0 < gt_prob < 1:
            raise ValueError(f'gt_prob must be in (0, 1), got {gt_prob}')
        if zero_unsure and ignore_index is not None:
            raise ValueError('use either zero_unsure (pydensecrf: 0 = unsure) or ignore_index, not both')
        if scale_factor <= 0:
            raise ValueError(f'scale_factor must be > 0, got {scale_factor}')
        self.unary = unary
        self.iterations = int(iterations)
        self.prob_clip = prob_clip
        self.prob_scale = prob_scale
        self.gt_prob = gt_prob
        self.zero_unsure = zero_unsure
        self.ignore_index = ignore_index
        self.gaussian_sxy = gaussian_sxy
        self.gaussian_compat = gaussian_compat
        self.bilateral_sxy = bilateral_sxy
        self.bilateral_srgb = bilateral_srgb
        self.bilateral_compat = bilateral_compat
        self.kernel = kernel
        self.normalization = normalization
        self.scale_factor = scale_factor
        self.rgb_to_bgr = rgb_to_bgr

    # ------------------------------------------------------------------ construction
    @staticmethod
    def preset_kwargs(name: str) -> dict:
        """The keyword arguments of preset ``name`` (aliases resolved), a copy."""
        key = name.lower()
        seen = []
        while isinstance(CRF_PRESETS.get(key), str):
            seen.append(key)
            key = CRF_PRESETS[key]
            if key in seen:  # pragma: no cover - table error
                raise RuntimeError(f'alias loop in CRF_PRESETS: {seen}')
        if key not in CRF_PRESETS:
            raise KeyError(f'unknown CRF preset {name!r}; known: {sorted(CRF_PRESETS)}')
        return copy.deepcopy(CRF_PRESETS[key])

    @classmethod
    def from_preset(cls, name: str, **overrides) -> 'DenseCRF':
        """Build the CRF of a method (see :data:`CRF_PRESETS`), optionally overriding some arguments."""
        kwargs = cls.preset_kwargs(name)
        kwargs.update(overrides)
        return cls(**kwargs)

    def __repr__(self) -> str:
        keys = ('unary', 'iterations', 'prob_clip', 'gt_prob', 'zero_unsure', 'gaussian_sxy', 'gaussian_compat',
                'bilateral_sxy', 'bilateral_srgb', 'bilateral_compat', 'kernel', 'normalization',
                'scale_factor', 'rgb_to_bgr')
        return f'{type(self).__name__}(' + ', '.join(f'{k}={getattr(self, k)!r}' for k in keys) + ')'

    # ------------------------------------------------------------------ checks
    @staticmethod
    def check_image(img: np.ndarray, name: str = '') -> np.ndarray:
        """Validate a uint8 ``(H, W, 3)`` RGB image and return a C-contiguous copy."""
        where = f'{name}: ' if name else ''
        img = np.asarray(img) if not isinstance(img, np.ndarray) else img
        if img.dtype != np.uint8:
            raise ValueError(f'{where}CRF image must be uint8 (H, W, 3) RGB, got dtype {img.dtype}')
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'{where}CRF image must be uint8 (H, W, 3) RGB, got shape {img.shape}')
        return np.ascontiguousarray(img).copy()

    # ------------------------------------------------------------------ unary
    def unary_energy(self, scores: np.ndarray, n_labels: Optional[int] = None, name: str = '') -> np.ndarray:
        """Unary energy ``(n_labels, H*W)`` float32 of probabilities or a label map (see class doc)."""
        from pydensecrf.utils import unary_from_labels, unary_from_softmax
        where = f'{name}: ' if name else ''
        scores = np.asarray(scores)
        if self.unary == 'prob':
            if scores.ndim != 3 or scores.shape[0] < 1:
                raise ValueError(f'{where}CRF probabilities must be (n_labels, H, W), got shape {scores.shape}')
            if not np.issubdtype(scores.dtype, np.floating):
                raise ValueError(f'{where}CRF probabilities must be floating point, got {scores.dtype}')
            if not np.all(np.isfinite(scores)):
                raise ValueError(f'{where}CRF probabilities contain NaN or infinite values')
            if n_labels is not None and n_labels != scores.shape[0]:
                raise ValueError(f'{where}n_labels={n_labels} but {scores.shape[0]} probability channels')
            return np.ascontiguousarray(unary_from_softmax(scores, scale=self.prob_scale, clip=self.prob_clip),
                                        dtype=np.float32)
        if scores.ndim != 2 or not np.issubdtype(scores.dtype, np.integer):
            raise ValueError(f'{where}CRF label map must be an integer (H, W) array, got {scores.dtype} '
                             f'shape {scores.shape}')
        if n_labels is None or n_labels < 2:
            raise ValueError(f'{where}a label unary needs n_labels >= 2, got {n_labels}')
        labels = scores.astype(np.int64)
        if self.ignore_index is not None:
            unsure = labels == self.ignore_index
            labels = np.where(unsure, 0, labels + 1)  # pydensecrf's zero_unsure convention
            zero_unsure, top = True, n_labels
        else:
            zero_unsure, top = self.zero_unsure, (n_labels if self.zero_unsure else n_labels - 1)
        if labels.size and (labels.min() < 0 or labels.max() > top):
            bad = np.unique(labels[(labels < 0) | (labels > top)])
            if self.ignore_index is not None:
                bad = bad - 1
            raise ValueError(f'{where}CRF label map holds values {bad.tolist()[:10]} outside the '
                             f'{n_labels} labels' + ('' if self.ignore_index is not None
                                                     else ' (set ignore_index for an ignore value)'))
        return np.ascontiguousarray(unary_from_labels(labels, n_labels, self.gt_prob, zero_unsure=zero_unsure),
                                    dtype=np.float32)

    # ------------------------------------------------------------------ inference
    def _enums(self):
        dcrf = _dcrf()
        kernel = {'const': dcrf.CONST_KERNEL, 'diag': dcrf.DIAG_KERNEL, 'full': dcrf.FULL_KERNEL}[self.kernel]
        norm = {
            'none': dcrf.NO_NORMALIZATION,
            'before': dcrf.NORMALIZE_BEFORE,
            'after': dcrf.NORMALIZE_AFTER,
            'symmetric': dcrf.NORMALIZE_SYMMETRIC
        }[self.normalization]
        return dcrf, kernel, norm

    @staticmethod
    def _compat(compat):
        if isinstance(compat, (int, float, np.number)):
            return float(compat)
        return np.ascontiguousarray(compat, dtype=np.float32)

    def _sxy(self, sxy: Pair) -> Tuple[float, float]:
        if isinstance(sxy, (int, float, np.number)):
            sxy = (sxy, sxy)
        return (float(sxy[0]) / self.scale_factor, float(sxy[1]) / self.scale_factor)

    def __call__(self, img: np.ndarray, scores: np.ndarray, n_labels: Optional[int] = None,
                 name: str = '') -> np.ndarray:
        """Run the CRF.

        Args:
            img: uint8 ``(H, W, 3)`` RGB image at the resolution of ``scores``.
            scores: ``(n_labels, H, W)`` probabilities (``unary='prob'``) or an ``(H, W)`` label map
                (``unary='label'``).
            n_labels: number of labels; required for a label unary.
            name: file or image name, used in error messages.

        Returns:
            float32 ``(n_labels, H, W)`` marginals Q.
        """
        where = f'{name}: ' if name else ''
        img = self.check_image(img, name)
        scores = np.asarray(scores)
        h, w = img.shape[:2]
        if tuple(scores.shape[-2:]) != (h, w):
            raise ValueError(f'{where}image is {h}x{w} but the CRF scores are '
                             f'{scores.shape[-2]}x{scores.shape[-1]} (shape {scores.shape})')
        unary = self.unary_energy(scores, n_labels, name)
        n = unary.shape[0]
        dcrf, kernel, norm = self._enums()
        d = dcrf.DenseCRF2D(w, h, n)
        d.setUnaryEnergy(unary)
        if self.gaussian_sxy is not None:
            d.addPairwiseGaussian(sxy=self._sxy(self.gaussian_sxy), compat=self._compat(self.gaussian_compat),
                                  kernel=kernel, normalization=norm)
        if self.bilateral_sxy is not None:
            rgb = np.ascontiguousarray(img[..., ::-1]) if self.rgb_to_bgr else img
            srgb = self.bilateral_srgb
            srgb = float(srgb) if isinstance(srgb, (int, float, np.number)) else tuple(float(s) for s in srgb)
            d.addPairwiseBilateral(sxy=self._sxy(self.bilateral_sxy), srgb=srgb, rgbim=rgb,
                                   compat=self._compat(self.bilateral_compat), kernel=kernel, normalization=norm)
        q = d.inference(self.iterations)
        return np.asarray(q, dtype=np.float32).reshape(n, h, w)

    def label_map(self, img: np.ndarray, scores: np.ndarray, n_labels: Optional[int] = None,
                  name: str = '') -> np.ndarray:
        """Arg-max of the marginals, ``(H, W)`` int64 label indices (0..n_labels-1)."""
        return np.argmax(self(img, scores, n_labels, name), axis=0)


def psa_crf_labels(img: np.ndarray,
                   cams: np.ndarray,
                   class_ids: Sequence[int],
                   alpha: float,
                   crf: Optional[DenseCRF] = None,
                   name: str = '') -> Tuple[np.ndarray, np.ndarray]:
    """psa's ``_crf_with_alpha`` (affinitynet.md §5.2): the la/ha CRF marginals of one image.

    ``P = concat((1 - max_c cam_c) ** alpha, cams)`` (NOT renormalised), then the 'psa' CRF (10
    iterations, Gaussian 3/3, bilateral 80/13/10, unary -log(clip(P, 1e-5, 1))).

    Args:
        img: uint8 ``(H, W, 3)`` RGB original image.
        cams: ``(K, H, W)`` normalised CAMs of the present classes.
        class_ids: their label values (ascending), ``(K,)``.
        alpha: background power (la 4 / ha 32 in psa; see :data:`LA_HA_ALPHAS`).
        crf: the CRF to use (default ``DenseCRF.from_preset('psa')``).
        name: image name for error messages.

    Returns:
        ``(Q, label_ids)``: float32 ``(K + 1, H, W)`` marginals (channel 0 = background) and int64
        ``(K + 1,)`` label values ``[0, *class_ids]`` of the channels.
    """
    where = f'{name}: ' if name else ''
    cams = np.asarray(cams)
    ids = np.asarray(class_ids, dtype=np.int64).reshape(-1)
    if cams.ndim != 3 or cams.shape[0] != ids.shape[0]:
        raise ValueError(f'{where}{ids.shape[0]} class ids for CAMs of shape {cams.shape} (expected (K, H, W))')
    if ids.size and (ids.min() < 1 or np.any(np.diff(ids) <= 0)):
        raise ValueError(f'{where}class ids must be ascending label values >= 1, got {ids.tolist()}')
    if not np.issubdtype(cams.dtype, np.floating):
        raise ValueError(f'{where}CAMs must be floating point, got {cams.dtype}')
    probs = add_background(cams, psa_background(cams, alpha))
    crf = DenseCRF.from_preset('psa') if crf is None else crf
    if ids.size == 0:  # background only: the single label has marginal 1 everywhere
        img = DenseCRF.check_image(img, name)
        if img.shape[:2] != cams.shape[1:]:
            raise ValueError(f'{where}image is {img.shape[0]}x{img.shape[1]} but the CAMs are '
                             f'{cams.shape[1]}x{cams.shape[2]}')
        return np.ones((1, ) + img.shape[:2], np.float32), np.zeros(1, np.int64)
    q = crf(img, probs, name=name)
    return q, np.concatenate([[0], ids]).astype(np.int64)


def icd_seed_probabilities(seeds: np.ndarray, n_labels: int = 21, seed_weight: float = 0.5,
                           ignore_index: int = 255) -> np.ndarray:
    """ICD's CRF input probabilities from a seed label map (icd.md §5.2 step 9).

    Each pixel gets ``seed_weight`` on its seed label and ``seed_weight / n_labels`` on every other label,
    renormalised per pixel (21 labels: 0.5122 / 0.02439); ignore pixels get the uniform ``1 / n_labels``.
    Returns float32 ``(n_labels, H, W)``; feed it to ``DenseCRF.from_preset('icd')``.
    """
    seeds = np.asarray(seeds)
    if seeds.ndim != 2:
        raise ValueError(f'seeds must be an (H, W) label map, got shape {seeds.shape}')
    valid = seeds != ignore_index
    if np.any(seeds[valid] >= n_labels) or np.any(seeds[valid] < 0):
        raise ValueError(f'seed values {np.unique(seeds[valid & ((seeds >= n_labels) | (seeds < 0))]).tolist()} '
                         f'outside 0..{n_labels - 1} (ignore {ignore_index})')
    h, w = seeds.shape
    prob = np.full((n_labels, h, w), seed_weight / n_labels, dtype=np.float64)
    yy, xx = np.nonzero(valid)
    prob[seeds[valid].astype(np.int64), yy, xx] = seed_weight
    prob /= prob.sum(axis=0, keepdims=True)
    prob[:, ~valid] = 1.0 / n_labels
    return prob.astype(np.float32)


def marginals_to_label_map(q: np.ndarray,
                           label_ids: Optional[Sequence[int]] = None,
                           renormalize: bool = False,
                           min_prob: Optional[float] = None,
                           ignore_index: int = 255) -> np.ndarray:
    """Arg-max of CRF marginals ``(n, H, W)`` as a label map.

    Args:
        q: marginals.
        label_ids: label value of each channel (default ``0..n-1``).
        renormalize: divide by the per-pixel sum first (ICD).
        min_prob: pixels whose maximal (renormalised) probability is below it become ``ignore_index``
            (ICD: 0.1).

    Returns:
        ``uint8`` ``(H, W)`` when every value fits, else int64.
    """
    q = np.asarray(q, dtype=np.float64)
    if q.ndim != 3:
        raise ValueError(f'marginals must be (n, H, W), got shape {q.shape}')
    if renormalize:
        q = q / np.maximum(q.sum(axis=0, keepdims=True), 1e-12)
    ids = np.arange(q.shape[0]) if label_ids is None else np.asarray(label_ids, dtype=np.int64)
    if ids.shape != (q.shape[0], ):
        raise ValueError(f'{len(ids)} label ids for {q.shape[0]} channels')
    top = max(int(ids.max(initial=0)), ignore_index if min_prob is not None else 0)
    lab = ids[np.argmax(q, axis=0)].astype(np.uint8 if top < 256 else np.int64)
    if min_prob is not None:
        lab[q.max(axis=0) < min_prob] = ignore_index
    return lab
