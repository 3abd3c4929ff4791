from .cam_io import CAMFileError, load_cams, pack_cams, save_cams
from .crf_io import CRFMarginalsError, load_crf_marginals, pack_crf_marginals, save_crf_marginals
from .checkpoint import mmengine_safe_globals, register_checkpoint_safe_globals
from .env_check import EnvironmentMismatchError, check_environment
from .io import atomic_path, atomic_save_npy, atomic_write_bytes

__all__ = [
    'CAMFileError', 'load_cams', 'pack_cams', 'save_cams', 'CRFMarginalsError', 'load_crf_marginals',
    'pack_crf_marginals', 'save_crf_marginals', 'mmengine_safe_globals',
    'register_checkpoint_safe_globals', 'EnvironmentMismatchError', 'check_environment', 'atomic_path',
    'atomic_save_npy', 'atomic_write_bytes'
]
