"""SEAM/RTC CAM operations against hand-computed values (rtc.md §2.2 FCM, §3.1 max_norm / max_onehot)."""
import torch
import torch.nn.functional as F

from mmwsss.models.utils import bilinear_upsampled_mean, fg_background, max_onehot, pcm_seed, seam_max_norm
from mmwsss.refinement.cam_utils import max_normalize

E = 1e-5


def test_seam_max_norm_hand_values():
    p = torch.tensor([[[[-1., 0.], [2., 4.]], [[1., 2.], [3., 5.]]]])  # (1, 2, 2, 2)
    out = seam_max_norm(p)
    # channel 0: ReLU -> [0, 0, 2, 4], min 0, max 4
    exp0 = torch.tensor([[0., 0.], [(2 - E) / (4 + E), (4 - E) / (4 + E)]])
    # channel 1: min 1, max 5 -> (p - 1 - e) / (4 + e), ReLU'd
    exp1 = torch.tensor([[0., (1 - E) / (4 + E)], [(2 - E) / (4 + E), (4 - E) / (4 + E)]])
    torch.testing.assert_close(out[0, 0], exp0)
    torch.testing.assert_close(out[0, 1], exp1)
    # psa's max_normalize (S / (max + eps)) is a different normalisation when the minimum is not 0
    assert not torch.allclose(max_normalize(F.relu(p))[0, 1], exp1, atol=1e-3)


def test_fg_background_and_max_onehot_keep_ties_and_background():
    x = torch.tensor([[[[0.3, 0.7]], [[0.5, 0.2]], [[0.5, 0.1]], [[0.1, 0.6]]]], requires_grad=True)
    torch.testing.assert_close(fg_background(x.detach())[0, 0, 0], torch.tensor([0.5, 0.4]))
    out = max_onehot(x)
    expected = torch.tensor([[[[0.3, 0.7]], [[0.5, 0.0]], [[0.5, 0.0]], [[0.0, 0.6]]]])
    torch.testing.assert_close(out.detach(), expected)
    w = torch.arange(1., 9.).reshape(1, 4, 1, 2)
    (out * w).sum().backward()
    kept = torch.tensor([[[[1., 1.]], [[1., 0.]], [[1., 0.]], [[0., 1.]]]])
    torch.testing.assert_close(x.grad, w * kept)  # gradient only through kept entries (and channel 0)


def test_max_onehot_does_not_modify_its_input():
    x = torch.tensor([[[[0.3]], [[0.5]], [[0.2]]]])
    max_onehot(x)
    assert x[0, 2, 0, 0] == 0.2


def test_pcm_seed_hand_values_and_no_grad():
    cam = torch.tensor([[[[5., -1.]], [[2., 1.]], [[1., 4.]]]], requires_grad=True)
    seed = pcm_seed(cam)
    a1 = (2 - E) / (2 + E)  # class 1 at pixel 0 (peak 2)
    a2 = (4 - E) / (4 + E)  # class 2 at pixel 1 (peak 4)
    expected = torch.tensor([[[[1 - a1, 1 - a2]], [[a1, 0.]], [[0., a2]]]])
    torch.testing.assert_close(seed, expected)
    assert not seed.requires_grad


def test_pcm_seed_competes_over_all_foreground_channels_without_labels():
    # class 2 dominates everywhere -> class 1 is suppressed although it is the only "labelled" class
    cam = torch.tensor([[[[0., 0.]], [[1., 2.]], [[3., 3.]]]])
    seed = pcm_seed(cam)
    assert torch.all(seed[0, 1] == 0)


def test_bilinear_upsampled_mean_equals_interpolate_then_mean():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 7, 5, dtype=torch.float64)
    for ac in (True, False):
        ref = F.interpolate(x, size=(23, 17), mode='bilinear', align_corners=ac).mean(dim=(2, 3))
        torch.testing.assert_close(bilinear_upsampled_mean(x, (23, 17), ac), ref)
