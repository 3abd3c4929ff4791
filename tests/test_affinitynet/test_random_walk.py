"""psa pair geometry, pair labels and random walk (affinitynet.md §2.5, §4.3, §5.3) against brute-force
implementations written from the spec's formulas and hand-computed cases."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmwsss.refinement.random_walk import (AFF_BG_POS, AFF_FG_POS, AFF_IGNORE, AFF_NEG, RW_PRESETS, RandomWalk,
                                           affinity_to_dense, pair_affinities, pair_indices, pair_label_codes,
                                           radius_offsets, random_walk_label_map, rw_preset, rw_scores_from_cams,
                                           transition_stencil)


# ------------------------------------------------------------------------------------------------ brute force
def brute_pairs(h, w, r):
    """[(from (y, x), to (y, x))] per offset, from the spec's description (rows 0..h-r, cols r-1..w-r)."""
    offsets = [(0, dx) for dx in range(1, r)]
    offsets += [(dy, dx) for dy in range(1, r) for dx in range(-r + 1, r) if dx * dx + dy * dy < r * r]
    froms = [(y, x) for y in range(0, h - r + 1) for x in range(r - 1, w - r + 1)]
    return offsets, froms


def brute_dense(aff, h, w, r):
    """psa's dense affinity matrix (float64) from (K, P) affinities by explicit loops."""
    offsets, froms = brute_pairs(h, w, r)
    a = np.zeros((h * w, h * w))
    for k, (dy, dx) in enumerate(offsets):
        for p, (y, x) in enumerate(froms):
            i, j = y * w + x, (y + dy) * w + x + dx
            a[i, j] = a[j, i] = aff[k, p]
    a[np.arange(h * w), np.arange(h * w)] = 1
    return a


def brute_walk(aff, scores, r, beta, logt):
    """R = V @ (A**beta / colsum)^(2**logt), float64."""
    c, h, w = scores.shape
    a = brute_dense(np.asarray(aff, np.float64), h, w, r) ** beta
    t = a / a.sum(axis=0, keepdims=True)
    tt = np.linalg.matrix_power(t, 2**logt)
    return (np.asarray(scores, np.float64).reshape(c, -1) @ tt).reshape(c, h, w)


# ------------------------------------------------------------------------------------------------ geometry
def test_radius5_offsets_match_psa_order_and_count():
    offs = radius_offsets(5)
    assert len(offs) == 34
    assert offs[:4] == ((0, 1), (0, 2), (0, 3), (0, 4))
    assert offs[4:13] == tuple((1, dx) for dx in range(-4, 5))
    assert offs[13:22] == tuple((2, dx) for dx in range(-4, 5))
    assert offs[22:29] == tuple((3, dx) for dx in range(-3, 4))
    assert offs[29:] == tuple((4, dx) for dx in range(-2, 3))
    with pytest.raises(ValueError):
        radius_offsets(1)


@pytest.mark.parametrize('h,w,r', [(56, 56, 5), (7, 12, 3), (6, 9, 5), (5, 5, 2)])
def test_pair_indices_match_spec(h, w, r):
    src, dst = pair_indices((h, w), r)
    offsets, froms = brute_pairs(h, w, r)
    assert src.tolist() == [y * w + x for y, x in froms]
    assert dst.tolist() == [(y + dy) * w + x + dx for dy, dx in offsets for y, x in froms]
    if (h, w, r) == (56, 56, 5):
        assert src.numel() == 2496 and dst.numel() == 34 * 2496


def test_too_small_grid_raises():
    with pytest.raises(ValueError, match='too small for pair radius 5'):
        pair_indices((8, 8), 5)  # psa's radius on a 64-px crop: no column of from pixels
    with pytest.raises(ValueError, match='too small'):
        pair_label_codes(np.zeros((4, 20), np.uint8), 5)


def test_pair_affinities_brute_force():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 5, 6, 9, generator=g)
    aff = pair_affinities(feats, 3)
    offsets, froms = brute_pairs(6, 9, 3)
    assert aff.shape == (2, len(offsets), len(froms))
    for b in range(2):
        for k, (dy, dx) in enumerate(offsets):
            for p, (y, x) in enumerate(froms):
                expect = torch.exp(-(feats[b, :, y, x] - feats[b, :, y + dy, x + dx]).abs().mean())
                assert aff[b, k, p].item() == pytest.approx(expect.item(), rel=1e-6)


