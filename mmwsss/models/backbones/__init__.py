from .resnet38 import RESNET38_MEAN, RESNET38_STD, ResNet38
from .resnet38_basic_block import ResNet38BasicBlock
from .resnet38_bottleneck import ResNet38Bottleneck
from .vgg16_deeplab import VGG16_DEEPLAB_MEAN, VGG16_DEEPLAB_STD, VGG16DeepLab

__all__ = [
    'ResNet38', 'ResNet38BasicBlock', 'ResNet38Bottleneck', 'RESNET38_MEAN', 'RESNET38_STD', 'VGG16DeepLab',
    'VGG16_DEEPLAB_MEAN', 'VGG16_DEEPLAB_STD'
]
