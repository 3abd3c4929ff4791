"""Make mmengine checkpoints loadable under torch >= 2.6, whose ``torch.load`` defaults to ``weights_only=True``.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; its full checkpoints (the ones ``--resume``
reads) pickle a ``MessageHub`` state with ``HistoryBuffer`` objects and numpy arrays/scalars, which the
weights-only unpickler rejects (``Unsupported global: GLOBAL mmengine.logging.history_buffer.HistoryBuffer``).
Instead of turning the safety check off, mmwsss allow-lists exactly the classes and reconstruction
functions those checkpoints contain.
"""
from typing import List

import numpy as np
import torch


def mmengine_safe_globals() -> List[object]:
    """The globals an mmengine training checkpoint needs under the weights-only unpickler."""
    from mmengine.logging import HistoryBuffer

    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    safe: List[object] = [HistoryBuffer, np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar]
    # numpy 2 pickles dtypes by their class (numpy.dtypes.Float64DType, ...)
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        safe += [getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType')]
    return safe


def register_checkpoint_safe_globals() -> None:
    """Allow-list the mmengine checkpoint globals for ``torch.load(weights_only=True)``. Idempotent."""
    if hasattr(torch.serialization, 'add_safe_globals'):
        torch.serialization.add_safe_globals(mmengine_safe_globals())
