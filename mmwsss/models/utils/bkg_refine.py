"""Two-threshold pseudo-mask refinement of RTC's segmentation branch
(``ChunyanWang1/RTC:network/losses.py (refine_cams_with_bkg_v1)``, identical to ``_v2``; rtc.md §3.4 step 3)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

__all__ = ['refine_cams_with_bkg', 'combine_two_thresholds']


def combine_two_thresholds(label_high: Tensor, label_low: Tensor, ignore_index: int = 255) -> Tensor:
    """Merge the label maps of the high and the low background score.

    * the high-threshold label where it is foreground (a confident object),
    * 0 where both are background,
    * ``ignore_index`` where the high score says background but the low one foreground (uncertain).
    Pixels already ``ignore_index`` in ``label_high`` (outside the crop) stay ignored.
    """
    out = label_high.clone()
    out[label_high == 0] = ignore_index
    out[(label_high == 0) & (label_low == 0)] = 0
    return out


def _box_mask(h: int, w: int, box: Optional[Sequence[int]], device) -> Tensor:
    mask = torch.zeros((h, w), dtype=torch.bool, device=device)
    if box is None:
        mask[:] = True
    else:
        y0, y1, x0, x1 = (int(v) for v in box)
        mask[y0:y1, x0:x1] = True
    return mask


@torch.no_grad()
def refine_cams_with_bkg(refiner: nn.Module,
                         images: Tensor,
                         cams: Tensor,
                         img_labels: Tensor,
                         crop_boxes: Optional[Sequence[Optional[Sequence[int]]]] = None,
                         bg_scores: Tuple[float, float] = (0.55, 0.20),
                         down_scale: int = 2,
                         ignore_index: int = 255) -> Tensor:
    """Pseudo-masks (N, H, W) int64 in {0..C-1, ignore_index} from foreground CAMs.

    For each background score ``b`` (high 0.55, low 0.20): ``[b, cams]`` and the image are resized by
    ``1 / down_scale`` (bilinear, align_corners=False); per image the channels of the background and the
    labelled classes are soft-maxed, refined by ``refiner`` (VARM), resized back (bilinear,
    align_corners=False) and arg-maxed to class ids. The two maps are merged by
    :func:`combine_two_thresholds`; everything outside the image's ``crop_box`` (y0, y1, x0, x1) is
    ``ignore_index``. The high- and low-score masks of one image share one refiner call (the refiner treats
    channels independently, so this equals two calls).

    Args:
        refiner: maps (img (1, 3, h, w) in [0, 1], masks (1, K, h, w)) to refined masks.
        images: (N, 3, H, W) RGB in [0, 1].
        cams: (N, C-1, H, W) foreground scores (RTC: max-normed, label-masked PCM CAMs).
        img_labels: (N, C-1) multi-hot image labels.
        crop_boxes: per image ``(y0, y1, x0, x1)`` of the valid region, or None (whole image).
    """
    n, _, h, w = images.shape
    if cams.shape[0] != n or cams.shape[-2:] != images.shape[-2:]:
        raise ValueError(f'cams {tuple(cams.shape)} do not match images {tuple(images.shape)}')
    if img_labels.shape != (n, cams.shape[1]):
        raise ValueError(f'image labels {tuple(img_labels.shape)} do not match cams {tuple(cams.shape)}')
    size = (h // down_scale, w // down_scale)
    small_imgs = F.interpolate(images, size=size, mode='bilinear', align_corners=False)
    small = []
    for b in bg_scores:
        with_bg = torch.cat([torch.full_like(cams[:, :1], b), cams], dim=1)
        small.append(F.interpolate(with_bg, size=size, mode='bilinear', align_corners=False))
    out = torch.full((n, h, w), ignore_index, dtype=torch.long, device=cams.device)
    for i in range(n):
        keys = torch.cat([cams.new_zeros(1, dtype=torch.long), torch.nonzero(img_labels[i] > 0).flatten() + 1])
        k = keys.numel()
        masks = torch.cat([s[i, keys].softmax(dim=0) for s in small], dim=0)[None]  # (1, 2k, h', w')
        refined = refiner(small_imgs[i:i + 1], masks)
        refined = F.interpolate(refined, size=(h, w), mode='bilinear', align_corners=False)[0]
        lab_h = keys[refined[:k].argmax(dim=0)]
        lab_l = keys[refined[k:].argmax(dim=0)]
        merged = combine_two_thresholds(lab_h, lab_l, ignore_index)
        box = _box_mask(h, w, None if crop_boxes is None else crop_boxes[i], cams.device)
        out[i][box] = merged[box]
    return out
