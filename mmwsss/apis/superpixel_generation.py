"""ICD's superpixel stage (icd.md §5.3) over a list of images: raw Felzenszwalb segments (A1) and, with a
VGG16 checkpoint, the greedy merge to at most 64 regions on conv5_3 features (A2).

Output layout (``OUT`` = ``--out-dir`` of ``tools/gen_superpixels.py``)::

    OUT/raw/<id>.png       A1 segments (ids in raster first-occurrence order)
    OUT/merged/<id>.png    A2 merged maps (<= max_regions ids), only with a feature network

Both in the 3-channel ``B + 256 G + 65536 R`` format of :mod:`mmwsss.refinement.superpixels`; point the ICD
config's superpixel folder at ``OUT/merged`` (or ``OUT/raw``: the ICD author reports raw FH superpixels within
1 mIoU of the merged ones, js-fan/ICD#6).
"""
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F

from mmwsss.apis.generation import GenerationSummary, run_jobs, shard
from mmwsss.apis.pseudo_labels import read_rgb
from mmwsss.refinement.superpixels import felzenszwalb_segments, greedy_merge_regions, save_superpixels

__all__ = ['dense_features', 'generate_superpixels']


def dense_features(backbone: torch.nn.Module, rgb: np.ndarray, pad_size: int = 513, pad_value: float = 127.0,
                   mean: float = 0.0) -> np.ndarray:
    """conv5_3 features of ``generate_superpixel.py`` at image resolution, float32 (D, H, W).

    The RGB image (0..255) is padded bottom/right with ``pad_value`` to ``pad_size`` (or its own size if larger),
    ``mean`` is subtracted (the original script subtracts nothing although ICD's network expects -127: keep
    0 to reproduce it, 127 to correct it), the first output of ``backbone`` is resized bilinearly with
    ``align_corners=True`` to the padded size and cropped to the image.
    """
    h, w = rgb.shape[:2]
    size = max(pad_size, h, w)
    x = torch.full((1, 3, size, size), float(pad_value))
    x[0, :, :h, :w] = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float()
    x = x - mean
    device = next(backbone.parameters()).device
    with torch.inference_mode():
        feat = backbone(x.to(device))
        feat = feat[0] if isinstance(feat, (list, tuple)) else feat
        feat = F.interpolate(feat, size=(size, size), mode='bilinear', align_corners=True)
    return feat[0, :, :h, :w].float().cpu().numpy()


class _SuperpixelJob:
    """Per-image job: raw segments, then (with a backbone) the merged map."""

    def __init__(self, img_paths: Dict[str, str], out_dir: str, backbone: Optional[torch.nn.Module], k: float,
                 sigma: float, min_size: int, max_regions: int, pad_size: int, mean: float):
        self.img_paths, self.out_dir, self.backbone = img_paths, out_dir, backbone
        self.k, self.sigma, self.min_size, self.max_regions = k, sigma, min_size, max_regions
        self.pad_size, self.mean = pad_size, mean

    def output(self, name: str) -> List[str]:
        outs = [osp.join(self.out_dir, 'raw', name + '.png')]
        if self.backbone is not None:
            outs.append(osp.join(self.out_dir, 'merged', name + '.png'))
        return outs

    def __call__(self, name: str) -> None:
        rgb = read_rgb(self.img_paths[name])
        raw = felzenszwalb_segments(rgb, self.k, self.sigma, self.min_size)
        outs = self.output(name)
        if self.backbone is not None:
            feats = dense_features(self.backbone, rgb, self.pad_size, mean=self.mean)
            merged = greedy_merge_regions(raw, feats, self.max_regions)
            save_superpixels(outs[1], merged)
        save_superpixels(outs[0], raw)


def generate_superpixels(img_paths: Dict[str, str], out_dir: str, backbone: Optional[torch.nn.Module] = None,
                         k: float = 75, sigma: float = 0.8, min_size: int = 75, max_regions: int = 64,
                         pad_size: int = 513, mean: float = 0.0, rank: int = 0, world_size: int = 1,
                         progress: bool = True) -> GenerationSummary:
    """Superpixels of this rank's shard of ``{id: image path}`` (see the module docstring); existing outputs
    are skipped, failures are listed in the summary."""
    if backbone is not None:
        backbone.eval()
    job = _SuperpixelJob(img_paths, out_dir, backbone, k, sigma, min_size, max_regions, pad_size, mean)
    what = 'superpixels' + (' (raw + merged)' if backbone is not None else ' (raw)')
    return run_jobs(what, shard(sorted(img_paths), rank, world_size), job.output, job, workers=1, progress=progress)
