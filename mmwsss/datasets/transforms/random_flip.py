import mmcv
from mmcv.transforms import RandomFlip
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class WSSSRandomFlip(RandomFlip):
    """mmcv's ``RandomFlip`` that also flips every map in ``seg_fields`` and the second view.

    mmcv's ``RandomFlip`` flips ``img`` and ``gt_seg_map`` only, so saliency / superpixel / pseudo-mask maps
    (``gt_saliency``, ``gt_superpixels``, ``gt_pseudo_seg``) would stay unflipped. This subclass flips them
    (``swap_seg_labels`` applies to ``gt_seg_map`` only, as in mmcv), flips ``img_view2`` if present, and
    mirrors ``crop_box = (y0, y1, x0, x1)`` when the flip comes after ``RandomCropPad``. Arguments as mmcv's
    ``RandomFlip`` (psa: ``prob=0.5``, horizontal).
    """

    def _flip(self, results: dict) -> None:
        super()._flip(results)
        direction = results['flip_direction']
        for key in results.get('seg_fields', []):
            if key != 'gt_seg_map' and results.get(key) is not None:
                results[key] = mmcv.imflip(results[key], direction=direction)
        if results.get('img_view2') is not None:
            results['img_view2'] = mmcv.imflip(results['img_view2'], direction=direction)
        if results.get('crop_box') is not None:
            h, w = results['img'].shape[:2]
            y0, y1, x0, x1 = results['crop_box']
            if direction in ('horizontal', 'diagonal'):
                x0, x1 = w - x1, w - x0
            if direction in ('vertical', 'diagonal'):
                y0, y1 = h - y1, h - y0
            results['crop_box'] = (y0, y1, x0, x1)
