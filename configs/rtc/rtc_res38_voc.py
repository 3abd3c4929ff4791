# The design card's name for RTC on VOC: an alias of the faithful recipe rtc_res38_4xb2-8e_voc12wsss-448x448.py
# (4 GPUs x batch 2 = 8):  tools/dist_train.sh configs/rtc/rtc_res38_voc.py 4
#                          python tools/test.py configs/rtc/rtc_res38_voc.py CKPT
# A single-process `python tools/train.py configs/rtc/rtc_res38_voc.py` trains with batch 2; for the
# original batch 8 on one GPU use rtc_res38_1xb8-8e_voc12wsss-448x448.py.
_base_ = ['./rtc_res38_4xb2-8e_voc12wsss-448x448.py']
