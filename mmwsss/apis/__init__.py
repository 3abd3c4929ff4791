from .cam_inference import (cams_to_label, max_norm_cams, multi_scale_cams, resize_normalized,
                            scaled_size)

__all__ = ['cams_to_label', 'max_norm_cams', 'multi_scale_cams', 'resize_normalized', 'scaled_size']
