"""Test-time post-processing: the dense CRF of CRFEncoderDecoder (YudeWang dense_crf: softmax unary, Gaussian 3/3,
bilateral 32/13/10, ONE mean-field iteration) against direct pydensecrf calls on a tiny image, and the TTA merge
rules of CRFSegTTAModel against hand-computed numbers."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from PIL import Image

pytest.importorskip('pydensecrf.densecrf')

import mmwsss.models  # noqa: F401,E402
from mmwsss.models.segmentors.crf_postprocess import build_test_crf, enable_test_crf  # noqa: E402

N_CLS = 3


@pytest.fixture(autouse=True)
def _mmseg_scope():
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')


def _tiny_image(path, h=7, w=9):
    rng = np.random.RandomState(0)
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :w // 2] = (200, 30, 30)  # a red left half and a blue right half, plus noise
    img[:, w // 2:] = (20, 40, 210)
    img = np.clip(img.astype(int) + rng.randint(-15, 16, img.shape), 0, 255).astype(np.uint8)
    Image.fromarray(img).save(path)  # PNG: lossless, so cv2 / PIL decode the same pixels
    return img


def _direct_crf(img, probs, iters, gauss=(3, 3), bilat=(32, 13, 10)):
    """The reference codebase's dense_crf written with pydensecrf directly (deeplab_final.md §3)."""
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import unary_from_softmax
    c, h, w = probs.shape
    d = dcrf.DenseCRF2D(w, h, c)
    d.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(probs)))
    d.addPairwiseGaussian(sxy=gauss[0], compat=gauss[1])
    d.addPairwiseBilateral(sxy=bilat[0], srgb=bilat[1], rgbim=np.ascontiguousarray(img), compat=bilat[2])
    return np.array(d.inference(iters)).reshape(c, h, w)


def _segmentor(crf):
    cfg = dict(
        type='CRFEncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0], std=[1, 1, 1]),
        backbone=dict(type='ResNetV1c', depth=18, base_channels=4, stem_channels=8, out_indices=(3, )),
        decode_head=dict(type='LargeFOVHead', in_channels=32, channels=4, num_classes=N_CLS, fov_dilation=1,
                         align_corners=True),
        test_cfg=dict(mode='whole', crf=crf))
    return MODELS.build(cfg)


def _sample(img_path, h, w, **meta):
    s = SegDataSample(metainfo=dict(img_path=img_path, ori_shape=(h, w), img_shape=(h, w), **meta))
    return s


def test_crf_encoder_decoder_applies_one_iteration_deeplab_v1_crf(tmp_path):
    img = _tiny_image(str(tmp_path / 'a.png'))
    h, w = img.shape[:2]
    torch.manual_seed(0)
    logits = torch.randn(1, N_CLS, h, w) * 2
    probs = logits[0].softmax(0).numpy()
    expected_q = _direct_crf(img, probs, iters=1)

    model = _segmentor('deeplab-v1')
    out = model.postprocess_result(logits.clone(), [_sample(str(tmp_path / 'a.png'), h, w)])[0]
    np.testing.assert_allclose(out.crf_probs.data.numpy(), expected_q, rtol=1e-5, atol=1e-6)
    assert torch.equal(out.pred_sem_seg.data[0], torch.from_numpy(expected_q.argmax(0)))
    torch.testing.assert_close(out.seg_logits.data, logits[0])  # the network's logits are kept

    # 10 iterations (a dict override of the preset) differ from 1 iteration and match pydensecrf again
    model10 = _segmentor(dict(preset='deeplab-v1', iterations=10))
    q10 = model10.postprocess_result(logits.clone(), [_sample(str(tmp_path / 'a.png'), h, w)])[0].crf_probs.data
    np.testing.assert_allclose(q10.numpy(), _direct_crf(img, probs, iters=10), rtol=1e-5, atol=1e-6)
    assert not np.allclose(q10.numpy(), expected_q, atol=1e-3)

    plain = _segmentor(None).postprocess_result(logits.clone(), [_sample(str(tmp_path / 'a.png'), h, w)])[0]
    assert 'crf_probs' not in plain and torch.equal(plain.pred_sem_seg.data[0], logits[0].argmax(0))


