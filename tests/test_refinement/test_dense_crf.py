"""DenseCRF wrapper: unary formulas, behaviour known by construction, presets, la/ha rule, bad inputs."""
import numpy as np
import pytest

pytest.importorskip('pydensecrf.densecrf')

from mmwsss.refinement.dense_crf import (CRF_PRESETS, DenseCRF, icd_seed_probabilities,  # noqa: E402
                                         marginals_to_label_map, psa_crf_labels)


def unary_only(**kw) -> DenseCRF:
    """A CRF without pairwise terms: mean field then gives Q = exp(-U) / Z exactly."""
    return DenseCRF(gaussian_sxy=None, bilateral_sxy=None, **kw)


def test_prob_unary_is_minus_log_clipped_probability():
    p = np.array([[[0.7, 0.0, 1.5]], [[0.3, 1.0, 2e-6]]], dtype=np.float32)  # (2, 1, 3)
    u = DenseCRF().unary_energy(p)
    expected = np.array([[-np.log(0.7), -np.log(1e-5), 0.0],  # 0 -> clip 1e-5; 1.5 -> clip 1 (no renorm)
                         [-np.log(0.3), 0.0, -np.log(1e-5)]])
    assert u.shape == (2, 3) and u.dtype == np.float32 and u.flags['C_CONTIGUOUS']
    np.testing.assert_allclose(u, expected, rtol=1e-6)


def test_label_unary_gt_prob_and_ignore():
    labels = np.array([[0, 1], [2, 255]])
    crf = DenseCRF(unary='label', gt_prob=0.7, ignore_index=255)
    u = crf.unary_energy(labels, n_labels=3)
    lo, hi, uni = -np.log(0.7), -np.log(0.15), -np.log(1 / 3)
    expected = np.array([[lo, hi, hi, uni],
                         [hi, lo, hi, uni],
                         [hi, hi, lo, uni]])
    np.testing.assert_allclose(u, expected, rtol=1e-6)
    # pydensecrf's raw convention: 0 = unsure, v = label v - 1
    raw = DenseCRF(unary='label', gt_prob=0.7, zero_unsure=True).unary_energy(np.array([[0, 1, 3]]), 3)
    np.testing.assert_allclose(raw[:, 0], [uni] * 3, rtol=1e-6)
    np.testing.assert_allclose(raw[:, 1], [lo, hi, hi], rtol=1e-6)
    np.testing.assert_allclose(raw[:, 2], [hi, hi, lo], rtol=1e-6)
    with pytest.raises(ValueError, match=r'\[255\].*ignore_index'):
        DenseCRF(unary='label', gt_prob=0.7).unary_energy(labels, 3)


def test_unary_only_marginals_are_normalised_probabilities():
    # 2 labels on a 2x3 image with distinct values per pixel: checks the (n, H, W) layout as well
    p = np.array([[[0.6, 0.5, 0.9], [0.1, 0.3, 0.25]],
                  [[0.2, 0.5, 0.1], [0.3, 0.1, 0.25]]], dtype=np.float32)
    img = np.zeros((2, 3, 3), np.uint8)
    q = unary_only(iterations=5)(img, p)
    assert q.shape == (2, 2, 3) and q.dtype == np.float32
    np.testing.assert_allclose(q, p / p.sum(0, keepdims=True), rtol=1e-5)


def _two_colour_scene():
    """8x8 image of colour B labelled 1, a 3x3 block of colour A labelled 0 at the top-left, and one
    pixel of colour A at the bottom-right corner whose unary is flat."""
    a, b = (250, 20, 20), (20, 20, 250)
    img = np.empty((8, 8, 3), np.uint8)
    img[:] = b
    img[:3, :3] = a
    img[7, 7] = a
    p = np.empty((2, 8, 8), np.float32)
    p[0], p[1] = 0.1, 0.9
    p[0, :3, :3], p[1, :3, :3] = 0.9, 0.1
    p[:, 7, 7] = 0.5
    return img, p


def test_flat_pixel_adopts_label_of_same_colour_pixels_under_bilateral_kernel():
    img, p = _two_colour_scene()
    crf = DenseCRF(gaussian_sxy=None, bilateral_sxy=80, bilateral_srgb=13, bilateral_compat=10, iterations=10)
    lab = crf.label_map(img, p)
    expected = np.ones((8, 8), int)
    expected[:3, :3] = 0
    expected[7, 7] = 0  # same colour as the label-0 block, far away in space
    np.testing.assert_array_equal(lab, expected)


def test_flat_pixel_adopts_spatial_neighbours_under_gaussian_kernel():
    img, p = _two_colour_scene()
    crf = DenseCRF(gaussian_sxy=1, gaussian_compat=3, bilateral_sxy=None, iterations=10)
    lab = crf.label_map(img, p)
    expected = np.ones((8, 8), int)
    expected[:3, :3] = 0  # confident pixels keep their label
    np.testing.assert_array_equal(lab, expected)


def test_psa_crf_labels_background_formula_and_ids():
    cams = np.array([[[0.5, 0.0], [1.0, 0.3]],
                     [[0.2, 0.0], [0.0, 0.6]]], dtype=np.float32)
    img = np.zeros((2, 2, 3), np.uint8)
    q, ids = psa_crf_labels(img, cams, [3, 7], alpha=4, crf=unary_only())
    assert ids.tolist() == [0, 3, 7]
    # P = [(1 - max)^4, cams], not renormalised, clipped at 1e-5, then Q = P / sum(P)
    bg = (1 - np.maximum(cams[0], cams[1])) ** 4
    p = np.clip(np.stack([bg, cams[0], cams[1]]), 1e-5, 1)
    np.testing.assert_allclose(q, p / p.sum(0), rtol=1e-5)
    # pixel (0, 0): 0.0625, 0.5, 0.2 -> divided by 0.7625
    np.testing.assert_allclose(q[:, 0, 0], np.array([0.0625, 0.5, 0.2]) / 0.7625, rtol=1e-5)


