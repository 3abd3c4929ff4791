"""Contrast pseudo labels, cross-view prototypes and the CAM feedback (rtc.md §3.2) on hand cases and
against a per-class loop written after the original training loop."""
import math

import torch
import torch.nn.functional as F

from mmwsss.models.utils import (class_topk, contrast_pseudo_labels, feedback_cams, flatten_positions,
                                 prototype_class_relation, weighted_prototypes)

E = 1e-5


def test_contrast_pseudo_labels_hand_case():
    scores = torch.tensor([[[[7., 7., 7.]], [[0.0, 0.5, 1.0]], [[2., 2., 4.]]]])
    p, y = contrast_pseudo_labels(scores, torch.tensor([1., 1., 0.]).view(1, 3, 1, 1), 0.2)
    assert torch.all(p[0, 0] == 0.2)
    torch.testing.assert_close(p[0, 1, 0], torch.tensor([-E / (1 + E), (0.5 - E) / (1 + E), (1 - E) / (1 + E)]))
    # class 2: values below min + 1e-5 become 0 before the shift -> about -1; NOT label-masked
    torch.testing.assert_close(p[0, 2, 0], torch.tensor([-(2 + E) / (2 + E), -(2 + E) / (2 + E), (2 - E) / (2 + E)]))
    assert y.tolist() == [[[0, 1, 1]]]
    _, y2 = contrast_pseudo_labels(scores, torch.ones(1, 3, 1, 1), 0.2)
    assert y2.tolist() == [[[0, 1, 2]]]  # (2 - e)/(2 + e) > (1 - e)/(1 + e)


def test_class_topk_flattens_over_the_batch():
    scores = torch.zeros(2, 2, 1, 2)
    scores[0, 1, 0] = torch.tensor([0.1, 0.9])
    scores[1, 1, 0] = torch.tensor([0.5, 0.3])
    v, i = class_topk(scores, 2)
    torch.testing.assert_close(v[1], torch.tensor([0.9, 0.5]))
    assert i[1].tolist() == [1, 2]  # (n, y, x) order
    feats = torch.arange(8.).reshape(2, 2, 1, 2)
    assert flatten_positions(feats)[2].tolist() == [4., 6.]  # image 1, pixel 0


def test_weighted_prototypes():
    out = weighted_prototypes(torch.tensor([[2., 1.]]), torch.tensor([[[1., 0.], [0., 3.]]]))
    torch.testing.assert_close(out, torch.tensor([[2 / 3, 1.0]]))


def test_feedback_cams_hand_case():
    scores = torch.zeros(1, 2, 1, 2)
    values = torch.tensor([[0.8, 0.2], [0.8, 0.2]])
    tokens = torch.tensor([[[2., 0.], [0., 5.]]] * 2)  # normalised inside: (1, 0), (0, 1)
    queries = torch.tensor([[3., 0.], [0., 1.]])
    present = torch.tensor([True, False])
    out = feedback_cams(scores, values, tokens, queries, present)
    e = math.e
    expected = torch.tensor([(0.8 * e + 0.2) / (e + 1), (0.8 + 0.2 * e) / (e + 1)])
    torch.testing.assert_close(out[0, 0, 0], expected)
    assert torch.all(out[0, 1] == 0)  # absent class unchanged


def _loop_reference(s1, s2, f1, f2, label, k):
    """The original's per-class loop (contrast_train.py), written out."""
    c = s1.shape[1]
    n, h, w = s1.shape[0], s1.shape[2], s1.shape[3]
    v1, i1 = torch.topk(s1.transpose(0, 1).reshape(c, -1), k=k, dim=-1)
    v2, i2 = torch.topk(s2.transpose(0, 1).reshape(c, -1), k=k, dim=-1)
    fea1 = f1.permute(0, 2, 3, 1).reshape(-1, f1.shape[1])
    fea2 = f2.permute(0, 2, 3, 1).reshape(-1, f2.shape[1])
    p1, p2 = torch.zeros(c, fea1.shape[1]), torch.zeros(c, fea1.shape[1])
    new1, new2 = torch.zeros_like(s1), torch.zeros_like(s2)
    num = label.flatten(1).sum(0)
    for i in range(c):
        t1 = fea2[i1[i]]
        p1[i] = (v1[i].unsqueeze(-1) * t1).sum(0) / v1[i].sum()
        t2 = fea1[i2[i]]
        p2[i] = (v2[i].unsqueeze(-1) * t2).sum(0) / v2[i].sum()
        if num[i] == 0:
            new1[:, i], new2[:, i] = s1[:, i], s2[:, i]
        else:
            att = F.softmax(F.normalize(fea2, dim=-1) @ F.normalize(t1, dim=-1).t(), dim=1)
            new1[:, i] = s1[:, i] + (att @ v1[i].unsqueeze(-1)).view(n, h, w)
            att = F.softmax(F.normalize(fea1, dim=-1) @ F.normalize(t2, dim=-1).t(), dim=1)
            new2[:, i] = s2[:, i] + (att @ v2[i].unsqueeze(-1)).view(n, h, w)
    return F.normalize(p1, dim=-1), F.normalize(p2, dim=-1), new1, new2


def test_vectorised_prototypes_and_feedback_match_the_per_class_loop():
    torch.manual_seed(0)
    n, c, d, h, w, k = 2, 4, 6, 3, 3, 2
    s1, s2 = torch.rand(n, c, h, w), torch.rand(n, c, h, w)
    f1, f2 = torch.rand(n, d, h, w), torch.rand(n, d, h, w)
    label = torch.tensor([[1., 1., 0., 0.], [1., 0., 0., 1.]]).view(n, c, 1, 1)
    ref = _loop_reference(s1, s2, f1, f2, label, k)
    v1, i1 = class_topk(s1, k)
    v2, i2 = class_topk(s2, k)
    tok1, tok2 = flatten_positions(f2)[i1], flatten_positions(f1)[i2]
    present = label.flatten(1).sum(0) > 0
    torch.testing.assert_close(F.normalize(weighted_prototypes(v1, tok1), dim=-1), ref[0])
    torch.testing.assert_close(F.normalize(weighted_prototypes(v2, tok2), dim=-1), ref[1])
    torch.testing.assert_close(feedback_cams(s1, v1, tok1, flatten_positions(f2), present), ref[2])
    torch.testing.assert_close(feedback_cams(s2, v2, tok2, flatten_positions(f1), present), ref[3])


def test_prototype_class_relation():
    p1 = torch.eye(3)
    p2 = torch.tensor([[0.6, 0.8, 0.], [0.8, 0.6, 0.], [0., 0., 1.]])
    present = torch.tensor([True, True, False])
    # ordered pairs (0,1): <p1_0, p2_1> = 0.8; (1,0): <p1_1, p2_0> = 0.8
    expected = 0.5 * -math.log(1 - 0.8)
    assert abs(float(prototype_class_relation(p1, p2, present)) - expected) < 1e-6
    assert float(prototype_class_relation(p1, p2, torch.tensor([True, False, False]))) == 0.0
