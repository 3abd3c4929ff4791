"""YudeWang DeepLab training transforms (deeplab_final.md §3): RandomHSVShift and RandomScaleFactor.

Expected values are computed by hand from OpenCV's HSV definition (uint8: H = degrees / 2 in 0..179, S and V in
0..255) and cv2's nearest-neighbour / rounding rules, or from the spec's sampling formulas.
"""
import numpy as np
import pytest
from mmseg.registry import TRANSFORMS

import mmwsss  # noqa: F401  (registers the transforms)
from mmwsss.datasets.transforms import RandomHSVShift, RandomScaleFactor
from mmwsss.datasets.transforms.random_hsv_shift import hsv_shift


def _rgb(*pixels):
    return np.array([list(pixels)], dtype=np.uint8)


# ---------------------------------------------------------------- hsv_shift (the deterministic core)
def test_hue_shift_primaries_rgb():
    # +30 units (60 deg): red H=0 -> yellow (H=30); green H=60 -> cyan (H=90)
    out = hsv_shift(_rgb((255, 0, 0), (0, 255, 0)), 30, 0, 0, 'rgb')
    np.testing.assert_array_equal(out, _rgb((255, 255, 0), (0, 255, 255)))


def test_hue_wraps_modulo_180():
    # magenta H=150 + 40 = 190 -> 10 (20 deg): R = 255, G = 255 * 20/60 = 85, B = 0
    out = hsv_shift(_rgb((255, 0, 255)), 40, 0, 0, 'rgb')
    np.testing.assert_array_equal(out, _rgb((255, 85, 0)))
    # red H=0 - 30 = -30 -> 150 = magenta
    out = hsv_shift(_rgb((255, 0, 0)), -30, 0, 0, 'rgb')
    np.testing.assert_array_equal(out, _rgb((255, 0, 255)))


def test_saturation_and_value_clipped():
    # S of pure red is 255: +10 clips at 255 (unchanged); without clipping 265 would wrap to 9 (almost grey)
    np.testing.assert_array_equal(hsv_shift(_rgb((255, 0, 0)), 0, 10, 0, 'rgb'), _rgb((255, 0, 0)))
    # S 255 - 55 = 200: G = B = V * (1 - 200/255) = 55
    np.testing.assert_array_equal(hsv_shift(_rgb((255, 0, 0)), 0, -55, 0, 'rgb'), _rgb((255, 55, 55)))
    # grey V=250 + 10 -> 255 (clipped, white); grey S=0 - 10 -> 0 (clipped, stays grey); V 200 - 55 = 145
    out = hsv_shift(_rgb((250, 250, 250), (200, 200, 200)), 0, -10, 10, 'rgb')
    np.testing.assert_array_equal(out, _rgb((255, 255, 255), (210, 210, 210)))
    np.testing.assert_array_equal(hsv_shift(_rgb((200, 200, 200)), 0, 0, -55, 'rgb'), _rgb((145, 145, 145)))
    # V 0 - 10 clips at 0 (black stays black; without clipping it would wrap to 246)
    np.testing.assert_array_equal(hsv_shift(_rgb((0, 0, 0)), 0, 0, -10, 'rgb'), _rgb((0, 0, 0)))


def test_bgr_order_same_picture():
    # red in BGR order is [0, 0, 255]; +60 hue units -> green = BGR [0, 255, 0]
    # (read as RGB, [0, 0, 255] would be blue and +60 would give red)
    out = hsv_shift(np.array([[[0, 0, 255]]], np.uint8), 60, 0, 0, 'bgr')
    np.testing.assert_array_equal(out, np.array([[[0, 255, 0]]], np.uint8))


# ---------------------------------------------------------------- RandomHSVShift (sampling)
def _expected_draws(seed, delta, upper):
    rng = np.random.RandomState(seed)
    return [int(rng.randint(-delta, upper)) for _ in range(3)]  # order H, S, V


def test_random_hsv_shift_always_applied_with_original_draws():
    # V only (h_delta = s_delta = 0 draw nothing): a grey 100 pixel becomes 100 + dv on EVERY call, dv being the
    # successive np.random.randint(-10, 10) draws (a probability gate would skip calls / consume extra draws)
    t = TRANSFORMS.build(dict(type='RandomHSVShift', h_delta=0, s_delta=0, v_delta=10))
    grey = np.full((2, 3, 3), 100, np.uint8)
    np.random.seed(5)
    got = [int(t.transform(dict(img=grey.copy()))['img'][0, 0, 0]) for _ in range(20)]
    rng = np.random.RandomState(5)
    assert got == [100 + int(rng.randint(-10, 10)) for _ in range(20)]


