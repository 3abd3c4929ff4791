import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from mmwsss.apis import multi_scale_cams, resize_normalized, scaled_size


def test_scaled_size_uses_bankers_rounding():
    # psa: (round(W*s), round(H*s)) with Python's round: 187.5 -> 188, 186.5 -> 186
    assert scaled_size((375, 373), 0.5) == (188, 186)
    assert scaled_size((500, 375), 1.5) == (750, 562)  # 562.5 -> 562
    assert scaled_size((10, 10), 2.0) == (20, 20)


def _column_cam(x):
    """A 'network' at stride 2 whose only CAM is the mean of the input's first channel minus its column index."""
    pooled = F.avg_pool2d(x[:, :1], 2)
    cols = torch.arange(pooled.shape[-1], dtype=x.dtype).view(1, 1, 1, -1)
    return torch.cat([pooled - cols, 5 - cols.expand_as(pooled)], dim=1)


def test_multi_scale_flip_sum_is_psa_sum():
    torch.manual_seed(0)
    img = torch.rand(1, 3, 8, 12)
    got = multi_scale_cams(_column_cam, img, scales=(1.0, 0.5), flip=True)
    # psa: for every input (scale, flip) relu -> bilinear upsample to HxW -> unflip -> sum
    want = torch.zeros(2, 8, 12)
    for s in (1.0, 0.5):
        size = (round(8 * s), round(12 * s))
        x = img if s == 1.0 else F.interpolate(img, size=size, mode='bicubic', align_corners=False, antialias=True)
        for flip in (False, True):
            xi = x.flip(-1) if flip else x
            c = F.interpolate(F.relu(_column_cam(xi)), size=(8, 12), mode='bilinear', align_corners=False)[0]
            want += c.flip(-1) if flip else c
    torch.testing.assert_close(got, want)


def test_resize_like_pil_bicubic():
    """Tensor resize of a normalised image vs PIL bicubic on the uint8 image: small, measured difference."""
    rng = np.random.default_rng(0)
    # smooth image (PIL and torch bicubic kernels agree away from hard edges)
    yy, xx = np.mgrid[0:60, 0:80]
    arr = np.stack([128 + 100 * np.sin(xx / 7.0), 128 + 90 * np.cos(yy / 9.0), 128 + 50 * np.sin((xx + yy) / 11.0)], -1)
    arr = np.clip(arr + rng.normal(0, 2, arr.shape), 0, 255).astype(np.uint8)
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    x = (torch.from_numpy(arr).permute(2, 0, 1).float() - mean) / std
    for size in ((30, 40), (90, 120)):
        pil = np.asarray(Image.fromarray(arr).resize((size[1], size[0]), Image.BICUBIC)).astype(np.float32)
        ours = resize_normalized(x[None], size, mean, std)[0] * std + mean
        diff = np.abs(ours.permute(1, 2, 0).numpy() - pil)
        assert diff.mean() < 1.0 and diff.max() <= 6, (size, diff.mean(), diff.max())


def test_multi_scale_rejects_batches():
    with pytest.raises(ValueError, match='one image'):
        multi_scale_cams(_column_cam, torch.zeros(2, 3, 8, 8))
