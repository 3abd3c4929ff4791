"""SEAM terms, RTC struct loss, prototype InfoNCE and the class-balanced CE on hand-computed cases
(rtc.md §3.1-3.4)."""
import math

import numpy as np
import torch
import torch.nn.functional as F

from mmwsss.models.losses import (BalancedMaskCELoss, PrototypeInfoNCELoss, adaptive_min_pooling_loss, balanced_mask_ce,
                                  ecr_loss, er_loss, prototype_info_nce, wta_struct_loss)
from mmwsss.models.losses.seam_losses import topk_count


def test_topk_counts_of_the_spec():
    assert topk_count(21, 128, 128, 0.2) == 68812  # ECR, rtc.md §3.1
    assert topk_count(20, 128, 128, 0.8) == 262144  # struct, rtc.md §3.2


def test_adaptive_min_pooling_loss():
    x = torch.zeros(2, 2, 2, 2)
    x[0, 0] = torch.tensor([[0.3, -0.2], [0.5, 0.1]])
    x[0, 1] = torch.tensor([[0.1, -0.5], [0.2, 0.9]])  # per-pixel max image 0: [[0.3, -0.2], [0.5, 0.9]]
    x[1, 0] = torch.tensor([[0.4, 0.6], [0.7, 0.8]])
    # k = 4 // 4 = 1 smallest per image: -0.2 -> ReLU 0, and 0.4; sum / (k N) = 0.4 / 2
    torch.testing.assert_close(adaptive_min_pooling_loss(x), torch.tensor(0.2))


def test_er_loss_ignores_background():
    c1 = torch.tensor([[[[5., 5.]], [[0.2, 0.4]], [[0.0, 1.0]]]])
    c2 = torch.tensor([[[[0., 0.]], [[0.1, 0.4]], [[0.5, 0.5]]]])
    torch.testing.assert_close(er_loss(c1, c2), torch.tensor((0.1 + 0.0 + 0.5 + 0.5) / 4))


def test_ecr_loss_hand_case_and_gradient_routing():
    c2 = torch.tensor([[[[0.2, 0.6]], [[0.8, 0.1]], [[0.3, 0.4]]]], requires_grad=True)
    r1 = torch.zeros(1, 3, 1, 2, requires_grad=True)
    c1 = torch.zeros(1, 3, 1, 2, requires_grad=True)
    r2 = torch.tensor([[[[0.1, 0.2]], [[0.3, 0.0]], [[0.0, 0.0]]]], requires_grad=True)
    # k = int(3*1*2*0.5) = 3; |max_onehot(c2) - r1| = [.2 .6 | .8 0 | 0 .4] -> top3 mean 0.6
    # |max_onehot(c1) - r2| = [.1 .2 | .3 0 | 0 0] -> top3 mean 0.2
    loss = ecr_loss(c1, c2, r1, r2, ratio=0.5)
    torch.testing.assert_close(loss, torch.tensor(0.8))
    loss.backward()
    assert c1.grad is None and c2.grad is None  # targets detached
    assert r1.grad.abs().sum() > 0 and r2.grad.abs().sum() > 0


def test_wta_struct_loss_hand_case_and_gradient():
    refined = torch.tensor([[[[9., 9.]], [[0.7, 0.2]], [[0.1, 0.5]]]], requires_grad=True)
    cam = torch.tensor([[[[0., 0.]], [[0.3, 0.6]], [[0.4, 0.1]]]], requires_grad=True)
    # WTA(refined) fg = [.7 0 | 0 .5]; WTA(cam) fg = [0 .6 | .4 0]; |diff| = [.7 .6 | .4 .5]; k = 2 -> 0.65
    loss = wta_struct_loss(refined, cam, ratio=0.5)
    torch.testing.assert_close(loss, torch.tensor(0.65))
    loss.backward()
    assert refined.grad is None
    expected = torch.zeros(1, 3, 1, 2)
    expected[0, 1, 0, 1] = 0.5  # only the kept maximum of cam inside the top-k gets gradient
    torch.testing.assert_close(cam.grad, expected)


def test_prototype_info_nce_equals_the_written_out_formula():
    rng = np.random.default_rng(0)
    f = rng.standard_normal((5, 3))
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    p = rng.standard_normal((4, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    y = np.array([0, 3, 1, 1, 2])
    s = f @ p.T / 0.1
    ref = np.mean(-np.log(np.exp(s[np.arange(5), y]) / np.exp(s).sum(1)))
    out = prototype_info_nce(torch.from_numpy(f), torch.from_numpy(p), torch.from_numpy(y), 0.1)
    assert abs(float(out) - ref) < 1e-10
    loss = PrototypeInfoNCELoss()(torch.from_numpy(f), torch.from_numpy(p), torch.from_numpy(y))
    assert abs(float(loss) - 0.1 * ref) < 1e-10  # RTC's internal 0.1


def test_balanced_mask_ce_hand_case_with_gating():
    logits = torch.zeros(2, 3, 1, 1)
    logits[0, :, 0, 0] = torch.tensor([1., 2., 0.])  # constant after the align_corners upsampling
    target = torch.tensor([[[0, 1], [1, 255]], [[0, 0], [0, 0]]])
    labels = torch.tensor([[1., 0.], [1., 0.]])
    per_image = balanced_mask_ce(logits, target, labels)
    lse = math.log(math.e + math.e**2 + 1)
    # image 0: T = 3, n0 = 1 -> w0 = 2/4, n1 = 2 -> w1 = 1/4; mean over all 4 pixels (ignored one = 0);
    # classes in mask {0, 1} = labels + bg -> kept
    exp0 = (0.5 * (lse - 1) + 2 * 0.25 * (lse - 2)) / 4
    # image 1: only background in the mask but one image label -> batch weight 0
    torch.testing.assert_close(per_image, torch.tensor([exp0, 0.0]))
    torch.testing.assert_close(BalancedMaskCELoss()(logits, target, labels), torch.tensor(exp0 / 2))


def test_balanced_mask_ce_upsamples_with_align_corners():
    logits = torch.zeros(1, 2, 2, 2)
    logits[0, 1] = torch.tensor([[0., 3.], [0., 3.]])
    target = torch.ones(1, 2, 3, dtype=torch.long)
    target[0, :, 0] = 0  # two classes in the mask, one image label
    up = F.interpolate(logits, size=(2, 3), mode='bilinear', align_corners=True)  # middle column 1.5
    ce = F.cross_entropy(up, target, reduction='none')[0]
    w = torch.tensor([[4 / 7, 2 / 7, 2 / 7]] * 2)  # T = 6: n0 = 2 -> 4/7, n1 = 4 -> 2/7
    expected = (w * ce).mean()
    torch.testing.assert_close(balanced_mask_ce(logits, target, torch.tensor([[1.]]))[0], expected)