def test_random_hsv_shift_hand_computed_pixel():
    # seed 0: numpy's first three randint(-10, 10) draws are 2, 5, -10 (H, S, V)
    assert _expected_draws(0, 10, 10) == [2, 5, -10]
    t = RandomHSVShift(10, 10, 10, channel_order='rgb')
    np.random.seed(0)
    # red (H=0, S=255, V=255) -> H=2 (4 deg), S=255 (clipped), V=245:
    # R = 245, G = 245 * 4/60 = 16.33 -> 16, B = 0
    out = t.transform(dict(img=_rgb((255, 0, 0))))['img']
    np.testing.assert_array_equal(out, _rgb((245, 16, 0)))


def test_random_hsv_shift_range_quirk_and_inclusive_option():
    np.random.seed(1)
    t = RandomHSVShift(3, 3, 3)
    draws = np.array([t._random_shifts() for _ in range(600)])
    assert draws.min() == -3 and draws.max() == 2  # original: upper bound excluded
    t_inc = RandomHSVShift(3, 3, 3, inclusive_upper=True)
    draws = np.array([t_inc._random_shifts() for _ in range(600)])
    assert draws.min() == -3 and draws.max() == 3
    assert RandomHSVShift(0, 0, 0)._random_shifts() == (0, 0, 0)


def test_random_hsv_shift_rejects_float_image():
    with pytest.raises(TypeError, match='a.jpg'):
        RandomHSVShift().transform(dict(img=np.zeros((2, 2, 3), np.float32), img_path='a.jpg'))


# ---------------------------------------------------------------- RandomScaleFactor
def test_scale_factor_nearest_mask_upscale():
    mask = np.array([[1, 2], [3, 255]], np.uint8)
    img = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3)
    t = TRANSFORMS.build(dict(type='RandomScaleFactor', min_scale=1.5, max_scale=1.5))
    res = t.transform(dict(img=img, gt_seg_map=mask.copy(), seg_fields=['gt_seg_map'], img_shape=(2, 2)))
    # 2 * 1.5 = 3; nearest source index = floor(dst / 1.5): 0, 0, 1
    np.testing.assert_array_equal(res['gt_seg_map'], [[1, 1, 2], [1, 1, 2], [3, 3, 255]])
    assert res['img'].shape == (3, 3, 3)
    assert res['img_shape'] == (3, 3)
    assert res['scale_factor'] == (1.5, 1.5)


def test_scale_factor_nearest_mask_downscale_and_int64():
    mask = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 255, 255], [2, 2, 255, 255]], np.int64)
    t = RandomScaleFactor(0.5, 0.5)
    res = t.transform(dict(img=np.zeros((4, 4, 3), np.uint8), gt_seg_map=mask, seg_fields=['gt_seg_map']))
    np.testing.assert_array_equal(res['gt_seg_map'], [[0, 1], [2, 255]])
    assert res['gt_seg_map'].dtype == np.int64


def test_scale_factor_seeded_sizes_and_label_set():
    rng = np.random.RandomState(7)
    h, w = 20, 30
    img = rng.randint(0, 256, (h, w, 3)).astype(np.uint8)
    mask = rng.choice(np.array([0, 3, 5, 255], np.uint8), size=(h, w))
    t = RandomScaleFactor(0.5, 1.5)
    np.random.seed(11)
    expected_r = 0.5 + 1.0 * np.random.RandomState(11).random_sample()  # U(0.5, 1.5)
    res = t.transform(dict(img=img, gt_seg_map=mask, seg_fields=['gt_seg_map']))
    new_h, new_w = int(round(h * expected_r)), int(round(w * expected_r))
    assert abs(h * expected_r - round(h * expected_r)) != 0.5  # no rounding tie for this seed
    assert res['img'].shape == (new_h, new_w, 3)
    assert res['gt_seg_map'].shape == (new_h, new_w)
    assert res['img_shape'] == (new_h, new_w)
    assert res['scale_factor'] == (new_w / w, new_h / h)
    assert set(np.unique(res['gt_seg_map'])) <= {0, 3, 5, 255}


def test_scale_factor_bad_range():
    with pytest.raises(ValueError):
        RandomScaleFactor(1.5, 0.5)
