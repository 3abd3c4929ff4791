# The DeepLab-v2 paper's SUMMED ASPP (four biased 3x3 convs 2048 -> classes, rates 6/12/18/24, outputs summed; no
# BN, pooling or fusion conv) on resnet101s, with the recipe of deeplabv2_r101-aspp_1xb10-20k_voc-pseudo-448x448.py
# = YudeWang's deeplabv2_caffe (same train.py; from-scratch layers = the four ASPP convs: weights x10, biases x20
# without wd). kazuto1011's classic recipe (COCO-pretrained Caffe ResNet-101, MSC training, frozen BN, crop 321,
# lr 2.5e-4) is a different recipe and is not reproduced here (deeplab_final.md §2.4).
# Released weights: original2mmwsss.py ... --model yudewang-deeplabv2-caffe-r101
_base_ = ['./deeplabv2_r101-aspp_1xb10-20k_voc-pseudo-448x448.py']

model = dict(
    decode_head=dict(
        fusion='sum',
        # deeplabv2_caffe: kaiming-normal (fan_out, ReLU) branch weights; its biases keep PyTorch's default uniform
        # init, here 0 (mmengine's KaimingInit). Without this init_cfg the head uses kazuto1011's N(0, 0.01).
        init_cfg=dict(type='Kaiming', mode='fan_out', nonlinearity='relu', distribution='normal', layer='Conv2d')))
optim_wrapper = dict(
    paramwise_cfg=dict(
        _delete_=True,
        custom_keys={
            'decode_head': dict(lr_mult=10.0),
            **{f'decode_head.aspp_convs.{i}.bias': dict(lr_mult=20.0, decay_mult=0.0)
               for i in range(4)}
        }))