def test_affinity_to_dense_matches_brute_force():
    aff = torch.rand(len(radius_offsets(3)), 4 * 5, generator=torch.Generator().manual_seed(1))
    dense = affinity_to_dense(aff, (6, 9), 3)
    np.testing.assert_allclose(dense.numpy(), brute_dense(aff.numpy(), 6, 9, 3), rtol=1e-7)
    with pytest.raises(ValueError, match='do not fit'):
        affinity_to_dense(aff[:, :-1], (6, 9), 3)


# ------------------------------------------------------------------------------------------------ pair labels
def test_pair_label_codes_brute_force():
    # psa t6 check: a random 16x16 map of 0/1/2/255
    rng = np.random.default_rng(0)
    label = rng.choice(np.array([0, 1, 2, 255], np.uint8), size=(16, 16))
    codes = pair_label_codes(label, 5)
    offsets, froms = brute_pairs(16, 16, 5)
    for k, (dy, dx) in enumerate(offsets):
        for p, (y, x) in enumerate(froms):
            a, b = int(label[y, x]), int(label[y + dy, x + dx])
            if a == b == 0:
                expect = AFF_BG_POS
            elif a == b and a != 255:
                expect = AFF_FG_POS
            elif a != b and a != 255 and b != 255:
                expect = AFF_NEG
            else:
                expect = AFF_IGNORE
            assert codes[k, p] == expect, (k, p, a, b)
    assert set(np.unique(codes)) == {AFF_IGNORE, AFF_BG_POS, AFF_FG_POS, AFF_NEG}


# ------------------------------------------------------------------------------------------------ random walk
def test_transition_hand_computed_2x3_radius2():
    # radius 2: offsets (0,1), (1,-1), (1,0), (1,1); on a 2x3 grid the only from pixel is (0,1) = node 1,
    # paired with nodes 2, 3, 4, 5. Node 0 is isolated.
    assert radius_offsets(2) == ((0, 1), (1, -1), (1, 0), (1, 1))
    a = torch.tensor([[0.5], [0.25], [0.75], [1.0]])
    beta = 2
    v = torch.zeros(1, 2, 3)
    v[0, 0, 1] = 1.0  # unit mass on node 1
    out = RandomWalk(beta=beta, logt=0, radius=2)(a, v)  # one step: R = V T
    ab = (a[:, 0]**beta).tolist()
    expect = torch.zeros(6)
    expect[1] = 1 / (1 + sum(ab))  # T[1, 1] = A[1, 1] / colsum_1
    for node, x in zip((2, 3, 4, 5), ab):
        expect[node] = x / (1 + x)  # T[1, j] = a^beta / (1 + a^beta): column j holds the diagonal and a
    torch.testing.assert_close(out.flatten(), expect, rtol=1e-6, atol=1e-7)
    w = transition_stencil(a[None], (2, 3), 2, beta)
    torch.testing.assert_close(w.sum(1), torch.ones(1, 2, 3))


@pytest.mark.parametrize('method', ['stencil', 'dense'])
@pytest.mark.parametrize('logt', [0, 3])
def test_random_walk_matches_brute_force(method, logt):
    g = torch.Generator().manual_seed(2)
    h, w, r = 6, 9, 3
    aff = torch.rand(2, len(radius_offsets(r)), (h - r + 1) * (w - 2 * r + 2), generator=g)
    scores = torch.rand(2, 4, h, w, generator=g)
    out = RandomWalk(beta=8, logt=logt, radius=r, method=method)(aff, scores)
    for b in range(2):
        ref = brute_walk(aff[b].numpy(), scores[b].numpy(), r, 8, logt)
        np.testing.assert_allclose(out[b].numpy(), ref, rtol=2e-4, atol=1e-6)


def test_random_walk_stencil_equals_dense_with_psa_parameters():
    # radius 5, beta 8, logt 8 (t = 256) on a 32 x 32 grid (a 256 px image), region-structured features
    g = torch.Generator().manual_seed(3)
    region = torch.zeros(32, 32, dtype=torch.long)
    region[4:22, 2:17] = 1
    region[14:30, 17:31] = 2
    feats = (torch.randn(3, 16, generator=g)[region].permute(2, 0, 1) + 0.2 * torch.randn(16, 32, 32, generator=g))
    aff = pair_affinities(feats[None], 5)
    scores = torch.rand(1, 3, 32, 32, generator=g)
    fast = RandomWalk(method='stencil')(aff, scores)
    psa = RandomWalk(method='dense')(aff, scores)
    torch.testing.assert_close(fast, psa, rtol=1e-3, atol=1e-5)
    assert (fast.argmax(1) == psa.argmax(1)).float().mean() > 0.999


