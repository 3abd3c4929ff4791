"""Two-threshold pseudo-mask refinement (refine_cams_with_bkg_v1; rtc.md §3.4 step 3) on hand cases."""
import torch

from mmwsss.models.utils import VARM, combine_two_thresholds, refine_cams_with_bkg


def test_combine_two_thresholds():
    high = torch.tensor([[3, 0, 0, 255]])
    low = torch.tensor([[3, 0, 2, 255]])
    assert combine_two_thresholds(high, low).tolist() == [[3, 0, 255, 255]]


def test_refine_cams_with_bkg_hand_case():
    # down_scale 1 and a 0-iteration VARM: the resizes and the refiner are the identity, so every pixel is
    # decided by argmax of softmax([0.55 | 0.20, cams of bg + labelled classes]).
    cams = torch.zeros(1, 3, 2, 4)
    cams[0, 0] = torch.tensor([[0.9, 0.4, 0.1, 0.9], [0.0, 0.0, 0.0, 0.0]])  # class 1 (labelled)
    cams[0, 1] = 0.95  # class 2: NOT in the image labels -> never chosen
    cams[0, 2] = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.7, 0.3, 0.05, 0.0]])  # class 3 (labelled)
    labels = torch.tensor([[1., 0., 1.]])
    out = refine_cams_with_bkg(VARM(num_iter=0),
                               torch.rand(1, 3, 2, 4),
                               cams,
                               labels,
                               crop_boxes=[(0, 2, 0, 3)],
                               down_scale=1)
    # (0,0) 0.9 > 0.55 -> 1; (0,1) 0.4: bg at 0.55, class at 0.20 -> ignore; (0,2) 0.1 -> bg at both -> 0;
    # (1,0) 0.7 -> 3; (1,1) 0.3 -> ignore; (1,2) 0.05 -> 0; column 3 is outside the crop box -> 255.
    assert out.tolist() == [[[1, 255, 0, 255], [3, 255, 0, 255]]]
    assert out.dtype == torch.long
    whole = refine_cams_with_bkg(VARM(num_iter=0), torch.rand(1, 3, 2, 4), cams, labels, None, down_scale=1)
    assert whole[0, 0, 3] == 1  # no crop box: the whole image is valid


def test_refine_cams_with_bkg_downscale_runs_refiner_at_half_size():
    calls = []

    class Recorder(VARM):

        def forward(self, img, masks):
            calls.append((tuple(img.shape), tuple(masks.shape)))
            return super().forward(img, masks)

    cams = torch.rand(2, 5, 8, 6)
    labels = torch.tensor([[1., 0, 0, 1, 0], [0., 0, 0, 0, 1]])
    out = refine_cams_with_bkg(Recorder(num_iter=2, dilations=(1, )), torch.rand(2, 3, 8, 6), cams, labels)
    # one refiner call per image, high and low masks together: 2 x (bg + labelled classes) channels
    assert calls == [((1, 3, 4, 3), (1, 6, 4, 3)), ((1, 3, 4, 3), (1, 4, 4, 3))]
    assert set(out[0].unique().tolist()) <= {0, 1, 4, 255} and set(out[1].unique().tolist()) <= {0, 5, 255}
