"""Pseudo-label generation: CAM files from a model, and pseudo-mask PNGs from CAM files.

Output layout of one generation run (``OUT`` = ``--out-dir`` of ``tools/gen_pseudo.py`` or
``work_dir/pseudo`` of :class:`~mmwsss.engine.hooks.PseudoLabelHook`)::

    OUT/cam/<id>.npy                 mmwsss CAM files (mmwsss/utils/cam_io.py)
    OUT/<mask-kind>/<id>.png         VOC-palette label maps, 0 = background, 255 = ignore

where ``<mask-kind>`` is ``thr_<t>`` (background threshold ``t``, e.g. ``thr_0.20``), ``crf_a<alpha>``
(psa's dense CRF with background ``(1 - max cam) ** alpha``, e.g. ``crf_a4``) or ``lcrf_<t>_<preset>``
(the threshold-``t`` label map refined by a label-unary dense CRF over all classes, RTC's ``--out_crf``:
``lcrf:0.17`` gives ``lcrf_0.17_rtc``). The final stage's config points
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
    """How to turn CAMs into a pseudo-mask: ``kind`` 'thr' (``value`` = background threshold), 'crf'
    (``value`` = alpha of psa's background power; ``preset`` = DenseCRF preset, default 'psa') or 'lcrf'
    (``value`` = background threshold; the label map is refined by a label-unary CRF, default preset 'rtc')."""
    kind: str
    value: float
    preset: Optional[str] = None

    KINDS = ('thr', 'crf', 'lcrf')
    DEFAULT_PRESETS = {'thr': None, 'crf': 'psa', 'lcrf': 'rtc'}

    def __post_init__(self):
        if self.kind not in self.KINDS:
            raise ValueError(f"mask kind must be one of {self.KINDS}, got {self.kind!r}")
        if self.preset is None:
            object.__setattr__(self, 'preset', self.DEFAULT_PRESETS[self.kind])
        if self.kind != 'thr':
            DenseCRF.preset_kwargs(self.preset)  # unknown preset -> error now, not per image
        if self.kind == 'lcrf' and DenseCRF.preset_kwargs(self.preset).get('unary') != 'label':
            raise ValueError(f"lcrf needs a DenseCRF preset with a label unary (e.g. 'rtc'), "
                             f"{self.preset!r} has a probability unary")

    @property
    def dirname(self) -> str:
        if self.kind == 'thr':
            return f'thr_{self.value:.2f}'
        if self.kind == 'lcrf':
            return f'lcrf_{self.value:.2f}_{self.preset}'
        alpha = int(self.value) if float(self.value).is_integer() else self.value
        return f'crf_a{alpha}' + ('' if self.preset == 'psa' else f'_{self.preset}')

    @classmethod
    def parse(cls, text: str) -> 'MaskSpec':
        """``thr:0.2``, ``crf:4``, ``crf:32:sccam`` or ``lcrf:0.17[:rtc]``."""
        parts = text.split(':')
        if len(parts) not in (2, 3) or parts[0] not in cls.KINDS or (parts[0] == 'thr' and len(parts) == 3):
            raise ValueError(f"mask spec must look like 'thr:0.2', 'crf:4[:preset]' or 'lcrf:0.17[:preset]', "
                             f"got {text!r}")
        try:
            value = float(parts[1])
        except ValueError:
            raise ValueError(f'mask spec {text!r}: {parts[1]!r} is not a number') from None
        return cls(parts[0], value, parts[2] if len(parts) == 3 else None)


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
                   name: str = '', num_classes: Optional[int] = None) -> np.ndarray:
    """One pseudo-mask (uint8 H x W) from the CAMs of the present classes (``num_classes`` with background is
    needed by 'lcrf', whose CRF runs over all labels as RTC's)."""
    if spec.kind == 'thr':
        return np.asarray(cams_to_label_map(cams, class_ids, spec.value), dtype=np.uint8)
    if img is None:
        raise ValueError(f'{name}: the CRF needs the image')
    if img.shape[:2] != cams.shape[1:]:
        raise ValueError(f'{name}: image is {img.shape[0]}x{img.shape[1]} but its CAMs are '
                         f'{cams.shape[1]}x{cams.shape[2]}')
    if spec.kind == 'lcrf':
        if num_classes is None:
            raise ValueError(f'{name}: an lcrf mask needs the number of classes (with background)')
        labels = np.asarray(cams_to_label_map(cams, class_ids, spec.value), dtype=np.int64)
        crf = DenseCRF.from_preset(spec.preset)
        return crf.label_map(img, labels, n_labels=num_classes, name=name).astype(np.uint8)
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
        img = read_rgb(self.img_paths[name]) if self.spec.kind != 'thr' else None
        cams, ids = load_cams(osp.join(self.cam_dir, name + '.npy'), num_classes=self.num_classes,
                              image_size=None if img is None else img.shape[:2])
        save_label_png(self.output(name)[0], mask_from_cams(self.spec, cams, ids, img, name, self.num_classes))


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
