from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS
from torchvision.transforms import ColorJitter

from .utils import bgr_to_pil, pil_to_bgr


@TRANSFORMS.register_module()
class PhotoMetricJitter(BaseTransform):
    """torchvision's ``ColorJitter`` on the PIL RGB image, as psa/SEAM/RTC apply it (affinitynet.md §4.2:
    brightness 0.3, contrast 0.3, saturation 0.3, hue 0.1).

    The four factors are drawn by torchvision (torch RNG) and applied in a random order, exactly as
    ``torchvision.transforms.ColorJitter`` does on a PIL image (uint8 in, uint8 out). Unlike mmseg's
    ``PhotoMetricDistortion`` (OpenCV HSV arithmetic on float arrays) this reproduces the original pixels
    for the same torch seed. The image must still be uint8 (run it before ``RandomCropPad``).

    Required keys: img (uint8 BGR). Modified keys: img.
    """

    def __init__(self, brightness: float = 0.3, contrast: float = 0.3, saturation: float = 0.3,
                 hue: float = 0.1) -> None:
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
        self.jitter = ColorJitter(brightness=brightness, contrast=contrast, saturation=saturation, hue=hue)

    def transform(self, results: dict) -> dict:
        results['img'] = pil_to_bgr(self.jitter(bgr_to_pil(results['img'])))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(brightness={self.brightness}, contrast={self.contrast}, '
                f'saturation={self.saturation}, hue={self.hue})')
