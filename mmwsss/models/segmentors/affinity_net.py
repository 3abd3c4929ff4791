from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, OptSampleList, SampleList
from torch import Tensor

from mmwsss.refinement.random_walk import RandomWalk, pair_affinities, random_walk_label_map


@MODELS.register_module()
class AffinityNet(BaseSegmentor):
    """psa's AffinityNet (``network/resnet38_aff.py``, ``train_aff.py``, ``infer_aff.py``; affinitynet.md §2.4,
    §4.3-4.4, §5.3): ResNet-38 + :class:`AffinityHead`, trained on pair labels from the la/ha CRF maps, used
    to refine CAMs with a random walk.

    Training (:meth:`loss`): each data sample carries ``gt_aff_labels`` ``(K, P)`` (``ExtractAffinityLabels``
    + ``PackAffinityInputs``); the head's affinities on the crop get psa's loss.

    Random walk (:meth:`random_walk`, ``tools/gen_pseudo.py --mode rw``): the normalised image is zero-padded
    bottom/right to a multiple of ``stride`` (zeros in normalised space, as psa), its affinities propagate
    ``[(1 - max cam) ** alpha, cams]`` (``test_cfg``), the result is upsampled and arg-maxed.

    ``test_cfg``:
        alpha (float): background power (psa 16; SEAM/SBNet/ICAM 6).
        beta (float): affinity power (8).
        logt (int): squarings, t = 2 ** logt (psa 8; SEAM/SBNet/ICAM 6).
        method (str): 'stencil' (default, fast) or 'dense' (psa's N x N matrix).
        stride (int): output stride of the backbone (8).
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.decode_head = MODELS.build(decode_head)
        self.align_corners = False
        self.train_cfg = train_cfg or {}
        self.test_cfg = dict(alpha=16, beta=8, logt=8, method='stencil', stride=8)
        self.test_cfg.update(test_cfg or {})

    # ------------------------------------------------------------------ features
    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        feats = self.backbone(inputs)
        return tuple(feats) if isinstance(feats, (list, tuple)) else (feats, )

    def forward_features(self, inputs: Tensor) -> Tensor:
        """Affinity features ``(B, C, h, w)``."""
        return self.decode_head(self.extract_feat(inputs))

    def forward_affinity(self, inputs: Tensor) -> Tensor:
        """Pair affinities ``(B, K, P)`` of the feature grid (psa ``Net.forward``)."""
        return self.decode_head.affinities(self.extract_feat(inputs))

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        return self.forward_affinity(inputs)

    def encode_decode(self, inputs: Tensor, batch_data_samples: SampleList) -> Tensor:
        raise NotImplementedError('AffinityNet produces no segmentation by itself; use random_walk() with CAMs '
                                  '(tools/gen_pseudo.py --mode rw)')

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        raise NotImplementedError('AffinityNet refines CAMs: run tools/gen_pseudo.py --mode rw (or '
                                  'AffinityNet.random_walk) and evaluate the masks with tools/eval_pseudo.py')

    # ------------------------------------------------------------------ training
    def stack_aff_labels(self, data_samples: SampleList) -> Tensor:
        """``(B, K, P)`` pair labels of the batch."""
        try:
            labels = [ds.gt_aff_labels for ds in data_samples]
        except AttributeError:
            raise KeyError('data samples carry no gt_aff_labels: the training pipeline needs '
                           'ExtractAffinityLabels and PackAffinityInputs') from None
        shapes = {tuple(t.shape) for t in labels}
        if len(shapes) != 1:
            raise ValueError(f'pair labels of different shapes in one batch: {sorted(shapes)} (crops of '
                             'different sizes?)')
        return torch.stack(labels)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        labels = self.stack_aff_labels(data_samples).to(inputs.device)
        return self.decode_head.loss(self.extract_feat(inputs), labels)

    # ------------------------------------------------------------------ random walk
    def random_walk_module(self) -> RandomWalk:
        cfg = self.test_cfg
        return RandomWalk(beta=cfg['beta'], logt=cfg['logt'], radius=self.decode_head.radius, method=cfg['method'])

    def pad_to_stride(self, inputs: Tensor) -> Tensor:
        """Zero-pad (bottom/right) a normalised batch to a multiple of the stride (psa ``infer_aff.py``)."""
        s = self.test_cfg['stride']
        h, w = inputs.shape[-2:]
        return F.pad(inputs, (0, -w % s, 0, -h % s))

    @torch.no_grad()
    def random_walk(self,
                    inputs: Tensor,
                    cams: Union[Tensor, Sequence[Tensor]],
                    class_ids: Union[Tensor, Sequence[int], Sequence[Tensor]],
                    image_size: Optional[Tuple[int, int]] = None) -> Union[Tensor, List[Tensor]]:
        """Random-walk label maps of a normalised image ``(1, 3, H, W)`` (or a batch of same-size images).

        Args:
            inputs: normalised images (``data_preprocessor`` output), unpadded.
            cams: ``(K, H, W)`` CAMs of the present classes (max-normalised, in [0, 1]), or a list per image.
            class_ids: their label values (ascending), or a list per image.
            image_size: ``(H, W)``; default the size of ``inputs``.

        Returns:
            ``(H, W)`` int64 label map (or a list of them for a list of CAMs).
        """
        h, w = image_size if image_size is not None else inputs.shape[-2:]
        padded = self.pad_to_stride(inputs[..., :h, :w])
        s = self.test_cfg['stride']
        feats = self.forward_features(padded)
        if tuple(feats.shape[-2:]) != (padded.shape[-2] // s, padded.shape[-1] // s):
            raise ValueError(f'the backbone gives a {feats.shape[-2]}x{feats.shape[-1]} grid for a '
                             f'{padded.shape[-2]}x{padded.shape[-1]} input; test_cfg.stride={s} is wrong')
        aff = pair_affinities(feats, self.decode_head.radius)
        single = isinstance(cams, Tensor)
        if single:
            if inputs.shape[0] != 1:
                raise ValueError('a batch of images needs a list of CAMs (one per image)')
            cams, class_ids = [cams], [class_ids]
        labels = random_walk_label_map(aff, list(cams), list(class_ids), (h, w), self.test_cfg['alpha'],
                                       self.random_walk_module(), s)
        return labels[0] if single else labels
