"""WSSS transforms: psa geometry (banker's rounding), crop-pad box/padding, normalisation equivalence with
psa's normalise-then-crop, packing, flips of extra maps, second view, loaders."""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import mmwsss.datasets  # noqa: F401  (registers the datasets and transforms)
from mmwsss.datasets.transforms import (LoadPseudoMask, LoadSaliencyMap, LoadSuperpixels, PackWSSSInputs,
                                        PhotoMetricJitter, PILRescale, RandomCropPad, RandomResizeLong,
                                        RescaledView, WSSSRandomFlip)
from mmwsss.datasets.transforms.pil_rescale import rescaled_size
from mmwsss.datasets.transforms.random_resize_long import long_side_size

IMAGENET_MEAN = [123.675, 116.28, 103.53]  # RGB
IMAGENET_STD = [58.395, 57.12, 57.375]


def _rand_bgr(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


# ----------------------------------------------------------------------------- RandomResizeLong / PILRescale
@pytest.mark.parametrize('h,w,long_side,expected', [
    (375, 500, 448, (336, 448)),   # 375*448/500 = 336.0 exactly
    (375, 500, 458, (344, 458)),   # 343.5 -> 344 (even)
    (375, 500, 462, (346, 462)),   # 346.5 -> 346 (even; round-half-up would give 347)
    (500, 375, 458, (458, 344)),   # portrait: the height is the long side
    (100, 100, 77, (77, 77)),      # square: ties go to the width branch
    (333, 500, 256, (170, 256)),   # 170.496 -> 170
])
def test_long_side_size_bankers_rounding(h, w, long_side, expected):
    assert long_side_size(h, w, long_side) == expected


def test_random_resize_long_pil_bicubic_and_maps():
    img = _rand_bgr(375, 500)
    seg = np.zeros((375, 500), np.uint8)
    seg[:, 250:] = 3
    sal = np.linspace(0, 1, 375 * 500, dtype=np.float32).reshape(375, 500)
    t = RandomResizeLong(462, 462)
    out = t(dict(img=img, gt_seg_map=seg, gt_saliency=sal, seg_fields=['gt_seg_map', 'gt_saliency']))
    assert out['img'].shape == (346, 462, 3) and out['img_shape'] == (346, 462)
    # reference: PIL bicubic on the RGB image, as psa does
    ref = np.asarray(Image.fromarray(img[..., ::-1].copy()).resize((462, 346), Image.BICUBIC))[..., ::-1]
    np.testing.assert_array_equal(out['img'], ref)
    assert out['gt_seg_map'].shape == (346, 462) and set(np.unique(out['gt_seg_map'])) == {0, 3}
    assert out['gt_saliency'].dtype == np.float32 and out['gt_saliency'].shape == (346, 462)
    assert out['scale_factor'] == pytest.approx((462 / 500, 346 / 375))


def test_random_resize_long_range_inclusive():
    t = RandomResizeLong(10, 12)
    img = _rand_bgr(20, 30)
    np.random.seed(0)
    longs = {t(dict(img=img))['img'].shape[1] for _ in range(60)}
    assert longs == {10, 11, 12}


def test_random_resize_long_cv2_backend():
    img = _rand_bgr(30, 40)
    out = RandomResizeLong(60, 60, backend='cv2')(dict(img=img))
    import cv2
    np.testing.assert_array_equal(out['img'], cv2.resize(img, (60, 45), interpolation=cv2.INTER_CUBIC))


def test_pil_rescale_multiscale_sizes():
    # affinitynet.md §5.1: 187.5 -> 188, 186.5 -> 186
    assert rescaled_size(375, 500, 0.5) == (188, 250)
    assert rescaled_size(373, 500, 0.5) == (186, 250)
    out = PILRescale(0.5)(dict(img=_rand_bgr(375, 500)))
    assert out['img'].shape == (188, 250, 3)


# ----------------------------------------------------------------------------- RandomCropPad
def test_crop_pad_box_and_padding_values():
    img = _rand_bgr(3, 6)                       # shorter than the crop in h, longer in w
    seg = np.arange(18, dtype=np.uint8).reshape(3, 6)
    pad = [1.5, 2.5, 3.5]
    t = RandomCropPad(crop_size=(5, 4), img_pad_val=pad)
    seen_top, seen_left = set(), set()
    for seed in range(60):
        np.random.seed(seed)
        out = t(dict(img=img.copy(), gt_seg_map=seg.copy(), seg_fields=['gt_seg_map']))
        y0, y1, x0, x1 = out['crop_box']
        oy, ox = out['crop_offset']
        # h: image (3) placed in the 5-high container -> y0 in 0..2, whole height; w: 4-wide window -> x 0..4
        assert y1 - y0 == 3 and 0 <= y0 <= 2 and (x0, x1) == (0, 4) and oy == 0 and 0 <= ox <= 2
        seen_top.add(y0)
        seen_left.add(ox)
        res = out['img']
        assert res.dtype == np.float32 and res.shape == (5, 4, 3)
        np.testing.assert_array_equal(res[y0:y1], img[:, ox:ox + 4].astype(np.float32))
        valid = np.zeros((5, 4), bool)
        valid[y0:y1, x0:x1] = True
        np.testing.assert_array_equal(res[~valid], np.broadcast_to(np.float32(pad), (int((~valid).sum()), 3)))
        np.testing.assert_array_equal(out['gt_seg_map'][y0:y1], seg[:, ox:ox + 4])
        assert (out['gt_seg_map'][~valid] == 255).all()
        assert out['img_shape'] == (5, 4)
    assert seen_top == {0, 1, 2} and seen_left == {0, 1, 2}   # every psa offset is reachable


def test_crop_pad_top_left_and_extra_map_padding():
    img = _rand_bgr(3, 3)
    sp = np.array([[0, 1, 1], [2, 2, 1], [2, 2, 2]], np.int32)
    sal = np.full((3, 3), 0.5, np.float32)
    t = RandomCropPad(crop_size=5, img_pad_val=127, placement='top_left')
    out = t(dict(img=img, gt_superpixels=sp, gt_saliency=sal, seg_fields=['gt_superpixels', 'gt_saliency']))
    assert out['crop_box'] == (0, 3, 0, 3)
    assert (out['img'][3:] == 127).all() and (out['img'][:, 3:] == 127).all()
    assert (out['gt_superpixels'][3:] == 3).all() and (out['gt_superpixels'][:, 3:] == 3).all()  # max id + 1
    assert (out['gt_saliency'][3:] == 0).all()


def test_crop_pad_equals_psa_normalise_then_zero_pad():
    """mmseg convention (mean-colour padding + SegDataPreProcessor) == psa (normalise, zero container)."""
    from mmseg.models.data_preprocessor import SegDataPreProcessor
    rgb = np.random.default_rng(3).integers(0, 256, size=(30, 50, 3), dtype=np.uint8)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    crop = 40
    np.random.seed(7)
    out = RandomCropPad(crop_size=crop, img_pad_val=IMAGENET_MEAN[::-1])(dict(img=bgr))
    packed = PackWSSSInputs()(out)
    pre = SegDataPreProcessor(mean=IMAGENET_MEAN, std=IMAGENET_STD, bgr_to_rgb=True, size=(crop, crop))
    ours = pre(dict(inputs=[packed['inputs']], data_samples=[packed['data_samples']]), training=True)['inputs'][0]

    # psa: imgarr/255 - mean / std in float (tool/imutils.Normalize), then RandomCrop into np.zeros
    norm = np.empty(rgb.shape, np.float32)
    for c in range(3):
        norm[..., c] = (rgb[..., c] / 255. - IMAGENET_MEAN[c] / 255.) / (IMAGENET_STD[c] / 255.)
    y0, y1, x0, x1 = out['crop_box']
    oy, ox = out['crop_offset']
    cont = np.zeros((crop, crop, 3), np.float32)
    cont[y0:y1, x0:x1] = norm[oy:oy + y1 - y0, ox:ox + x1 - x0]
    psa = torch.from_numpy(cont.transpose(2, 0, 1))
    assert (y0, y1) != (0, crop)                                   # this case really pads (h 30 < 40)
    np.testing.assert_allclose(ours.numpy(), psa.numpy(), rtol=0, atol=2e-6)
    pad_mask = torch.ones(crop, crop, dtype=torch.bool)
    pad_mask[y0:y1, x0:x1] = False
    assert (ours[:, pad_mask] == 0).all()                          # padding is exactly zero


# ----------------------------------------------------------------------------- flip / second view
def test_wsss_random_flip_flips_every_map_and_box():
    img = _rand_bgr(4, 6)
    sal = np.arange(24, dtype=np.float32).reshape(4, 6)
    sp = np.arange(24, dtype=np.int32).reshape(4, 6)
    seg = np.arange(24, dtype=np.uint8).reshape(4, 6)
    view = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    results = dict(img=img, gt_seg_map=seg, gt_saliency=sal, gt_superpixels=sp, img_view2=view,
                   seg_fields=['gt_seg_map', 'gt_saliency', 'gt_superpixels'], crop_box=(1, 3, 1, 4))
    out = WSSSRandomFlip(prob=1.0, direction='horizontal')(results)
    np.testing.assert_array_equal(out['img'], img[:, ::-1])
    np.testing.assert_array_equal(out['gt_seg_map'], seg[:, ::-1])
    np.testing.assert_array_equal(out['gt_saliency'], sal[:, ::-1])
    np.testing.assert_array_equal(out['gt_superpixels'], sp[:, ::-1])
    np.testing.assert_array_equal(out['img_view2'], view[:, ::-1])
    assert out['crop_box'] == (1, 3, 2, 5)   # x 1..4 in width 6 -> 6-4 .. 6-1


def test_rescaled_view_hand_case_and_normalisation_commutes():
    img = np.array([[0, 2], [4, 6]], np.float32)[..., None].repeat(3, axis=2)
    out = RescaledView(size=(3, 3))(dict(img=img))['img_view2']
    exp = np.array([[0, 1, 2], [2, 3, 4], [4, 5, 6]], np.float32)   # align_corners=True bilinear
    np.testing.assert_allclose(out[..., 0], exp, atol=1e-6)

    # RTC makes view 2 from the normalised crop; ours from the raw crop -> normalise afterwards: equal
    bgr = _rand_bgr(20, 30, seed=5)
    np.random.seed(1)
    crop = RandomCropPad(crop_size=28, img_pad_val=IMAGENET_MEAN[::-1])(dict(img=bgr))
    view = RescaledView(size=(8, 8))(crop)['img_view2']
    mean_bgr = np.float32(IMAGENET_MEAN[::-1])
    std_bgr = np.float32(IMAGENET_STD[::-1])
    ours = (view - mean_bgr) / std_bgr
    norm1 = torch.from_numpy(((crop['img'] - mean_bgr) / std_bgr).transpose(2, 0, 1))[None]
    rtc = F.interpolate(norm1, size=(8, 8), mode='bilinear', align_corners=True)[0].numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(ours, rtc, atol=1e-5)


# ----------------------------------------------------------------------------- jitter
def test_photometric_jitter_matches_torchvision_on_pil():
    from torchvision.transforms import ColorJitter
    bgr = _rand_bgr(16, 16, seed=2)
    torch.manual_seed(11)
    ours = PhotoMetricJitter()(dict(img=bgr.copy()))['img']
    torch.manual_seed(11)
    ref = np.asarray(ColorJitter(0.3, 0.3, 0.3, 0.1)(Image.fromarray(bgr[..., ::-1].copy())))[..., ::-1]
    np.testing.assert_array_equal(ours, ref)


def test_photometric_jitter_keeps_channel_order():
    bgr = np.zeros((4, 4, 3), np.uint8)
    bgr[..., 0], bgr[..., 1], bgr[..., 2] = 200, 100, 50
    out = PhotoMetricJitter(brightness=(0.5, 0.5), contrast=0, saturation=0, hue=0)(dict(img=bgr))['img']
    assert np.abs(out.astype(int) - [100, 50, 25]).max() <= 1   # a BGR/RGB swap would give [25, 50, 100]


# ----------------------------------------------------------------------------- packing
def test_pack_wsss_inputs_fields():
    labels = np.array([0, 1, 0, 0, 1], np.float32)   # label values 2 and 5 present
    results = dict(img=_rand_bgr(4, 5), gt_img_labels=labels, img_id='x', crop_box=(0, 4, 1, 5),
                   gt_saliency=np.full((4, 5), 0.25, np.float32), gt_superpixels=np.ones((4, 5), np.int32),
                   gt_pseudo_seg=np.full((4, 5), 255, np.uint8), img_view2=np.zeros((2, 3, 3), np.float32),
                   img_path='x.jpg', ori_shape=(4, 5), img_shape=(4, 5))
    packed = PackWSSSInputs()(results)
    ds = packed['data_samples']
    assert packed['inputs'].shape == (3, 4, 5)
    assert ds.gt_img_labels.dtype == torch.float32
    assert ds.gt_img_labels.tolist() == [0, 1, 0, 0, 1]
    assert 'gt_sem_seg' not in ds
    assert ds.gt_saliency.data.shape == (1, 4, 5) and ds.gt_saliency.data.dtype == torch.float32
    assert ds.gt_superpixels.data.dtype == torch.int64
    assert (ds.gt_pseudo_seg.data == 255).all()
    assert ds.img_view2.shape == (3, 2, 3)
    assert ds.metainfo['crop_box'] == (0, 4, 1, 5) and ds.metainfo['img_id'] == 'x'


# ----------------------------------------------------------------------------- loaders
def test_load_saliency_superpixels_pseudo(tmp_path):
    d = str(tmp_path)
    sal = np.array([[0, 255], [51, 102]], np.uint8)
    Image.fromarray(sal, mode='L').save(osp.join(d, 's.png'))
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (1, 2, 3)          # R=1, G=2, B=3 -> 65536 + 512 + 3
    rgb[1, 1, 2] = 7               # blue channel only (ICD's merged maps)
    Image.fromarray(rgb, mode='RGB').save(osp.join(d, 'sp.png'))
    Image.fromarray(np.array([[0, 300], [65535, 2]], np.uint16)).save(osp.join(d, 'sp16.png'))
    Image.fromarray(np.array([[0, 3], [255, 9]], np.uint8), mode='L').save(osp.join(d, 'p.png'))
    base = dict(img_path='img.jpg', ori_shape=(2, 2), seg_fields=[])

    out = LoadSaliencyMap()(dict(base, saliency_path=osp.join(d, 's.png')))
    np.testing.assert_allclose(out['gt_saliency'], [[0, 1], [0.2, 0.4]], atol=1e-6)
    assert out['seg_fields'] == ['gt_saliency']
    out = LoadSuperpixels()(dict(base, superpixel_path=osp.join(d, 'sp.png')))
    np.testing.assert_array_equal(out['gt_superpixels'], [[66051, 0], [0, 7]])
    out = LoadSuperpixels()(dict(base, superpixel_path=osp.join(d, 'sp16.png')))
    np.testing.assert_array_equal(out['gt_superpixels'], [[0, 300], [65535, 2]])
    with pytest.raises(ValueError, match=r'p\.png.*\[9\]'):
        LoadPseudoMask(num_classes=6)(dict(base, pseudo_seg_path=osp.join(d, 'p.png')))
    out = LoadPseudoMask(num_classes=10)(dict(base, pseudo_seg_path=osp.join(d, 'p.png')))
    assert out['gt_pseudo_seg'].tolist() == [[0, 3], [255, 9]]

    with pytest.raises(ValueError, match=r's\.png.*size 2x2.*img\.jpg is 3x2'):
        LoadSaliencyMap()(dict(base, ori_shape=(3, 2), saliency_path=osp.join(d, 's.png')))
    with pytest.raises(FileNotFoundError, match='missing.png: superpixel map file not found'):
        LoadSuperpixels()(dict(base, superpixel_path=osp.join(d, 'missing.png')))
    with open(osp.join(d, 'bad.png'), 'wb') as f:
        f.write(b'not a png at all')
    with pytest.raises(ValueError, match='bad.png: cannot decode the saliency map'):
        LoadSaliencyMap()(dict(base, saliency_path=osp.join(d, 'bad.png')))
    with pytest.raises(KeyError, match="saliency_path"):
        LoadSaliencyMap()(dict(base))
