"""PCM (SEAM Net.PCM, used twice by RTC's FCM) against its formula (rtc.md §2.2 step 4)."""
import math

import numpy as np
import torch

from mmwsss.models.utils import pcm_refine

E = 1e-5


def _pcm_reference(seed: np.ndarray, feat: np.ndarray) -> np.ndarray:
    """Spec formula with explicit loops: f̂ = f / (|f| + e); S = ReLU(f̂ᵀ f̂); S_ij /= (sum_i S_ij + e)."""
    c, h, w = seed.shape
    d = feat.shape[0]
    f = feat.reshape(d, -1)
    f = f / (np.sqrt((f**2).sum(0, keepdims=True)) + E)
    hw = h * w
    s = np.zeros((hw, hw))
    for i in range(hw):
        for j in range(hw):
            s[i, j] = max(0.0, float(f[:, i] @ f[:, j]))
    s = s / (s.sum(0, keepdims=True) + E)
    out = np.zeros((c, hw))
    for j in range(hw):
        for i in range(hw):
            out[:, j] += seed.reshape(c, -1)[:, i] * s[i, j]
    return out.reshape(c, h, w)


def test_pcm_hand_case_orthogonal_and_opposite_features():
    # pixels: f0 = (1, 0), f1 = (0, 1), f2 = (-1, 0): no positive correlation between different pixels
    feat = torch.tensor([[[[1., 0., -1.]], [[0., 1., 0.]]]], dtype=torch.float64)
    seed = torch.tensor([[[[0.2, 0.5, 0.9]]]], dtype=torch.float64)
    s_ii = 1 / (1 + E)**2
    factor = s_ii / (s_ii + E)
    torch.testing.assert_close(pcm_refine(seed, feat), seed * factor)


def test_pcm_hand_case_identical_features_average():
    feat = torch.ones(1, 2, 1, 2, dtype=torch.float64)
    seed = torch.tensor([[[[0.0, 1.0]]]], dtype=torch.float64)
    s = 2 / (math.sqrt(2) + E)**2  # every pair, self included
    expected = (0.0 + 1.0) * s / (2 * s + E)
    torch.testing.assert_close(pcm_refine(seed, feat), torch.full_like(seed, expected))


def test_pcm_matches_loop_reference():
    rng = np.random.default_rng(0)
    seed = rng.random((2, 3, 2, 3))
    feat = rng.standard_normal((2, 4, 2, 3))
    out = pcm_refine(torch.from_numpy(seed), torch.from_numpy(feat)).numpy()
    for n in range(2):
        np.testing.assert_allclose(out[n], _pcm_reference(seed[n], feat[n]), rtol=1e-10, atol=1e-12)
