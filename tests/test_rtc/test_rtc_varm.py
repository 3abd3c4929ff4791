"""VARM against the spec's formulas (rtc.md §2.3) with an independent per-pixel loop implementation."""
import numpy as np
import torch

from mmwsss.models.utils import NEIGHBOR_OFFSETS, VARM, dilated_neighbors


def test_dilated_neighbors_replicate_clamping():
    x = torch.arange(12.).reshape(1, 1, 3, 4)
    nb = dilated_neighbors(x, (1, 2))[0, 0]  # (16, 3, 4)
    assert nb.shape == (16, 3, 4)
    assert NEIGHBOR_OFFSETS[0] == (-1, -1) and NEIGHBOR_OFFSETS[4] == (0, 1) and NEIGHBOR_OFFSETS[7] == (1, 1)
    assert nb[0, 0, 0] == 0 and nb[0, 1, 1] == 0 and nb[0, 2, 3] == 6  # (-1, -1), d = 1
    assert nb[4, 1, 3] == 7  # (0, +1) at the right border: clamped to itself
    assert nb[8 + 7, 0, 0] == 10 and nb[8 + 7, 2, 3] == 11  # (+1, +1), d = 2


def _varm_reference(img: np.ndarray, mask: np.ndarray, dilations, iters: int) -> np.ndarray:
    """Spec: a_n = mean_c -(4 |N_n - I| / (std_n + 1e-8))^2, g_n = mean_c (N_n - N_n[y+1])^2 + (N_n -
    N_n[x+1])^2 (last row/column repeated), w = softmax(a) - 0.01 softmax(g), M <- sum_n N(M)_n w_n."""
    c, h, w = img.shape
    offs = [(dy * d, dx * d) for d in dilations for dy, dx in NEIGHBOR_OFFSETS]

    def at(arr, y, x):
        return arr[..., min(max(y, 0), h - 1), min(max(x, 0), w - 1)]

    weights = np.zeros((len(offs), h, w))
    for y in range(h):
        for x in range(w):
            nb = np.stack([at(img, y + oy, x + ox) for oy, ox in offs], axis=1)  # (c, K)
            std = nb.std(axis=1, ddof=1, keepdims=True)
            a = (-(4 * np.abs(nb - img[:, y, x][:, None]) / (std + 1e-8))**2).mean(0)
            g = np.zeros(len(offs))
            for n, (oy, ox) in enumerate(offs):
                here = at(img, y + oy, x + ox)
                down = at(img, min(y + 1, h - 1) + oy, x + ox)
                right = at(img, y + oy, min(x + 1, w - 1) + ox)
                g[n] = ((here - down)**2 + (here - right)**2).mean()
            sa = np.exp(a - a.max())
            sg = np.exp(g - g.max())
            weights[:, y, x] = sa / sa.sum() - 0.01 * sg / sg.sum()
    m = mask.copy()
    for _ in range(iters):
        new = np.zeros_like(m)
        for y in range(h):
            for x in range(w):
                for n, (oy, ox) in enumerate(offs):
                    new[:, y, x] += at(m, y + oy, x + ox) * weights[n, y, x]
        m = new
    return m


def test_varm_matches_loop_reference():
    rng = np.random.default_rng(0)
    img = rng.random((3, 4, 5))
    mask = rng.random((2, 4, 5))
    varm = VARM(num_iter=2, dilations=(1, 2))
    out = varm(torch.from_numpy(img)[None], torch.from_numpy(mask)[None])[0].numpy()
    np.testing.assert_allclose(out, _varm_reference(img, mask, (1, 2), 2), rtol=1e-9, atol=1e-12)


def test_varm_weights_sum_to_099_and_mass_shrinks():
    torch.manual_seed(0)
    img = torch.rand(1, 3, 10, 12)
    varm = VARM()  # RTC: 10 iterations, dilations 1, 2, 4, 8, 12, 24
    torch.testing.assert_close(varm.affinity(img).sum(dim=2), torch.full((1, 1, 10, 12), 0.99))
    out = varm(img, torch.ones(1, 2, 10, 12))
    torch.testing.assert_close(out, torch.full_like(out, 0.99**10))  # rtc.md §8: mean mass 0.904383


def test_varm_resizes_masks_to_the_image_align_corners():
    img = torch.rand(1, 3, 4, 4)
    masks = torch.tensor([[[[0., 1.], [2., 3.]]]])
    out = VARM(num_iter=0)(img, masks)
    torch.testing.assert_close(out[0, 0, 0], torch.tensor([0., 1 / 3, 2 / 3, 1.]))
