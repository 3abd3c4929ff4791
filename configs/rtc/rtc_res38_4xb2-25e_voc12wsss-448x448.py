# RTC as the authors actually ran it (run.sh: --max_epoches 25); the released rtc_contrast_best.pth is most
# likely epoch index 23 of such a run, picked by val mIoU (rtc.md §1). loss_seg is on from epoch index 7,
# i.e. for 18 of the 25 epochs. Checkpoints after every epoch index > 6, as the original.
_base_ = ['./rtc_res38_4xb2-8e_voc12wsss-448x448.py']
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=25, by_epoch=True, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=25)
