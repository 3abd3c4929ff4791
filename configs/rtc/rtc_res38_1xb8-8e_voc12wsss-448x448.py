# The RTC recipe on ONE process with the original batch of 8 (what DataParallel on one machine gave).
#   python tools/train.py configs/rtc/rtc_res38_1xb8-8e_voc12wsss-448x448.py
_base_ = ['./rtc_res38_4xb2-8e_voc12wsss-448x448.py']
num_gpus = 1
train_dataloader = dict(batch_size=8)
