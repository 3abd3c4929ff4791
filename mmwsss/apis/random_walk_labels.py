"""The AffinityNet stage of pseudo-label generation (psa ``infer_cls.py --out_la_crf/--out_ha_crf`` and
``infer_aff.py``; affinitynet.md §5.2-5.3).

Output layout under a generation root ``OUT`` (next to ``OUT/cam`` of :mod:`mmwsss.apis.pseudo_labels`)::

    OUT/crf_marginals_a<alpha>/<id>.npy     la/ha CRF marginals (mmwsss.utils.crf_io format),
                                            e.g. crf_marginals_a4 (la) and crf_marginals_a32 (ha) for psa
    OUT/rw_a<alpha>_b<beta>_logt<logt>/<id>.png   random-walk pseudo-masks (VOC palette, 0 = background,
                                            class values; no ignore), e.g. rw_a16_b8_logt8 for psa

Both jobs are sharded over ranks, resumable (existing outputs are skipped; every file is written under a
temporary name and renamed) and report a :class:`~mmwsss.apis.generation.GenerationSummary`.
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmwsss.apis.generation import GenerationSummary, run_jobs, save_label_png, shard
from mmwsss.apis.pseudo_labels import read_rgb
from mmwsss.utils.crf_io import save_crf_marginals
from mmwsss.refinement.dense_crf import DenseCRF, psa_crf_labels
from mmwsss.utils.cam_io import load_cams

__all__ = [
    'crf_marginals_dirname', 'rw_dirname', 'load_cams_with_classes', 'generate_la_ha_crf', 'generate_random_walk',
    'load_affinity_checkpoint'
]


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def crf_marginals_dirname(alpha: float) -> str:
    """``crf_marginals_a<alpha>`` (e.g. ``crf_marginals_a4``)."""
    return f'crf_marginals_a{_num(alpha)}'


def rw_dirname(alpha: float, beta: float, logt: int) -> str:
    """``rw_a<alpha>_b<beta>_logt<logt>`` (e.g. ``rw_a16_b8_logt8``): one folder per parameter set, so a
    resumed run never mixes masks of different parameters."""
    return f'rw_a{_num(alpha)}_b{_num(beta)}_logt{int(logt)}'


def load_cams_with_classes(path: str, num_classes: Optional[int], image_size: Tuple[int, int]):
    """``load_cams`` that also rejects a CAM file without any class (nothing to refine or to label)."""
    cams, ids = load_cams(path, num_classes=num_classes, image_size=image_size)
    if ids.size == 0:
        raise ValueError(f'{path}: the CAM file holds no class (K = 0); the image has no foreground label, '
                         'so there is nothing to refine -- remove it from the list')
    return cams, ids


# ------------------------------------------------------------------------------------------------ la/ha CRF
class _LaHaJob:
    """Picklable per-image job: CRF marginals at every alpha."""

    def __init__(self, cam_dir: str, img_paths: Dict[str, str], out_root: str, alphas: Sequence[float], crf: DenseCRF,
                 num_classes: Optional[int], dtype) -> None:
        self.cam_dir, self.img_paths, self.out_root = cam_dir, img_paths, out_root
        self.alphas, self.crf, self.num_classes, self.dtype = tuple(alphas), crf, num_classes, dtype

    def output(self, name: str) -> List[str]:
        return [osp.join(self.out_root, crf_marginals_dirname(a), name + '.npy') for a in self.alphas]

    def __call__(self, name: str) -> None:
        img = read_rgb(self.img_paths[name])
        cams, ids = load_cams_with_classes(osp.join(self.cam_dir, name + '.npy'), self.num_classes, img.shape[:2])
        for alpha, path in zip(self.alphas, self.output(name)):
            if osp.exists(path):
                continue
            q, label_ids = psa_crf_labels(img, cams, ids, alpha, self.crf, name=name)
            save_crf_marginals(path, q, label_ids, alpha, self.dtype)


def generate_la_ha_crf(img_paths: Dict[str, str],
                       cam_dir: str,
                       out_root: str,
                       alphas: Sequence[float] = (4, 32),
                       preset: str = 'psa',
                       num_classes: Optional[int] = None,
                       dtype=np.float16,
                       workers: int = 1,
                       rank: int = 0,
                       world_size: int = 1,
                       progress: bool = True) -> GenerationSummary:
    """psa's ``_crf_with_alpha`` at every alpha (la/ha: ``LA_HA_ALPHAS``) for this rank's shard of the images
    ``{id: path}``; writes ``out_root/crf_marginals_a<alpha>/<id>.npy``."""
    if len(set(alphas)) != len(tuple(alphas)) or not alphas:
        raise ValueError(f'alphas must be distinct and non-empty, got {alphas}')
    job = _LaHaJob(cam_dir, img_paths, out_root, alphas, DenseCRF.from_preset(preset), num_classes, dtype)
    what = 'CRF marginals ' + ', '.join(crf_marginals_dirname(a) for a in alphas)
    return run_jobs(what, shard(sorted(img_paths), rank, world_size), job.output, job, workers, progress)


# ------------------------------------------------------------------------------------------------ random walk
def load_affinity_checkpoint(model, path: str) -> None:
    """Load an mmwsss AffinityNet checkpoint strictly; a checkpoint of another architecture (or width) raises
    an error naming the file and the mismatching keys."""
    import torch
    from mmengine.runner.checkpoint import CheckpointLoader
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: checkpoint not found')
    try:
        ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    except Exception as e:
        raise ValueError(f'{path}: cannot read the checkpoint ({type(e).__name__}: {e})') from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f'{path}: not a state dict of tensors')
    state = OrderedDict((k[7:] if k.startswith('module.') else k, v) for k, v in state.items())
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f'{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}' for k, v in own.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shapes:
        hint = ''
        if any(k.startswith('f8_3') or k.startswith('f9') for k in unexpected):
            hint = (' -- this looks like an original psa checkpoint: convert it with '
                    'tools/model_converters/original2mmwsss.py --model psa-res38-aff')
        parts = [
            f'{len(missing)} missing (e.g. {missing[:3]})' if missing else '',
            f'{len(unexpected)} unexpected (e.g. {unexpected[:3]})' if unexpected else '',
            f'{len(shapes)} of another shape (e.g. {shapes[:2]})' if shapes else ''
        ]
        raise ValueError(f'{path}: not a checkpoint of this AffinityNet config: ' + '; '.join(p for p in parts if p) +
                         hint)
    model.load_state_dict(state, strict=True)


def generate_random_walk(model,
                         dataset,
                         cam_dir: str,
                         out_dir: str,
                         rank: int = 0,
                         world_size: int = 1,
                         progress: bool = True) -> GenerationSummary:
    """Random-walk pseudo-masks (psa ``infer_aff.py``) for this rank's shard of ``dataset``.

    ``model`` is an :class:`~mmwsss.models.segmentors.AffinityNet` (its ``test_cfg`` gives alpha, beta, logt);
    the dataset's pipeline must load the image without resizing (e.g. ``LoadWSSSImageFromFile`` +
    ``PackWSSSInputs``). CAMs come from ``cam_dir/<id>.npy`` (mmwsss CAM format) and must have the image's
    size; masks go to ``out_dir/<id>.png``.
    """
    import torch
    from mmengine.dataset import pseudo_collate

    from mmwsss.apis.pseudo_labels import dataset_image_paths

    names = list(dataset_image_paths(dataset))
    index = {n: i for i, n in enumerate(names)}
    num_classes = len(dataset.metainfo['classes'])
    device = next(model.parameters()).device

    def output(name: str) -> List[str]:
        return [osp.join(out_dir, name + '.png')]

    def work(name: str) -> None:
        batch = pseudo_collate([dataset[index[name]]])
        with torch.inference_mode():
            data = model.data_preprocessor(batch, False)
            inputs = data['inputs']
            size = tuple(inputs.shape[-2:])
            cams, ids = load_cams_with_classes(osp.join(cam_dir, name + '.npy'), num_classes, size)
            label = model.random_walk(inputs, torch.from_numpy(cams).to(device), torch.from_numpy(ids).to(device))
        save_label_png(output(name)[0], label.cpu().numpy().astype(np.uint8))

    was_training = model.training
    model.eval()
    try:
        return run_jobs(f'random walk {osp.basename(osp.normpath(out_dir))}',
                        shard(names, rank, world_size),
                        output,
                        work,
                        workers=1,
                        progress=progress)
    finally:
        model.train(was_training)
