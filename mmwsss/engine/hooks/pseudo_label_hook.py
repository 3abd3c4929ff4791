import os.path as osp
from typing import Dict, Optional, Sequence

from mmengine.dist import barrier, get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import DATASETS, HOOKS

from mmwsss.apis.pseudo_labels import MaskSpec, dataset_image_paths, generate_cams, generate_masks


@HOOKS.register_module()
class PseudoLabelHook(Hook):
    """Generate CAM files and pseudo-masks with the model being trained, like ``tools/gen_pseudo.py``.

    Runs after training (always) and, with ``interval > 0``, every ``interval`` iterations (or epochs
    with ``by_epoch=True``). Outputs go to ``out_dir`` (default ``work_dir/pseudo``), in ``final/`` after
    training and ``iter_<n>/`` / ``epoch_<n>/`` otherwise, with the layout of
    :mod:`mmwsss.apis.pseudo_labels` — point the next stage's ``PseudoMaskDataset`` at e.g.
    ``work_dir/pseudo/final/crf_a4``. Generation is sharded over ranks and resumable.

    Args:
        dataset: config of the data set to label (its pipeline must pack image labels and must not
            resize the image; usually the classifier's split, e.g. train_aug).
        masks: mask specs, e.g. ``('thr:0.2', 'crf:4')`` (see :class:`MaskSpec`).
        test_cfg: overrides of the model's ``test_cfg`` during generation (e.g. multi-scale + flip).
        interval: generate every ``interval`` iterations/epochs; ``-1``: only after training.
        by_epoch: count ``interval`` in epochs.
        out_dir: output root (default ``<work_dir>/pseudo``).
        workers: processes for the CRF stage.
    """
    priority = 'LOW'

    def __init__(self,
                 dataset: Dict,
                 masks: Sequence[str] = ('thr:0.2', ),
                 test_cfg: Optional[Dict] = None,
                 interval: int = -1,
                 by_epoch: bool = False,
                 out_dir: Optional[str] = None,
                 workers: int = 1):
        self.dataset_cfg = dataset
        self.specs = [MaskSpec.parse(m) for m in masks]
        self.test_cfg = test_cfg or {}
        self.interval = interval
        self.by_epoch = by_epoch
        self.out_dir = out_dir
        self.workers = workers
        self._dataset = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.by_epoch and self.interval > 0 and self.every_n_train_iters(runner, self.interval):
            self.generate(runner, f'iter_{runner.iter + 1}')

    def after_train_epoch(self, runner) -> None:
        if self.by_epoch and self.interval > 0 and self.every_n_epochs(runner, self.interval):
            self.generate(runner, f'epoch_{runner.epoch + 1}')

    def after_train(self, runner) -> None:
        self.generate(runner, 'final')

    def generate(self, runner, tag: str) -> None:
        """Write ``<out_dir>/<tag>/cam`` and one folder per mask spec."""
        if self._dataset is None:
            self._dataset = DATASETS.build(self.dataset_cfg)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        root = osp.join(self.out_dir or osp.join(runner.work_dir, 'pseudo'), tag)
        rank, world_size = get_dist_info()
        saved = dict(model.test_cfg)
        model.test_cfg.update(self.test_cfg)
        try:
            cams = generate_cams(model, self._dataset, osp.join(root, 'cam'), rank, world_size, progress=rank == 0)
        finally:
            model.test_cfg.clear()
            model.test_cfg.update(saved)
        barrier()
        masks = generate_masks(dataset_image_paths(self._dataset), osp.join(root, 'cam'), root, self.specs,
                               num_classes=len(self._dataset.metainfo['classes']), workers=self.workers,
                               rank=rank, world_size=world_size, progress=rank == 0)
        barrier()
        for summary in [cams, *masks.values()]:
            runner.logger.info(f'[rank {rank}] pseudo labels ({tag}) ' + summary.format())
            if summary.failed:
                runner.logger.error(f'[rank {rank}] {len(summary.failed)} images failed in {summary.what}; '
                                    f'see the list above')
