"""mmwsss: weakly-supervised semantic segmentation on OpenMMLab.

Importing the package checks the environment (pinned mmcv with compiled ops, mmengine, mmseg), makes
mmengine checkpoints resumable under torch >= 2.6, and registers every mmwsss module into mmseg's
registries (scope ``mmseg``).
"""
from .utils.env_check import check_environment
from .version import __version__

check_environment()

from .utils.checkpoint import register_checkpoint_safe_globals  # noqa: E402

register_checkpoint_safe_globals()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__']
