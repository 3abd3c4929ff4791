"""Make mmengine checkpoints loadable under torch >= 2.6, whose ``torch.load`` defaults to ``weights_only=True``.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; its full checkpoints (the ones ``--resume``
reads) pickle a ``MessageHub`` state with ``HistoryBuffer`` objects (whose statistics methods are pickled as
``getattr(HistoryBuffer, 'min')`` etc.) and numpy arrays/scalars, which the weights-only unpickler rejects
(``Unsupported global: GLOBAL mmengine.logging.history_buffer.HistoryBuffer``). Instead of turning the
safety check off, mmwsss registers, through mmengine's own extension point
(``CheckpointLoader.register_scheme``), a local-file loader that keeps ``weights_only=True`` and allows exactly
the globals those checkpoints contain — only while mmengine loads a checkpoint.
"""
import os.path as osp
from typing import Callable, List, Optional, Union

import numpy as np
import torch


def mmengine_safe_globals() -> List[object]:
    """The globals an mmengine training checkpoint needs under the weights-only unpickler."""
    from mmengine.logging import HistoryBuffer

    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    safe: List[object] = [HistoryBuffer, getattr, np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar]
    # numpy 2 pickles dtypes by their class (numpy.dtypes.Float64DType, ...)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe += [getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType')]
    return safe


def load_local_checkpoint(filename: str, map_location: Optional[Union[str, Callable]] = None) -> dict:
    """mmengine's local-file checkpoint loader, with ``weights_only=True`` and the mmengine allow-list."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    with torch.serialization.safe_globals(mmengine_safe_globals()):
        return torch.load(filename, map_location=map_location, weights_only=True)


def register_checkpoint_safe_globals() -> None:
    """Route mmengine's local checkpoint loading through :func:`load_local_checkpoint`. Idempotent."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)
