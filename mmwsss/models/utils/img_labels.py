from typing import Sequence

import torch
from torch import Tensor


def stack_img_labels(data_samples: Sequence, num_fg_classes: int, model: str = 'the model') -> Tensor:
    """(B, C-1) float multi-hot foreground labels from ``data_sample.gt_img_labels`` (``PackWSSSInputs``).

    Raises a clear error when the samples carry no image labels or the class count is not the model's.
    """
    try:
        labels = torch.stack([ds.gt_img_labels for ds in data_samples]).float()
    except AttributeError:
        raise KeyError('data samples carry no gt_img_labels: use PackWSSSInputs in the pipeline') from None
    if labels.shape[1] != num_fg_classes:
        raise ValueError(f'image labels have {labels.shape[1]} classes, {model} expects '
                         f'{num_fg_classes} foreground classes')
    return labels
