from .cam_inference import multi_scale_cams, resize_normalized, scaled_size

__all__ = ['multi_scale_cams', 'resize_normalized', 'scaled_size']
