"""CAM normalisation, background rules and label maps against hand-computed values."""
import numpy as np
import pytest
import torch

from mmwsss.refinement.cam_utils import (add_background, cams_to_label_map, max_normalize, psa_background,
                                         scores_to_label_map, sum_background, threshold_background)

# two classes on a 2x2 image
CAMS = np.array([[[0.0, 2.0], [4.0, 1.0]],
                 [[0.0, 0.5], [0.25, 0.0]]], dtype=np.float32)


def test_max_normalize_numpy_matches_psa_formula():
    out = max_normalize(CAMS)
    expected = np.array([[[0, 2 / 4.00001], [4 / 4.00001, 1 / 4.00001]],
                         [[0, 0.5 / 0.50001], [0.25 / 0.50001, 0]]])
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert out.dtype == np.float32


def test_max_normalize_torch_batched():
    t = torch.from_numpy(np.stack([CAMS, 2 * CAMS]))  # (B=2, K=2, 2, 2)
    out = max_normalize(t)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 2, 2, 2)
    # each (image, class) map is divided by its own maximum + 1e-5
    assert out[0, 0, 1, 0].item() == pytest.approx(4 / 4.00001, rel=1e-6)
    assert out[1, 0, 1, 0].item() == pytest.approx(8 / 8.00001, rel=1e-6)
    assert out[1, 1, 0, 1].item() == pytest.approx(1 / 1.00001, rel=1e-6)


def test_psa_background_formula():
    cams = np.array([[[0.5, 1.0], [0.0, 0.1]],
                     [[0.2, 0.3], [0.0, 0.4]]], dtype=np.float32)
    bg = psa_background(cams, alpha=4)
    assert bg.shape == (1, 2, 2)
    # (1 - max)^4: max = 0.5, 1.0, 0.0, 0.4
    np.testing.assert_allclose(bg[0], [[0.0625, 0.0], [1.0, 0.6 ** 4]], rtol=1e-6)
    bg_t = psa_background(torch.from_numpy(cams)[None], alpha=32)
    assert bg_t.shape == (1, 1, 2, 2)
    assert bg_t[0, 0, 0, 0].item() == pytest.approx(0.5 ** 32, rel=1e-5)
    # no class at all: background everywhere
    np.testing.assert_array_equal(psa_background(np.zeros((0, 2, 3), np.float32), 4), np.ones((1, 2, 3)))


def test_threshold_and_sum_background():
    np.testing.assert_array_equal(threshold_background(CAMS, 0.2), np.full((1, 2, 2), np.float32(0.2)))
    cams = np.array([[[0.3, 0.0]], [[0.0, 0.6]]], dtype=np.float32)
    np.testing.assert_allclose(sum_background(cams), [[[0.7, 0.4]]], rtol=1e-6)


def test_scores_to_label_map_ids_and_ties():
    # channels: bg, class 3, class 7
    scores = np.array([[[0.5, 0.2, 0.1, 0.3]],
                       [[0.5, 0.9, 0.4, 0.3]],
                       [[0.1, 0.9, 0.8, 0.3]]], dtype=np.float32)
    lab = scores_to_label_map(scores, [3, 7])
    # tie bg/class -> bg; tie class 3/class 7 -> 3; clear winner 7; three-way tie -> bg
    np.testing.assert_array_equal(lab, [[0, 3, 7, 0]])
    assert lab.dtype == np.uint8
    lab_t = scores_to_label_map(torch.from_numpy(scores), torch.tensor([3, 7]))
    assert lab_t.tolist() == [[0, 3, 7, 0]]


def test_cams_to_label_map_threshold_is_background_on_equality():
    cams = np.array([[[0.2, 0.21, 0.1]]], dtype=np.float32)
    np.testing.assert_array_equal(cams_to_label_map(cams, [5], 0.2), [[0, 5, 0]])
    np.testing.assert_array_equal(cams_to_label_map(torch.from_numpy(cams), [5], 0.2).numpy(), [[0, 5, 0]])


def test_add_background_not_renormalised():
    cams = np.array([[[0.5]], [[0.2]]], dtype=np.float32)
    p = add_background(cams, psa_background(cams, 4))
    np.testing.assert_allclose(p[:, 0, 0], [0.0625, 0.5, 0.2], rtol=1e-6)  # sums to 0.7625, kept as is


def test_bad_inputs():
    with pytest.raises(ValueError, match='shape'):
        max_normalize(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match='class ids'):
        scores_to_label_map(np.zeros((3, 2, 2), np.float32), [1])
    with pytest.raises(ValueError, match='does not fit'):
        add_background(CAMS, np.zeros((1, 3, 3), np.float32))
