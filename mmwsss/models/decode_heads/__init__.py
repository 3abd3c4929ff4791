from .affinity_head import AffinityHead
from .aspp_v2_head import ASPPV2Head
from .cam_head import CAMHead
from .largefov_head import LargeFOVHead
from .rtc_cam_head import RTCCAMHead
from .rtc_seg_head import RTCSegHead

__all__ = ['AffinityHead', 'CAMHead', 'LargeFOVHead', 'ASPPV2Head', 'RTCCAMHead', 'RTCSegHead']
