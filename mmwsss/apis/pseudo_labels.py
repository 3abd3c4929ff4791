"""Pseudo-label generation: CAM files from a model, and pseudo-mask PNGs from CAM files.

Output layout of one generation run (``OUT`` = ``--out-dir`` of ``tools/gen_pseudo.py`` or
``work_dir/pseudo`` of :class:`~mmwsss.engine.hooks.PseudoLabelHook`)::

    OUT/cam/<id>.npy                 mmwsss CAM files (mmwsss/utils/cam_io.py)
    OUT/<mask-kind>/<id>.png         VOC-palette label maps, 0 = background, 255 = ignore

where ``<mask-kind>`` is ``thr_<t>`` (background threshold ``t``, e.g. ``thr_0.20``) or ``crf_a<alpha>``
(psa's dense CRF with background ``(1 - max cam) ** alpha``, e.g. ``crf_a4``). The final stage's config points
its ``PseudoMaskDataset`` at one of these folders.
"""
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np
from PIL import Image

from mmwsss.apis.generation import GenerationSummary, run_jobs, save_label_png, shard
from mmwsss.refinement.cam_utils import cams_to_label_map
from mmwsss.refinement.dense_crf import DenseCRF, marginals_to_label_map, psa_crf_labels
from mmwsss.utils.cam_io import load_cams, save_cams


@dataclass(frozen=True)
class MaskSpec:
    """How to turn CAMs into a pseudo-mask: ``kind`` 'thr' (``value`` = background threshold) or 'crf'
    (``value`` = alpha of psa's background power; ``preset`` = DenseCRF preset)."""
    kind: str
    value: float
    preset: str = 'psa'

    def __post_init__(self):
        if self.kind not in ('thr', 'crf'):
            raise ValueError(f"mask kind must be 'thr' or 'crf', got {self.kind!r}")

    @property
    def dirname(self) -> str:
        if self.kind == 'thr':
            return f'thr_{self.value:.2f}'
        alpha = int(self.value) if float(self.value).is_integer() else self.value
        return f'crf_a{alpha}' + ('' if self.preset == 'psa' else f'_{self.preset}')

    @classmethod
    def parse(cls, text: str) -> 'MaskSpec':
        """``thr:0.2``, ``crf:4`` or ``crf:32:sccam``."""
        parts = text.split(':')
        if len(parts) not in (2, 3) or parts[0] not in ('thr', 'crf'):
            raise ValueError(f"mask spec must look like 'thr:0.2' or 'crf:4[:preset]', got {text!r}")
        return cls(parts[0], float(parts[1]), parts[2] if len(parts) == 3 else 'psa')


def read_rgb(path: str) -> np.ndarray:
    """uint8 (H, W, 3) RGB image; a clear error naming the file when it is missing or unreadable."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: image not found')
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert('RGB'))
    except Exception as e:  # noqa: BLE001
        raise ValueError(f'{path}: unreadable image ({e})') from None


def mask_from_cams(spec: MaskSpec, cams: np.ndarray, class_ids: np.ndarray, img: Optional[np.ndarray] = None,
                   name: str = '') -> np.ndarray:
    """One pseudo-mask (uint8 H x W) from max-normalised CAMs of the present classes."""
    if spec.kind == 'thr':
        return np.asarray(cams_to_label_map(cams, class_ids, spec.value), dtype=np.uint8)
    if img is None:
        raise ValueError(f'{name}: the CRF needs the image')
    if img.shape[:2] != cams.shape[1:]:
        raise ValueError(f'{name}: image is {img.shape[0]}x{img.shape[1]} but its CAMs are '
                         f'{cams.shape[1]}x{cams.shape[2]}')
    q, label_ids = psa_crf_labels(img, cams, class_ids, spec.value, DenseCRF.from_preset(spec.preset), name=name)
    return marginals_to_label_map(q, label_ids).astype(np.uint8)


class _MaskJob:
    """Picklable per-image job for the process pool."""

    def __init__(self, cam_dir: str, img_paths: Dict[str, str], out_dir: str, spec: MaskSpec,
                 num_classes: Optional[int]):
        self.cam_dir, self.img_paths = cam_dir, img_paths
        self.out_dir, self.spec, self.num_classes = out_dir, spec, num_classes

    def output(self, name: str) -> List[str]:
        return [osp.join(self.out_dir, name + '.png')]

    def __call__(self, name: str) -> None:
        img = read_rgb(self.img_paths[name]) if self.spec.kind == 'crf' else None
        cams, ids = load_cams(osp.join(self.cam_dir, name + '.npy'), num_classes=self.num_classes,
                              image_size=None if img is None else img.shape[:2])
        save_label_png(self.output(name)[0], mask_from_cams(self.spec, cams, ids, img, name))


def generate_masks(img_paths: Dict[str, str], cam_dir: str, out_root: str, specs: Sequence[MaskSpec],
                   num_classes: Optional[int] = None, workers: int = 1, rank: int = 0, world_size: int = 1,
                   progress: bool = True) -> Dict[str, GenerationSummary]:
    """Write the pseudo-masks of every spec for this rank's shard of the images ``{id: image path}``.

    Returns one summary per spec (keyed by its folder name).
    """
    mine = shard(sorted(img_paths), rank, world_size)
    out = {}
    for spec in specs:
        job = _MaskJob(cam_dir, img_paths, osp.join(out_root, spec.dirname), spec, num_classes)
        out[spec.dirname] = run_jobs(f'masks {spec.dirname}', mine, job.output, job, workers, progress)
    return out


def dataset_image_paths(dataset) -> Dict[str, str]:
    """``{image id: image path}`` of a dataset, in dataset order (ids must be unique)."""
    paths: Dict[str, str] = {}
    for i in range(len(dataset)):
        path = dataset.get_data_info(i)['img_path']
        name = osp.splitext(osp.basename(path))[0]
        if name in paths:
            raise ValueError(f'image id {name} appears twice in the dataset ({paths[name]}, {path})')
        paths[name] = path
    return paths


def generate_cams(model, dataset, cam_dir: str, rank: int = 0, world_size: int = 1,
                  progress: bool = True) -> GenerationSummary:
    """Run ``model.cam_results`` (e.g. :class:`CAMSegmentor`) over this rank's shard of ``dataset`` and save
    one CAM file per image; existing files are skipped. The dataset's test pipeline must pack image labels
    (``PackWSSSInputs``) when the model gates CAMs with them."""
    import torch
    from mmengine.dataset import pseudo_collate

    names = list(dataset_image_paths(dataset))
    index = {n: i for i, n in enumerate(names)}
    mine = shard(names, rank, world_size)

    def output(name: str) -> List[str]:
        return [osp.join(cam_dir, name + '.npy')]

    def work(name: str) -> None:
        batch = pseudo_collate([dataset[index[name]]])
        with torch.inference_mode():
            data = model.data_preprocessor(batch, False)
            (cams, ids), = model.cam_results(data['inputs'], data['data_samples'])
        save_cams(output(name)[0], cams.float().cpu().numpy(), ids.cpu().numpy())

    was_training = model.training
    model.eval()
    try:
        return run_jobs('CAMs', mine, output, work, workers=1, progress=progress)
    finally:
        model.train(was_training)
