from .affinity_loss import AffinityLoss
from .balanced_mask_ce_loss import BalancedMaskCELoss, balanced_mask_ce
from .multilabel_soft_margin_loss import MultiLabelSoftMarginLoss
from .prototype_info_nce_loss import PrototypeInfoNCELoss, prototype_info_nce
from .seam_losses import adaptive_min_pooling_loss, ecr_loss, er_loss, topk_mean
from .struct_loss import WTAStructLoss, wta_struct_loss

__all__ = [
    'AffinityLoss', 'MultiLabelSoftMarginLoss', 'BalancedMaskCELoss', 'balanced_mask_ce', 'PrototypeInfoNCELoss',
    'prototype_info_nce', 'adaptive_min_pooling_loss', 'ecr_loss', 'er_loss', 'topk_mean', 'WTAStructLoss',
    'wta_struct_loss'
]