def test_psa_crf_labels_default_is_psa_preset():
    img, p = _two_colour_scene()
    cams = p[1:2]  # one class, label value 4
    q, ids = psa_crf_labels(img, cams, [4], alpha=4)
    assert q.shape == (2, 8, 8) and ids.tolist() == [0, 4]
    np.testing.assert_allclose(q.sum(0), 1, rtol=1e-5)


def test_presets_hold_the_spec_values():
    psa = DenseCRF.from_preset('psa')  # affinitynet.md §5.2
    assert (psa.unary, psa.iterations, psa.prob_clip) == ('prob', 10, 1e-5)
    assert (psa.gaussian_sxy, psa.gaussian_compat) == (3, 3)
    assert (psa.bilateral_sxy, psa.bilateral_srgb, psa.bilateral_compat) == (80, 13, 10)
    assert (psa.kernel, psa.normalization, psa.scale_factor) == ('diag', 'symmetric', 1.0)
    rtc = DenseCRF.from_preset('rtc')  # rtc.md §5
    assert (rtc.unary, rtc.gt_prob, rtc.zero_unsure, rtc.iterations) == ('label', 0.7, False, 10)
    assert (rtc.gaussian_sxy, rtc.gaussian_compat, rtc.bilateral_sxy, rtc.bilateral_srgb,
            rtc.bilateral_compat) == (3, 3, 50, 5, 10)
    v1 = DenseCRF.from_preset('deeplab-v1')  # deeplab_final.md §3, icam.md §5.3
    assert (v1.iterations, v1.bilateral_sxy, v1.bilateral_srgb, v1.bilateral_compat) == (1, 32, 13, 10)
    v2 = DenseCRF.from_preset('deeplab-v2')  # deeplab_final.md §2.4
    assert (v2.iterations, v2.gaussian_sxy, v2.gaussian_compat, v2.bilateral_sxy, v2.bilateral_srgb,
            v2.bilateral_compat) == (10, 1, 3, 67, 3, 4)
    ppmg = DenseCRF.from_preset('pmm-ppmg')  # extended_training.md §6
    assert (ppmg.gaussian_compat, ppmg.rgb_to_bgr) == (10, True)
    for alias in ('sccam', 'sbnet', 'seam', 'icam'):
        assert DenseCRF.preset_kwargs(alias) == DenseCRF.preset_kwargs('psa')
    assert DenseCRF.preset_kwargs('icam-test') == DenseCRF.preset_kwargs('deeplab-v1')
    assert DenseCRF.from_preset('psa', iterations=3).iterations == 3
    assert set(CRF_PRESETS) >= {'psa', 'rtc', 'icd', 'sccam', 'sbnet', 'icam', 'deeplab-v1', 'deeplab-v2'}
    with pytest.raises(KeyError, match='unknown CRF preset'):
        DenseCRF.from_preset('nope')


def test_icd_seed_probabilities_and_label_rule():
    seeds = np.array([[0, 2, 255]])
    p = icd_seed_probabilities(seeds, n_labels=21)
    np.testing.assert_allclose(p[0, 0, 0], 21 / 41, rtol=1e-6)  # 0.5 / (0.5 + 20 * 0.5 / 21)
    np.testing.assert_allclose(p[1, 0, 0], 1 / 41, rtol=1e-6)
    np.testing.assert_allclose(p[2, 0, 1], 21 / 41, rtol=1e-6)
    np.testing.assert_allclose(p[:, 0, 2], np.full(21, 1 / 21), rtol=1e-6)
    q = np.array([[[0.6, 0.05]], [[0.3, 0.08]], [[0.1, 0.07]]])
    np.testing.assert_array_equal(marginals_to_label_map(q, [0, 4, 9], min_prob=0.1), [[0, 255]])
    # renormalised first: (0.05, 0.08, 0.07) / 0.2 -> max 0.4 >= 0.1 -> label 4
    np.testing.assert_array_equal(marginals_to_label_map(q, [0, 4, 9], renormalize=True, min_prob=0.1), [[0, 4]])


def test_bad_inputs_give_clear_errors():
    crf = DenseCRF.from_preset('psa')
    p = np.full((2, 4, 5), 0.5, np.float32)
    with pytest.raises(ValueError, match='img1.*uint8.*float32'):
        crf(np.zeros((4, 5, 3), np.float32), p, name='img1')
    with pytest.raises(ValueError, match=r'shape \(4, 5\)'):
        crf(np.zeros((4, 5), np.uint8), p)
    with pytest.raises(ValueError, match=r'a\.jpg: image is 6x5 but the CRF scores are 4x5'):
        crf(np.zeros((6, 5, 3), np.uint8), p, name='a.jpg')
    with pytest.raises(ValueError, match='NaN'):
        crf(np.zeros((4, 5, 3), np.uint8), np.full((2, 4, 5), np.nan, np.float32))
    with pytest.raises(ValueError, match='class ids'):
        psa_crf_labels(np.zeros((4, 5, 3), np.uint8), p, [1], alpha=4)
    with pytest.raises(ValueError, match='kernel'):
        DenseCRF(kernel='round')
    with pytest.raises(ValueError, match='gt_prob'):
        DenseCRF(unary='label', gt_prob=1.0)


def test_psa_crf_labels_without_classes_is_all_background():
    q, ids = psa_crf_labels(np.zeros((3, 4, 3), np.uint8), np.zeros((0, 3, 4), np.float32), [], alpha=4)
    assert ids.tolist() == [0]
    np.testing.assert_array_equal(q, np.ones((1, 3, 4), np.float32))
