# Corrected variant of the psa AffinityNet recipe: SGD momentum 0.9 (what psa's PolyOptimizer intended).
_base_ = ['./affinitynet_res38_1xb8-8e_voc12wsss-448x448.py']
optim_wrapper = dict(optimizer=dict(momentum=0.9))
