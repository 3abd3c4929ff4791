"""Pseudo-mask kinds of gen_pseudo / PseudoLabelHook: parsing, folder names, and the values they produce.

The label-CRF kind ('lcrf', RTC's ``contrast_infer.py --out_crf``) is compared with pydensecrf called directly
with the constants of rtc.md §5: labels = argmax([0.17, cams]), ``unary_from_labels(labels, 21, gt_prob=0.7,
zero_unsure=False)``, Gaussian sxy 3 compat 3, bilateral sxy 50 srgb 5 compat 10, 10 iterations.
"""
import numpy as np
import pydensecrf.densecrf as dcrf
import pytest
from PIL import Image
from pydensecrf.utils import unary_from_labels

from mmwsss.apis.pseudo_labels import MaskSpec, generate_masks, mask_from_cams
from mmwsss.utils.cam_io import save_cams


@pytest.mark.parametrize('text, kind, value, preset, dirname', [
    ('thr:0.2', 'thr', 0.2, None, 'thr_0.20'),
    ('crf:4', 'crf', 4.0, 'psa', 'crf_a4'),
    ('crf:32:sccam', 'crf', 32.0, 'sccam', 'crf_a32_sccam'),
    ('lcrf:0.17', 'lcrf', 0.17, 'rtc', 'lcrf_0.17_rtc'),
    ('lcrf:0.3:rtc', 'lcrf', 0.3, 'rtc', 'lcrf_0.30_rtc'),
])
def test_parse_and_dirname(text, kind, value, preset, dirname):
    spec = MaskSpec.parse(text)
    assert (spec.kind, spec.value, spec.preset) == (kind, pytest.approx(value), preset)
    assert spec.dirname == dirname


@pytest.mark.parametrize('text, words', [
    ('blur:3', 'must look like'),
    ('thr', 'must look like'),
    ('thr:0.2:psa', 'must look like'),
    ('thr:high', 'not a number'),
    ('crf:4:nosuchpreset', 'unknown CRF preset'),
    ('lcrf:0.17:psa', 'label unary'),
])
def test_bad_specs_are_rejected(text, words):
    with pytest.raises((ValueError, KeyError), match=words):
        MaskSpec.parse(text)


def test_threshold_mask_by_hand():
    # two classes (label values 3 and 7) on a 2x3 grid, background threshold 0.5
    cams = np.array([[[0.9, 0.2, 0.6], [0.1, 0.4, 0.0]],
                     [[0.1, 0.8, 0.7], [0.3, 0.45, 0.0]]], dtype=np.float32)
    mask = mask_from_cams(MaskSpec('thr', 0.5), cams, np.array([3, 7]))
    np.testing.assert_array_equal(mask, [[3, 7, 7], [0, 0, 0]])


def _scene(h=24, w=32):
    """An image with a bright square and CAMs that spill over its border."""
    img = np.full((h, w, 3), 60, np.uint8)
    img[6:18, 8:22] = (210, 40, 40)
    yy, xx = np.mgrid[0:h, 0:w]
    blob = np.exp(-(((yy - 12) / 9.0) ** 2 + ((xx - 15) / 10.0) ** 2)).astype(np.float32)
    other = np.exp(-(((yy - 20) / 4.0) ** 2 + ((xx - 28) / 4.0) ** 2)).astype(np.float32) * 0.4
    return img, np.stack([blob, other]), np.array([5, 12])


def _rtc_reference(img, cams, class_ids, thr, n_labels=21):
    h, w = img.shape[:2]
    scores = np.concatenate([np.full((1, h, w), thr, np.float32), cams])
    labels = np.concatenate([[0], class_ids])[np.argmax(scores, axis=0)]
    d = dcrf.DenseCRF2D(w, h, n_labels)
    d.setUnaryEnergy(unary_from_labels(labels, n_labels, gt_prob=0.7, zero_unsure=False))
    d.addPairwiseGaussian(sxy=3, compat=3)
    d.addPairwiseBilateral(sxy=50, srgb=5, rgbim=np.ascontiguousarray(img), compat=10)
    q = np.array(d.inference(10)).reshape(n_labels, h, w)
    return labels, np.argmax(q, axis=0)


def test_label_crf_matches_rtc_constants():
    img, cams, ids = _scene()
    labels, expected = _rtc_reference(img, cams, ids, 0.17)
    got = mask_from_cams(MaskSpec.parse('lcrf:0.17'), cams, ids, img, 'scene', num_classes=21)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.uint8
    # the CRF did something: it changed some of the thresholded labels
    assert (expected != labels).any()


def test_label_crf_needs_num_classes_and_image():
    img, cams, ids = _scene()
    spec = MaskSpec.parse('lcrf:0.17')
    with pytest.raises(ValueError, match='scene: an lcrf mask needs the number of classes'):
        mask_from_cams(spec, cams, ids, img, 'scene')
    with pytest.raises(ValueError, match='scene: the CRF needs the image'):
        mask_from_cams(spec, cams, ids, None, 'scene', num_classes=21)


def test_generate_masks_writes_label_crf_pngs(tmp_path):
    img, cams, ids = _scene()
    Image.fromarray(img).save(tmp_path / 'a.png')
    (tmp_path / 'cam').mkdir()
    save_cams(str(tmp_path / 'cam' / 'a.npy'), cams, ids, dtype=np.float32)
    out = generate_masks({'a': str(tmp_path / 'a.png')}, str(tmp_path / 'cam'), str(tmp_path / 'out'),
                         [MaskSpec.parse('lcrf:0.17'), MaskSpec.parse('thr:0.17')], num_classes=21, progress=False)
    assert {k: (s.done, len(s.failed)) for k, s in out.items()} == {'lcrf_0.17_rtc': (1, 0), 'thr_0.17': (1, 0)}
    labels, expected = _rtc_reference(img, cams, ids, 0.17)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / 'out' / 'lcrf_0.17_rtc' / 'a.png')), expected)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / 'out' / 'thr_0.17' / 'a.png')), labels)
