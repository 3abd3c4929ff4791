"""Confusion-matrix metrics and boundary matching against hand-computed cases."""
import numpy as np
import pytest

from mmwsss.evaluation.functional import (boundary_match_counts, boundary_tolerance, confusion_matrix, disk,
                                          f_from_counts, iou_from_confusion, mean_over_classes,
                                          precision_from_confusion, recall_from_confusion, seg2bmap,
                                          summarize_confusion)

GT = np.array([[0, 0, 1], [1, 255, 2]])
PRED = np.array([[0, 1, 1], [2, 0, 255]])


def test_confusion_matrix_by_hand():
    cm = confusion_matrix(PRED, GT, 3)
    expected = np.zeros((3, 4), int)
    expected[0, 0] = 1  # gt 0 -> 0
    expected[0, 1] = 1  # gt 0 -> 1
    expected[1, 1] = 1
    expected[1, 2] = 1
    expected[2, 3] = 1  # gt 2 predicted as ignore -> last column; the GT-255 pixel is not counted
    np.testing.assert_array_equal(cm, expected)
    dropped = confusion_matrix(PRED, GT, 3, pred_ignore='drop')
    expected[2, 3] = 0
    np.testing.assert_array_equal(dropped, expected)


def test_iou_precision_recall_by_hand():
    cm = confusion_matrix(PRED, GT, 3)
    # class 0: TP 1, T 2, P 1; class 1: TP 1, T 2, P 2; class 2: TP 0, T 1, P 1
    np.testing.assert_allclose(iou_from_confusion(cm), [1 / 2, 1 / 3, 0.0])
    np.testing.assert_allclose(precision_from_confusion(cm), [1.0, 0.5, 0.0])
    np.testing.assert_allclose(recall_from_confusion(cm), [0.5, 0.5, 0.0])
    s = summarize_confusion(cm, ['bg', 'a', 'b'])
    assert s['mIoU'] == pytest.approx((1 / 2 + 1 / 3) / 3)
    assert s['gt_pixels'] == [2, 2, 1] and s['pred_pixels'] == [1, 2, 1]
    # ICD's protocol drops the ignored prediction: class 2 has no GT pixel left, recall undefined
    cm_drop = confusion_matrix(PRED, GT, 3, pred_ignore='drop')
    assert np.isnan(recall_from_confusion(cm_drop)[2])
    assert iou_from_confusion(cm_drop)[2] == 0.0  # P = 1, T = 0


def test_absent_class_conventions():
    gt = np.array([[0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 1]])
    cm = confusion_matrix(pred, gt, 3)  # class 2 absent everywhere
    iou = iou_from_confusion(cm)
    assert np.isnan(iou[2])
    assert mean_over_classes(iou, cm, 'zero') == pytest.approx((1 / 2 + 2 / 3 + 0) / 3)
    assert mean_over_classes(iou, cm, 'nan') == pytest.approx((1 / 2 + 2 / 3) / 2)
    # SC-CAM: mean over GT-present classes; a class predicted but absent from GT would be skipped too
    cm2 = confusion_matrix(np.array([[2, 0, 1, 1]]), gt, 3)
    iou2 = iou_from_confusion(cm2)  # class 2: T 0, P 1 -> IoU 0, but no GT
    assert mean_over_classes(iou2, cm2, 'gt') == pytest.approx((iou2[0] + iou2[1]) / 2)
    assert mean_over_classes(iou2, cm2, 'nan') == pytest.approx((iou2[0] + iou2[1] + 0) / 3)


def test_confusion_matrix_bad_inputs():
    with pytest.raises(ValueError, match='shape'):
        confusion_matrix(np.zeros((2, 2), int), np.zeros((2, 3), int), 3)
    with pytest.raises(ValueError, match=r'prediction holds values \[7\]'):
        confusion_matrix(np.array([[7, 0]]), np.array([[0, 0]]), 3)
    with pytest.raises(ValueError, match=r'ground truth holds values \[3\]'):
        confusion_matrix(np.array([[0, 0]]), np.array([[3, 0]]), 3)


def test_seg2bmap_by_hand():
    s = np.zeros((4, 4), bool)
    s[1:3, 1:3] = True
    expected = np.array([[1, 1, 1, 0],
                         [1, 0, 1, 0],
                         [1, 1, 1, 0],
                         [0, 0, 0, 0]], bool)
    np.testing.assert_array_equal(seg2bmap(s), expected)
    # the image border is never a boundary: a full mask has none
    assert not seg2bmap(np.ones((5, 6), bool)).any()


def test_tolerance_and_disk():
    assert boundary_tolerance(375, 500) == 5  # icam.md §6: 5 for 500x375, 6 for 500x500, 7 for 640x480
    assert boundary_tolerance(500, 500) == 6
    assert boundary_tolerance(480, 640) == 7
    assert boundary_tolerance(10, 10, bound_th=3) == 3
    np.testing.assert_array_equal(disk(1), [[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    assert disk(2).sum() == 13


def _half_plane(h, w, col):
    m = np.zeros((h, w), bool)
    m[:, col:] = True
    return m


@pytest.mark.parametrize('shift,matched', [(0, True), (1, True), (2, True), (3, False)])
def test_offset_half_planes_inside_and_outside_tolerance(shift, matched):
    # 100x100: tolerance ceil(0.008 * 141.4) = 2 px. The boundary of "columns >= c" is column c - 1 (100 px).
    gt = _half_plane(100, 100, 40)
    pred = _half_plane(100, 100, 40 + shift)
    counts = boundary_match_counts(pred, gt)
    n = 100
    np.testing.assert_array_equal(counts, [n, n, n, n] if matched else [0, n, 0, n])
    p, r, f = f_from_counts(counts)
    assert f == (1.0 if matched else 0.0)


def test_band_with_one_edge_off():
    # GT band columns 10..19 (boundaries at columns 9 and 19); prediction 10..22 (9 and 22): the right edges
    # are 3 px apart > 2 px tolerance -> half of each boundary matched
    gt = np.zeros((100, 100), bool)
    gt[:, 10:20] = True
    pred = np.zeros((100, 100), bool)
    pred[:, 10:23] = True
    counts = boundary_match_counts(pred, gt)
    np.testing.assert_array_equal(counts, [100, 200, 100, 200])
    np.testing.assert_allclose(f_from_counts(counts), [0.5, 0.5, 0.5])


def test_f_special_cases():
    np.testing.assert_allclose(f_from_counts([0, 0, 0, 0]), [1, 1, 1])  # nothing anywhere
    np.testing.assert_allclose(f_from_counts([0, 0, 0, 5]), [1, 0, 0])  # only GT boundary
    np.testing.assert_allclose(f_from_counts([0, 5, 0, 0]), [0, 1, 0])  # only predicted boundary
    np.testing.assert_allclose(f_from_counts([3, 4, 1, 2]), [0.75, 0.5, 0.6])