def test_crf_deeplab_v2_preset_numbers(tmp_path):
    img = _tiny_image(str(tmp_path / 'b.png'))
    h, w = img.shape[:2]
    logits = torch.randn(1, N_CLS, h, w, generator=torch.Generator().manual_seed(1))
    out = _segmentor('deeplab-v2').postprocess_result(logits.clone(), [_sample(str(tmp_path / 'b.png'), h, w)])[0]
    # kazuto1011 (deeplab_final.md §2.4): 10 iterations, pos_w 3 / pos_xy_std 1, bi_w 4 / bi_xy_std 67 / bi_rgb_std 3
    expected = _direct_crf(img, logits[0].softmax(0).numpy(), 10, gauss=(1, 3), bilat=(67, 3, 4))
    np.testing.assert_allclose(out.crf_probs.data.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_crf_errors_name_the_image(tmp_path):
    _tiny_image(str(tmp_path / 'c.png'), 7, 9)
    model = _segmentor('deeplab-v1')
    with pytest.raises(ValueError, match=r'c\.png: image is 7x9 but the predicted probabilities are 5x9'):
        model.postprocess_result(torch.randn(1, N_CLS, 5, 9), [_sample(str(tmp_path / 'c.png'), 5, 9)])
    with pytest.raises(FileNotFoundError, match='nope.png'):
        model.postprocess_result(torch.randn(1, N_CLS, 5, 9), [_sample(str(tmp_path / 'nope.png'), 5, 9)])
    with pytest.raises(KeyError, match='unknown CRF preset'):
        build_test_crf('no-such-preset')


def _aug(logits, img_path=''):
    s = _sample(img_path, logits.shape[1], logits.shape[2])
    s.seg_logits = PixelData(data=logits)
    return s


def test_tta_merge_rules_by_hand():
    tta = MODELS.build(dict(type='CRFSegTTAModel', module=_segmentor(None), merge='logits', crf=None))
    # one pixel, two classes, two augmented passes with logits [0, 4] and [0, 0]
    a, b = torch.tensor([0., 4.]).view(2, 1, 1), torch.zeros(2, 1, 1)
    merged = tta.merge_preds([[_aug(a), _aug(b)]])[0]
    # mean logits [0, 2] -> softmax = [1 / (1 + e^2), e^2 / (1 + e^2)] = [0.1192, 0.8808]
    torch.testing.assert_close(merged.seg_logits.data.flatten(), torch.tensor([0.119203, 0.880797]), rtol=0,
                               atol=1e-5)
    tta.merge = 'probs'  # mmseg's rule: mean of softmax = ([0.01799, 0.98201] + [0.5, 0.5]) / 2
    merged = tta.merge_preds([[_aug(a), _aug(b)]])[0]
    torch.testing.assert_close(merged.seg_logits.data.flatten(), torch.tensor([0.258993, 0.741007]), rtol=0,
                               atol=1e-5)
    # the rules disagree when one pass is extreme: logits [0, 20], [3, 0], [3, 0]
    passes = [torch.tensor(v).view(2, 1, 1) for v in ([0., 20.], [3., 0.], [3., 0.])]
    tta.merge = 'logits'  # mean [2, 6.667] -> softmax [0.00932, 0.99068] -> class 1
    merged = tta.merge_preds([[_aug(x) for x in passes]])[0]
    assert merged.pred_sem_seg.data.item() == 1
    torch.testing.assert_close(merged.seg_logits.data.flatten(), torch.tensor([0.009316, 0.990684]), rtol=0,
                               atol=1e-5)
    tta.merge = 'probs'  # ([~0, ~1] + 2 * [0.95257, 0.04743]) / 3 = [0.63505, 0.36495] -> class 0
    merged = tta.merge_preds([[_aug(x) for x in passes]])[0]
    assert merged.pred_sem_seg.data.item() == 0
    torch.testing.assert_close(merged.seg_logits.data.flatten(), torch.tensor([0.635049, 0.364951]), rtol=0,
                               atol=1e-5)


def test_tta_runs_the_crf_once_on_the_merged_probabilities(tmp_path):
    img = _tiny_image(str(tmp_path / 'm.png'))
    h, w = img.shape[:2]
    module = _segmentor('deeplab-v1')
    tta = MODELS.build(dict(type='CRFSegTTAModel', module=module))  # crf='module': taken over from the segmentor
    assert module.test_crf is None and tta.test_crf is not None and tta.test_crf.iterations == 1
    g = torch.Generator().manual_seed(2)
    augs = [torch.randn(N_CLS, h, w, generator=g) for _ in range(3)]
    merged = tta.merge_preds([[_aug(x, str(tmp_path / 'm.png')) for x in augs]])[0]
    probs = torch.stack(augs).mean(0).softmax(0)
    expected = _direct_crf(img, probs.numpy(), iters=1)
    np.testing.assert_allclose(merged.crf_probs.data.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert torch.equal(merged.pred_sem_seg.data[0], torch.from_numpy(expected.argmax(0)))
    explicit = MODELS.build(dict(type='CRFSegTTAModel', module=_segmentor(None), crf='deeplab-v2'))
    assert explicit.test_crf.iterations == 10


def test_enable_test_crf_rewrites_configs():
    cfg = Config(dict(model=dict(type='EncoderDecoder', test_cfg=dict(mode='whole')),
                      tta_model=dict(type='SegTTAModel')))
    enable_test_crf(cfg, 'deeplab-v1', tta=True)
    assert cfg.model.type == 'CRFEncoderDecoder' and cfg.model.test_cfg.crf == 'deeplab-v1'
    assert cfg.tta_model.type == 'CRFSegTTAModel' and cfg.tta_model['merge'] == 'probs'
    assert cfg.tta_model.crf == 'deeplab-v1'
    enable_test_crf(cfg, 'none')
    assert cfg.model.test_cfg.crf is None
    with pytest.raises(KeyError, match='unknown CRF preset'):
        enable_test_crf(cfg, 'bogus')
    with pytest.raises(ValueError, match='CRFEncoderDecoder'):
        enable_test_crf(Config(dict(model=dict(type='CAMSegmentor'))), 'deeplab-v1')
