# psa's CAM network (jiwoon-ahn/psa train_cls.py, README command; affinitynet.md §4.1-4.2), faithful recipe:
# ResNet-38 from the converted ImageNet weights, train_aug with image labels only, random long side 256..512,
# flip, colour jitter, crop 448, batch 16 on one GPU, 15 epochs, lr 0.1 (README; the author notes this is
# the VGG-16 value, psa#8), weight decay 5e-4, poly decay power 0.9 per iteration, head lr x10.
# Convert the weights first:
#   python tools/model_converters/mxnet2mmwsss.py ilsvrc-cls_rna-a1_cls1000_ep-0001.params \
#       pretrain/resnet38_ilsvrc-cls_rna-a1.pth --arch resnet38
_base_ = [
    '../_base_/models/cam_res38.py', '../_base_/datasets/voc12_wsss.py', 'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py'
]
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
default_scope = 'mmseg'

model = dict(data_preprocessor=dict(size=(448, 448)))  # training batches are 448x448 crops
train_dataloader = dict(batch_size=16, drop_last=True)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    # QUIRK (psa tool/torchutils.py PolyOptimizer, jiwoon-ahn/psa#28): the weight decay is passed positionally
    # into torch.optim.SGD's momentum slot, so the momentum actually used is 5e-4 (practically none).
    # Reproduced on purpose; cam_res38_1xb16-15e_voc12wsss-448x448_momentum0.9.py is the corrected variant.
    optimizer=dict(type='SGD', lr=0.1, momentum=5e-4, weight_decay=5e-4),
    # psa parameter groups: backbone weights x1, head (fc8 = decode_head.conv_cam) x10; no biases exist.
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
# psa: lr = lr0 * (1 - it / max_it) ** 0.9 before every step, it = 0 .. max_it - 1, with
# max_it = floor(10582 / 16) * 15 = 9915. mmengine's PolyLR decays over (end - begin - 1) steps, so
# end = max_it + 1 gives psa's exact sequence (end = max_it would reach 0 one step early).
max_iters = 10582 // 16 * 15
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=max_iters + 1, by_epoch=False)]
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=15, val_interval=5)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=5))
log_processor = dict(by_epoch=True)
# Pseudo-labels for the next stage: psa infer_cls.py (scales 1, 0.5, 1.5, 2 with flips; la/ha CRF 4 / 32)
gen_pseudo_dataset = dict(
    type='WSSSVOCDataset',
    data_root='data/VOCdevkit/VOC2012',
    ann_file='ImageSets/Segmentation/train_aug.txt',
    data_prefix=dict(img_path='JPEGImages'),
    label_source='npy',
    cls_labels_file='cls_labels.npy',
    load_seg_map=False,
    pipeline=[dict(type='LoadWSSSImageFromFile'), dict(type='PackWSSSInputs')])