def test_random_walk_batch_equals_single_images():
    g = torch.Generator().manual_seed(4)
    aff = torch.rand(3, 12, 20, generator=g)  # radius 3 on 6x9: 4 x 5 from pixels
    scores = torch.rand(3, 2, 6, 9, generator=g)
    walk = RandomWalk(beta=4, logt=2, radius=3)
    batch = walk(aff, scores)
    for b in range(3):
        torch.testing.assert_close(batch[b], walk(aff[b], scores[b]))


def test_rw_presets():
    assert rw_preset('psa') == dict(alpha=16, beta=8, logt=8, radius=5)
    assert rw_preset('sbnet') == rw_preset('icam') == dict(alpha=6, beta=8, logt=6, radius=5)
    assert rw_preset('sccam') == rw_preset('psa')
    assert set(RW_PRESETS) >= {'psa', 'sccam', 'seam', 'sbnet', 'icam'}
    with pytest.raises(KeyError, match='unknown random-walk preset'):
        rw_preset('nope')


# ------------------------------------------------------------------------------------------------ CAMs -> labels
def test_rw_scores_from_cams_hand_computed():
    cams = torch.zeros(2, 3, 6)
    cams[0, :, :2] = 1.0
    cams[1, :, 4:] = 0.5
    out = rw_scores_from_cams(cams, alpha=2, stride=4)  # padded to 4 x 8, pooled to 1 x 2
    assert out.shape == (3, 1, 2)
    # block 0 = rows 0..3, cols 0..3: 12 image pixels + 4 padded zeros
    bg = (1 - cams.max(0).values)**2
    assert out[0, 0, 0].item() == pytest.approx(bg[:, :4].sum().item() / 16)
    assert out[1, 0, 0].item() == pytest.approx(6 / 16)  # 6 pixels of 1.0
    # block 1 = cols 4..7: 6 image pixels (cols 4, 5), bg = 0.25 there, class 2 = 0.5
    assert out[0, 0, 1].item() == pytest.approx(6 * 0.25 / 16)
    assert out[2, 0, 1].item() == pytest.approx(6 * 0.5 / 16)


def test_random_walk_label_map_equals_psa_21_channel_pipeline():
    """Only the present classes are walked; psa walks 21 channels with zeros for absent classes. Same labels."""
    g = torch.Generator().manual_seed(5)
    H, W, r, stride = 37, 45, 3, 8  # padded to 40 x 48 -> 5 x 6 grid
    h, w = 5, 6
    aff = torch.rand(len(radius_offsets(r)), (h - r + 1) * (w - 2 * r + 2), generator=g)
    cams = torch.rand(2, H, W, generator=g)
    ids = [3, 7]
    labels = random_walk_label_map(aff, cams, ids, (H, W), alpha=4, walk=RandomWalk(beta=8, logt=2, radius=r))
    # psa infer_aff.py with 21 channels, written out (dense matrix, float64)
    full = np.zeros((21, H, W))
    full[3], full[7] = cams[0].numpy(), cams[1].numpy()
    full[0] = (1 - full[1:].max(axis=0))**4
    full = np.pad(full, ((0, 0), (0, 40 - H), (0, 48 - W)))
    pooled = full.reshape(21, h, stride, w, stride).mean(axis=(2, 4))
    walked = brute_walk(aff.numpy(), pooled, r, 8, 2)
    up = F.interpolate(torch.from_numpy(walked)[None], size=(40, 48), mode='bilinear', align_corners=False)[0]
    ref = up.argmax(0)[:H, :W]
    assert labels.dtype == torch.long and labels.shape == (H, W)
    assert torch.equal(labels, ref)
    assert set(labels.unique().tolist()) <= {0, 3, 7}


def test_random_walk_label_map_batched_lists():
    g = torch.Generator().manual_seed(6)
    aff = torch.rand(2, 12, 20, generator=g)  # radius 3 on a 6 x 9 grid -> image up to 48 x 72
    cams = [torch.rand(1, 44, 70, generator=g), torch.rand(3, 44, 70, generator=g)]
    ids = [[2], [1, 4, 5]]
    walk = RandomWalk(beta=8, logt=3, radius=3)
    batch = random_walk_label_map(aff, cams, ids, (44, 70), 6, walk)
    for b in range(2):
        assert torch.equal(batch[b], random_walk_label_map(aff[b], cams[b], ids[b], (44, 70), 6, walk))
    with pytest.raises(ValueError, match='do not match the image size'):
        random_walk_label_map(aff[0], cams[0][:, :40], ids[0], (44, 70), 6, walk)
