"""Dense-CRF post-processing of segmentation predictions at test time (deeplab_final.md §3, icam.md §5.3).

A CRF setting in a config (``model.test_cfg.crf`` of :class:`CRFEncoderDecoder`, ``crf`` of
:class:`CRFSegTTAModel`) is one of

* ``None`` -- no CRF;
* a preset name of :data:`mmwsss.refinement.CRF_PRESETS` (``'deeplab-v1'``: YudeWang/ICAM test CRF, softmax
  unary, Gaussian 3/3, bilateral 32/13/10, 1 iteration; ``'deeplab-v2'``: kazuto1011's, 10 iterations);
* a dict ``dict(preset='deeplab-v1', iterations=10, imdecode_backend='cv2')``: a preset (optional) plus
  :class:`~mmwsss.refinement.DenseCRF` overrides; ``imdecode_backend`` chooses how the original image is read
  (default 'cv2', as the YudeWang code base reads its images).

The CRF runs on the softmax probabilities of each image at its original size, with the original uint8 RGB
image read from the data sample's ``img_path``; the prediction is the arg-max of the marginals.
"""
import copy
from typing import Optional, Tuple, Union

import mmcv
import numpy as np
import torch
from mmengine import fileio
from torch import Tensor

from mmwsss.refinement.dense_crf import DenseCRF

__all__ = ['CRFConfig', 'build_test_crf', 'read_rgb_image', 'crf_refine', 'enable_test_crf']

CRFConfig = Union[None, str, dict]


def build_test_crf(cfg: CRFConfig) -> Tuple[Optional[DenseCRF], str]:
    """``(DenseCRF or None, imdecode_backend)`` from a CRF setting (see the module docstring)."""
    if cfg is None or (isinstance(cfg, str) and cfg.lower() == 'none'):
        return None, 'cv2'
    if isinstance(cfg, str):
        return DenseCRF.from_preset(cfg), 'cv2'
    if not isinstance(cfg, dict):
        raise TypeError(f'a test CRF setting must be None, a preset name or a dict, got {type(cfg).__name__}')
    kwargs = dict(copy.deepcopy(cfg))
    backend = kwargs.pop('imdecode_backend', 'cv2')
    preset = kwargs.pop('preset', None)
    crf = DenseCRF.from_preset(preset, **kwargs) if preset else DenseCRF(**kwargs)
    return crf, backend


def read_rgb_image(img_path: str, backend: str = 'cv2') -> np.ndarray:
    """The original image as uint8 (H, W, 3) RGB; errors name the file."""
    try:
        data = fileio.get(img_path)
    except FileNotFoundError as e:
        raise FileNotFoundError(f'{img_path}: image for the test CRF not found') from e
    img = mmcv.imfrombytes(data, flag='color', channel_order='rgb', backend=backend)
    if img is None or img.size == 0:
        raise ValueError(f'{img_path}: cannot decode the image for the test CRF')
    return img


def crf_refine(probs: Tensor, img_path: str, crf: DenseCRF, backend: str = 'cv2') -> Tuple[Tensor, Tensor]:
    """Run ``crf`` on the probabilities ``(C, H, W)`` of one image.

    Returns ``(marginals (C, H, W) float32, label map (1, H, W) int64)`` on the device of ``probs``. The image
    must have the size of ``probs`` (its original size).
    """
    img = read_rgb_image(img_path, backend)
    if tuple(img.shape[:2]) != tuple(probs.shape[-2:]):
        raise ValueError(f'{img_path}: image is {img.shape[0]}x{img.shape[1]} but the predicted probabilities '
                         f'are {probs.shape[-2]}x{probs.shape[-1]}')
    q = crf(img, probs.detach().float().cpu().numpy(), name=img_path)
    q = torch.from_numpy(q).to(probs.device)
    return q, q.argmax(dim=0, keepdim=True)


def enable_test_crf(cfg, crf: CRFConfig, tta: bool = False) -> None:
    """Switch the test CRF of a config on (or off with ``None``/``'none'``) -- used by ``tools/test.py --crf``.

    The model must be a :class:`CRFEncoderDecoder` (mmseg's ``EncoderDecoder`` is switched to it: same
    arguments). With ``tta`` the CRF goes to the ``tta_model`` (a :class:`CRFSegTTAModel`; mmseg's
    ``SegTTAModel`` is switched to it with ``merge='probs'``, i.e. mmseg's merge rule), which runs it once
    on the merged prediction.
    """
    crf = None if isinstance(crf, str) and crf.lower() == 'none' else crf
    build_test_crf(crf)  # validate early (unknown preset -> KeyError)
    model = cfg.model
    if model.get('type') == 'EncoderDecoder':
        model['type'] = 'CRFEncoderDecoder'
    if model.get('type') != 'CRFEncoderDecoder':
        raise ValueError(f"the test CRF needs model.type 'CRFEncoderDecoder' (or 'EncoderDecoder'), "
                         f"got {model.get('type')!r}")
    if model.get('test_cfg') is None:
        model['test_cfg'] = dict(mode='whole')
    model['test_cfg']['crf'] = crf
    if tta:
        tta_model = cfg.get('tta_model')
        if tta_model is None:
            raise ValueError('--tta needs a tta_model in the config')
        if tta_model.get('type') == 'SegTTAModel':
            tta_model['type'] = 'CRFSegTTAModel'
            tta_model['merge'] = 'probs'
        if tta_model.get('type') != 'CRFSegTTAModel':
            raise ValueError(f"the test CRF with --tta needs tta_model.type 'CRFSegTTAModel', "
                             f"got {tta_model.get('type')!r}")
        tta_model['crf'] = crf
