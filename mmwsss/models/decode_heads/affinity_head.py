from typing import Dict, List, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor

from mmwsss.refinement.random_walk import AFF_BG_POS, AFF_FG_POS, AFF_NEG, pair_affinities

#: psa's initialisation: ``kaiming_normal_`` (PyTorch defaults: fan_in, gain sqrt(2)) for f8_*, f9
#: ``xavier_uniform_(gain=4)``
PSA_AFF_HEAD_INIT = dict(type='Kaiming',
                         layer='Conv2d',
                         mode='fan_in',
                         nonlinearity='relu',
                         distribution='normal',
                         override=dict(type='Xavier', name='f9', gain=4.0, distribution='uniform'))


@MODELS.register_module()
class AffinityHead(BaseModule):
    """psa's AffinityNet head (``network/resnet38_aff.py``; affinitynet.md §2.4-2.5, sbnet.md B.7).

    On the three backbone taps (ResNet-38 ``conv4``, ``conv5``, ``conv6``)::

        f8_3 = ELU(conv1x1(conv4))  512 -> 64      f8_4 = ELU(conv1x1(conv5)) 1024 -> 128
        f8_5 = ELU(conv1x1(conv6)) 4096 -> 256     F    = ELU(f9(concat(f8_3, f8_4, f8_5)))  448 -> 448

    all 1x1 convolutions without bias; f8_* ``kaiming_normal_`` (fan_in, gain sqrt(2)), f9
    ``xavier_uniform_`` with gain 4 (psa). The module names are psa's, so ``res38_aff.pth`` converts with
    the ``psa-res38-aff`` mapping (``decode_head.f8_3.weight`` ...). The features are not detached from the
    backbone (the backbone is trained, except its frozen stages).

    Affinities (:meth:`affinities`): ``exp(-mean_c |F[from] - F[from + d]|)`` for the radius-``radius`` pairs
    of :mod:`mmwsss.refinement.random_walk`, ``(B, K, P)`` (34 x 2496 for a 448 crop).

    Args:
        in_channels: channels of the three taps (full width: 512, 1024, 4096).
        channels: output channels of f8_3, f8_4, f8_5 (64, 128, 256).
        out_channels: channels of f9 (448; psa's f9 is square, in = sum(channels)).
        in_index: which backbone outputs feed f8_3, f8_4, f8_5.
        radius: pair radius (psa 5).
        loss_aff: the loss config.
    """

    BRANCHES = ('f8_3', 'f8_4', 'f8_5')

    def __init__(self,
                 in_channels: Sequence[int] = (512, 1024, 4096),
                 channels: Sequence[int] = (64, 128, 256),
                 out_channels: int = 448,
                 in_index: Sequence[int] = (0, 1, 2),
                 radius: int = 5,
                 loss_aff: Dict = dict(type='AffinityLoss'),
                 init_cfg: Union[Dict, List[Dict]] = PSA_AFF_HEAD_INIT) -> None:
        super().__init__(init_cfg=init_cfg)
        if not len(in_channels) == len(channels) == len(in_index) == len(self.BRANCHES):
            raise ValueError(f'AffinityHead has {len(self.BRANCHES)} branches ({self.BRANCHES}); got '
                             f'in_channels={in_channels}, channels={channels}, in_index={in_index}')
        self.in_channels = tuple(in_channels)
        self.channels = tuple(channels)
        self.out_channels = out_channels
        self.in_index = tuple(in_index)
        self.radius = radius
        for name, cin, cout in zip(self.BRANCHES, self.in_channels, self.channels):
            self.add_module(name, nn.Conv2d(cin, cout, 1, bias=False))
        self.f9 = nn.Conv2d(sum(self.channels), out_channels, 1, bias=False)
        self.loss_aff = MODELS.build(loss_aff)

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Affinity features ``(B, out_channels, h, w)`` from the backbone taps."""
        feats = [F.elu(getattr(self, name)(inputs[i])) for name, i in zip(self.BRANCHES, self.in_index)]
        return F.elu(self.f9(torch.cat(feats, dim=1)))

    def affinities(self, inputs: Sequence[Tensor]) -> Tensor:
        """Pair affinities ``(B, K, P)`` (psa ``Net.forward``)."""
        return pair_affinities(self.forward(inputs), self.radius)

    def loss(self, inputs: Sequence[Tensor], aff_labels: Tensor) -> Dict[str, Tensor]:
        """psa's loss from packed pair labels ``(B, K, P)`` (see ``ExtractAffinityLabels``)."""
        aff = self.affinities(inputs)
        losses = self.loss_aff(aff, aff_labels)
        with torch.no_grad():  # mean affinity of the positive / negative pairs (not part of the loss)
            for key, codes in (('aff_pos', (AFF_BG_POS, AFF_FG_POS)), ('aff_neg', (AFF_NEG, ))):
                mask = sum((aff_labels == c) for c in codes)
                losses[key] = (aff * mask).sum() / mask.sum().clamp(min=1)
        return losses
