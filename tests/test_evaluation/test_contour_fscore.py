"""ContourFScore metric: hand-computed dataset-level (ICAM) and per-image (DAVIS) values, registry use."""
import numpy as np
import pytest
import torch

from mmwsss.evaluation.metrics import ContourFScore


def _sample(pred: np.ndarray, gt: np.ndarray) -> dict:
    return dict(pred_sem_seg=dict(data=torch.from_numpy(pred)[None]),
                gt_sem_seg=dict(data=torch.from_numpy(gt)[None]))


def _band(c0, c1, value, base=None):
    m = np.zeros((100, 100), np.int64) if base is None else base.copy()
    m[:, c0:c1] = value
    return m


def _three_images():
    """100x100 images (tolerance 2 px), classes 0..2.

    1: class 1, GT band cols 10..19, prediction 10..22 -> counts [100, 200, 100, 200], F 0.5
    2: class 2, identical bands 50..59                -> counts [200, 200, 200, 200], F 1
    3: class 1, identical half planes cols >= 30       -> counts [100, 100, 100, 100], F 1
    """
    return [
        _sample(_band(10, 23, 1), _band(10, 20, 1)),
        _sample(_band(50, 60, 2), _band(50, 60, 2)),
        _sample(_band(30, 100, 1), _band(30, 100, 1)),
    ]


def test_dataset_level_and_per_image_by_hand():
    metric = ContourFScore(num_classes=3)
    metric.process({}, _three_images())
    out = metric.compute_metrics(metric.results)
    # dataset level, class 1: P = R = (100 + 100) / (200 + 100) = 2/3; class 2: 1
    assert out['mContourF'] == pytest.approx(100 * (2 / 3 + 1) / 2)
    # per image: class 1 over images 1 and 3 -> (0.5 + 1) / 2; class 2 over image 2 -> 1
    assert out['mContourF_img'] == pytest.approx(100 * (0.75 + 1) / 2)
    assert out['mContourP'] == pytest.approx(100 * (2 / 3 + 1) / 2)


def test_void_counts_as_background_like_icam():
    # GT: class 1 on cols 10..19, a wide void band on 20..29; prediction: class 1 on 10..19 only.
    gt = _band(20, 30, 255, _band(10, 20, 1))
    pred = _band(10, 20, 1)
    metric = ContourFScore(num_classes=2, include_background=True)
    metric.process({}, [_sample(pred, gt)])
    out = metric.compute_metrics(metric.results)
    # void -> background: the background boundary is the class-1 boundary on both sides, F = 1 for both
    # classes (were void not background, the GT background edge at col 29 would be 10 px off)
    assert out['mContourF'] == pytest.approx(100.0)


def test_usable_in_val_evaluator_next_to_iou_metric():
    from mmengine.evaluator import Evaluator
    from mmengine.registry import init_default_scope
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData

    import mmwsss  # noqa: F401  (registers ContourFScore)
    init_default_scope('mmseg')
    evaluator = Evaluator([dict(type='IoUMetric', iou_metrics=['mIoU']), dict(type='ContourFScore')])
    evaluator.dataset_meta = dict(classes=('background', 'a', 'b'), palette=[[0, 0, 0]] * 3)
    samples = []
    for s in _three_images():
        ds = SegDataSample()
        ds.pred_sem_seg = PixelData(data=s['pred_sem_seg']['data'])
        ds.gt_sem_seg = PixelData(data=s['gt_sem_seg']['data'])
        samples.append(ds)
    evaluator.process(samples)
    out = evaluator.evaluate(3)
    assert out['mContourF'] == pytest.approx(100 * (2 / 3 + 1) / 2)
    assert 'mIoU' in out


def test_bad_input():
    metric = ContourFScore(num_classes=2)
    with pytest.raises(ValueError, match='differ in shape'):
        metric.process({}, [_sample(np.zeros((4, 4), np.int64), np.zeros((4, 5), np.int64))])
    with pytest.raises(ValueError, match='num_classes or dataset_meta'):
        ContourFScore().process({}, [_sample(np.zeros((4, 4), np.int64), np.zeros((4, 4), np.int64))])
