"""Helpers shared by tools/train.py and tools/test.py."""
import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config


def default_work_dir(cfg: Config, config_path: str, work_dir: Optional[str]) -> str:
    """``--work-dir`` > ``work_dir`` in the config > ``./work_dirs/<config name>`` (mmseg's rule)."""
    if work_dir is not None:
        return work_dir
    if cfg.get('work_dir', None) is not None:
        return cfg.work_dir
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def adapt_to_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Run a distributed launch on machines without CUDA (CI, laptops): gloo instead of NCCL.

    mmengine 0.10.7 would call ``torch.cuda.set_device`` while initialising the process group and wrap the
    model in DDP with ``device_ids=[LOCAL_RANK]``; both fail without a GPU. Here the process group is
    initialised with the gloo backend before the Runner is built (the Runner then keeps it) and DDP is
    built without device ids. Returns True when it changed anything. GPU machines are left untouched.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    import torch.distributed as dist
    if not dist.is_initialized():
        if launcher == 'slurm':
            _slurm_env_to_torch_env()
        dist.init_process_group(backend='gloo')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    if cfg.get('model_wrapper_cfg', None) is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,  # explicit None: mmengine would otherwise pass [LOCAL_RANK], a GPU index
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    return True


def _slurm_env_to_torch_env() -> None:
    """Fill torch.distributed's env:// variables from slurm's (CPU slurm jobs)."""
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        import subprocess
        node_list = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(f'scontrol show hostname {node_list} | head -n1')
