"""Resumable, sharded per-image generation jobs (CAMs, pseudo-masks) with a summary.

Every output goes through :func:`mmwsss.utils.io.atomic_path`, so a killed job leaves no truncated file; a
rerun skips the files that exist and, because every output is a pure function of its inputs, produces
byte-identical results to an uninterrupted run. Failures are collected, the rest goes on, and the summary
lists them (the tools then exit non-zero).
"""
import contextlib
import glob
import os
import os.path as osp
import time
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Callable, Iterable, List, Optional, Sequence, Tuple, TypeVar

import numpy as np
from PIL import Image

from mmwsss.utils.io import atomic_path
from mmwsss.visualization.palette import voc_palette

T = TypeVar('T')


_PALETTE = voc_palette()


def save_label_png(path: str, label: np.ndarray) -> None:
    """Save a uint8 label map as a VOC-palette PNG (0 = background, 255 = ignore), atomically."""
    label = np.asarray(label)
    if label.ndim != 2:
        raise ValueError(f'{path}: a label map must be 2-D, got shape {label.shape}')
    if label.min(initial=0) < 0 or label.max(initial=0) > 255:
        raise ValueError(f'{path}: label values must lie in 0..255')
    img = Image.fromarray(label.astype(np.uint8), mode='P')
    img.putpalette(_PALETTE)
    with atomic_path(path) as tmp:
        img.save(tmp, format='PNG')


def shard(items: Sequence[T], rank: int, world_size: int) -> List[T]:
    """The items of process ``rank`` out of ``world_size`` (round robin, so shards are balanced)."""
    if not 0 <= rank < world_size:
        raise ValueError(f'rank {rank} outside 0..{world_size - 1}')
    return list(items[rank::world_size])


@dataclass
class GenerationSummary:
    """What a generation job did."""
    what: str
    done: int = 0
    skipped: int = 0
    failed: List[Tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def merge(self, other: 'GenerationSummary') -> 'GenerationSummary':
        return GenerationSummary(self.what, self.done + other.done, self.skipped + other.skipped,
                                 self.failed + other.failed, max(self.seconds, other.seconds))

    def format(self) -> str:
        lines = [f'{self.what}: {self.done} done, {self.skipped} skipped (already present), '
                 f'{len(self.failed)} failed, {self.seconds:.1f}s, {self.images_per_second:.2f} images/s']
        for name, err in self.failed:
            lines.append(f'  FAILED {name}: {err}')
        return '\n'.join(lines)


def run_jobs(what: str,
             names: Sequence[str],
             outputs: Callable[[str], Sequence[str]],
             work: Callable[[str], None],
             workers: int = 1,
             progress: bool = True) -> GenerationSummary:
    """Run ``work(name)`` for every name whose ``outputs(name)`` are not all present.

    ``work`` must write its outputs atomically and raise on failure; it runs in ``workers`` processes
    (fork) when ``workers > 1``. A progress bar is shown when ``progress`` is set.
    """
    from mmengine.utils import ProgressBar
    summary = GenerationSummary(what)
    todo = []
    for name in names:
        if all(osp.exists(p) for p in outputs(name)):
            summary.skipped += 1
        else:
            todo.append(name)
    for name in todo:
        for path in outputs(name):
            remove_stale_temporaries(path)
    t0 = time.perf_counter()
    bar = ProgressBar(len(todo)) if progress and todo else None

    def record(result: Tuple[str, Optional[str]]) -> None:
        name, err = result
        if err is None:
            summary.done += 1
        else:
            summary.failed.append((name, err))
        if bar is not None:
            bar.update()

    if workers > 1 and len(todo) > 1:
        with get_context('fork').Pool(workers, initializer=_limit_threads) as pool:
            for result in pool.imap_unordered(_Guarded(work), todo, chunksize=1):
                record(result)
    else:
        guarded = _Guarded(work)
        for name in todo:
            record(guarded(name))
    if bar is not None:
        print(flush=True)
    summary.seconds = time.perf_counter() - t0
    summary.failed.sort()
    return summary


def remove_stale_temporaries(path: str) -> None:
    """Delete temporaries that a killed writer of ``path`` left behind (see ``atomic_path``'s naming)."""
    directory = osp.dirname(osp.abspath(path))
    base, ext = osp.splitext(osp.basename(path))
    for tmp in glob.glob(osp.join(glob.escape(directory), f'.{glob.escape(base)}.*.tmp{ext}')):
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


class _Guarded:
    """Turn an exception of ``work`` into an error message (picklable for process pools)."""

    def __init__(self, work: Callable[[str], None]):
        self.work = work

    def __call__(self, name: str) -> Tuple[str, Optional[str]]:
        try:
            self.work(name)
            return name, None
        except Exception as e:  # noqa: BLE001 - collected and reported in the summary
            return name, f'{type(e).__name__}: {e}'


def _limit_threads() -> None:
    """One BLAS/torch thread per worker process: the parallelism comes from the processes."""
    os.environ['OMP_NUM_THREADS'] = '1'
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass


def chunked(items: Iterable[T], size: int) -> Iterable[List[T]]:
    batch: List[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
