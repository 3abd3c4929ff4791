import numpy as np
import torch
from mmcv.transforms import to_tensor
from mmengine.structures import PixelData
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS

# results key -> (data-sample field, tensor dtype) of the extra per-pixel maps; each becomes a PixelData
# holding a (1, H, W) tensor, like gt_sem_seg.
EXTRA_MAP_FIELDS = {
    'gt_saliency': ('gt_saliency', torch.float32),
    'gt_superpixels': ('gt_superpixels', torch.int64),
    'gt_pseudo_seg': ('gt_pseudo_seg', torch.int64),
}


@TRANSFORMS.register_module()
class PackWSSSInputs(PackSegInputs):
    """mmseg's ``PackSegInputs`` plus the WSSS fields. Where things go in the ``SegDataSample``:

    ==========================  ===================================================================
    results key                 data sample
    ==========================  ===================================================================
    img                         ``inputs`` (C, H, W) tensor (mmseg)
    gt_seg_map                  ``gt_sem_seg`` PixelData (mmseg; only when the dataset loads pixel GT)
    gt_img_labels               ``gt_img_labels``: float32 tensor (num_classes - 1,), multi-hot over the
                                foreground classes, index i = label value i + 1
    gt_saliency                 ``gt_saliency`` PixelData, float32 (1, H, W) in [0, 1]
    gt_superpixels              ``gt_superpixels`` PixelData, int64 (1, H, W) segment ids
    gt_pseudo_seg               ``gt_pseudo_seg`` PixelData, int64 (1, H, W), 255 = ignore
    img_view2                   ``img_view2``: float32 (C, h, w) second view, raw pixel values (NOT
                                normalised; the model applies the preprocessor's normalisation)
    img_id, crop_box, ...       metainfo (``meta_keys``); ``crop_box = (y0, y1, x0, x1)`` is the valid
                                (image-holding) region of a ``RandomCropPad`` container
    ==========================  ===================================================================

    Args:
        meta_keys: mmseg's defaults plus ``img_id``, ``crop_box``, ``crop_offset``.
    """

    def __init__(self,
                 meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                            'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label', 'img_id',
                            'crop_box', 'crop_offset')):
        super().__init__(meta_keys=meta_keys)

    @staticmethod
    def _labels_tensor(labels, results: dict) -> torch.Tensor:
        arr = np.asarray(labels, dtype=np.float32)
        if arr.ndim != 1:
            raise ValueError(f"{results.get('img_path', '?')}: gt_img_labels must be 1-D, got shape {arr.shape}")
        return torch.from_numpy(arr.copy())

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        data_sample = packed['data_samples']
        if results.get('gt_img_labels') is not None:
            data_sample.gt_img_labels = self._labels_tensor(results['gt_img_labels'], results)
        for key, (field, dtype) in EXTRA_MAP_FIELDS.items():
            arr = results.get(key)
            if arr is None:
                continue
            t = to_tensor(np.ascontiguousarray(arr)[None]).to(dtype)
            data_sample.set_field(PixelData(data=t), field)
        if results.get('img_view2') is not None:
            view = np.asarray(results['img_view2'], dtype=np.float32)
            if view.ndim == 2:
                view = view[..., None]
            data_sample.img_view2 = torch.from_numpy(np.ascontiguousarray(view.transpose(2, 0, 1)))
        return packed
