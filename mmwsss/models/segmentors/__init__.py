from .affinity_net import AffinityNet
from .cam_segmentor import CAMSegmentor
from .crf_encoder_decoder import CRFEncoderDecoder
from .crf_seg_tta_model import CRFSegTTAModel
from .rtc import RTC

__all__ = ['AffinityNet', 'CAMSegmentor', 'CRFEncoderDecoder', 'CRFSegTTAModel', 'RTC']
