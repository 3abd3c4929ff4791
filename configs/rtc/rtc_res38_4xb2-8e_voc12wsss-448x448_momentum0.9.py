# Corrected variant of the RTC recipe: SGD momentum 0.9 (what the PolyOptimizer call intended).
_base_ = ['./rtc_res38_4xb2-8e_voc12wsss-448x448.py']
optim_wrapper = dict(optimizer=dict(momentum=0.9))
