"""RTCCAMHead (projection, classifier, FCM) and RTCSegHead against the layer definitions of rtc.md §2.2."""
import math

import torch
import torch.nn.functional as F

from mmwsss.models.decode_heads import RTCCAMHead, RTCSegHead
from mmwsss.models.utils import pcm_refine, pcm_seed

TOY_CAM = dict(in_channels=(32, 64, 256), channels=16, num_classes=6, aff_channels=(8, 16, 16, 16, 8))
TOY_SEG = dict(in_channels=(16, 256), mid_channels=32, channels=16, low_channels=8, num_classes=6, dilation=2)


def _feats(requires_grad=False):
    torch.manual_seed(0)
    shapes = [(2, 16, 16, 16), (2, 32, 8, 8), (2, 64, 8, 8), (2, 256, 8, 8)]  # conv3, conv4, conv5, conv6
    return [torch.rand(s, requires_grad=requires_grad) for s in shapes]


def test_cam_head_outputs_and_fcm_formula():
    head = RTCCAMHead(**TOY_CAM).eval()
    feats = _feats()
    img = torch.randn(2, 3, 64, 64)
    out = head(feats, img)
    assert out['cam'].shape == (2, 6, 8, 8) and out['f_proj'].shape == (2, 16, 8, 8)
    assert out['cam_rv'].shape == (2, 6, 8, 8)
    # f_proj = ReLU(proj1(conv6)) (eval: no dropout); cam = classifier1(f_proj)
    f_proj = F.relu(F.conv2d(feats[3], head.proj1.weight))
    torch.testing.assert_close(out['f_proj'], f_proj)
    torch.testing.assert_close(out['cam'], F.conv2d(f_proj, head.classifier1.weight))
    # FCM: mean of PCM with f9_1([f8_4, f8_5]) and f9_2([image at 8x8 (align_corners), f8_3])
    f83 = F.relu(F.conv2d(feats[1], head.f8_3.weight))
    f84 = F.relu(F.conv2d(feats[2], head.f8_4.weight))
    f85 = F.relu(F.conv2d(feats[3], head.f8_5.weight))
    x_s = F.interpolate(img, (8, 8), mode='bilinear', align_corners=True)
    high = F.conv2d(torch.cat([f84, f85], 1), head.f9_1.weight)
    low = F.conv2d(torch.cat([x_s, f83], 1), head.f9_2.weight)
    seed = pcm_seed(out['cam'])
    torch.testing.assert_close(out['cam_rv'], (pcm_refine(seed, high) + pcm_refine(seed, low)) / 2)


def test_cam_head_gradient_routing():
    head = RTCCAMHead(**TOY_CAM).train()
    feats = _feats(requires_grad=True)
    out = head(feats, torch.randn(2, 3, 64, 64))
    out['cam_rv'].sum().backward(retain_graph=True)
    for name, p in head.named_parameters():
        has = p.grad is not None and p.grad.abs().sum() > 0
        assert has == name.startswith(('f8_', 'f9_')), name  # refined CAM trains only the affinity layers
    assert all(f.grad is None for f in feats)  # conv4/5/6 are detached inside the FCM
    head.zero_grad()
    out['cam'].sum().backward()
    assert feats[3].grad is not None and head.proj1.weight.grad is not None
    assert head.f9_1.weight.grad is None


def test_cam_head_initialisation():
    head = RTCCAMHead()  # full width
    bound = 4 * math.sqrt(6 / (256 + 128))  # f9_1: xavier_uniform gain 4, fan_in 256, fan_out 128
    w = head.f9_1.weight
    assert w.abs().max() <= bound and w.abs().max() > 0.95 * bound
    std = head.f8_5.weight.std().item()  # kaiming_normal fan_in 4096, gain sqrt(2)
    assert abs(std - math.sqrt(2 / 4096)) < 0.05 * math.sqrt(2 / 4096)
    assert head.f9_2.weight.shape == (64, 67, 1, 1) and head.fc8 is None
    assert all(m.bias is None for m in (head.proj1, head.classifier1, head.f8_3, head.f9_1))


def test_seg_head_shapes_biases_and_gradients():
    head = RTCSegHead(**TOY_SEG)
    feats = _feats(requires_grad=True)
    out = head(feats)
    assert out.shape == (2, 6, 16, 16)  # stride 4 (conv3 size)
    biased = {n for n, _ in head.named_parameters() if n.endswith('bias')}
    assert biased == {'fc8_seg_conv1.bias', 'fc8_seg_conv2.bias'}
    assert head.fc8_seg_conv1.dilation == (2, 2) and head.fc8_seg_conv1.padding == (2, 2)
    out.sum().backward()
    assert feats[0].grad is not None and feats[3].grad is not None  # conv3 and conv6 NOT detached
    assert feats[1].grad is None and feats[2].grad is None
    full = RTCSegHead()
    assert full.fc8_seg_conv1.weight.shape == (512, 4096, 3, 3) and full.proj2.weight.shape == (256, 304, 1, 1)
