"""Weight converters: MXNet ``.params`` reader/writer, key mappings for the ImageNet backbones (ResNet-38,
VGG16-DeepLab) and a registry of mappings for the original methods' released PyTorch checkpoints."""
from .key_mapping import ConversionResult, KeyMappingError, convert_with_key_map, expected_shapes
from .mxnet_params import (MXNetParamsError, dump_mxnet_params, load_mxnet_params, parse_mxnet_params,
                           save_mxnet_params, split_arg_aux)
from .original import (ORIGINAL_MAPPINGS, OriginalMapping, convert_original_state_dict, get_original_mapping,
                       list_original_mappings, register_original_mapping)
from .original_deeplab import (LARGEFOV_HEAD_KEYS, RESNET101S_CFG, aspp_v2_head_key, deeplabv2_head_cfg,
                               largefov_head_key, resnet101s_key)
from .original_rtc import RTC_DROPPED_KEYS, RTC_HEAD_KEYS, RTC_HEAD_SHAPES, rtc_key
from .resnet38_keys import RESNET38_NUM_TENSORS, resnet38_mxnet_key
from .vgg16_keys import VGG16_NUM_TENSORS, vgg16_mxnet_key

__all__ = [
    'ConversionResult', 'KeyMappingError', 'convert_with_key_map', 'expected_shapes', 'MXNetParamsError',
    'dump_mxnet_params', 'load_mxnet_params', 'parse_mxnet_params', 'save_mxnet_params', 'split_arg_aux',
    'ORIGINAL_MAPPINGS', 'OriginalMapping', 'convert_original_state_dict', 'get_original_mapping',
    'list_original_mappings', 'register_original_mapping', 'RESNET38_NUM_TENSORS', 'resnet38_mxnet_key',
    'VGG16_NUM_TENSORS', 'vgg16_mxnet_key', 'LARGEFOV_HEAD_KEYS', 'RESNET101S_CFG', 'aspp_v2_head_key',
    'deeplabv2_head_cfg', 'largefov_head_key', 'resnet101s_key', 'RTC_DROPPED_KEYS', 'RTC_HEAD_KEYS',
    'RTC_HEAD_SHAPES', 'rtc_key'
]
