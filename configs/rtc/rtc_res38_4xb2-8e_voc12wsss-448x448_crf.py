# Testing RTC with the dense CRF of contrast_infer.py --out_crf (67.20 val in the README): labels from the
# bg-0.17 arg-max, unary_from_labels(gt_prob=0.7), Gaussian 3/3, bilateral 50/5/10, 10 iterations
# (DenseCRF preset 'rtc').   python tools/test.py configs/rtc/rtc_res38_4xb2-8e_voc12wsss-448x448_crf.py CKPT
_base_ = ['./rtc_res38_4xb2-8e_voc12wsss-448x448.py']
model = dict(test_cfg=dict(crf='rtc'))
