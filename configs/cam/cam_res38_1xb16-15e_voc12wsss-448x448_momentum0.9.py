# Corrected variant of the psa CAM recipe: SGD momentum 0.9 (what psa's PolyOptimizer intended).
_base_ = ['./cam_res38_1xb16-15e_voc12wsss-448x448.py']
optim_wrapper = dict(optimizer=dict(momentum=0.9))
