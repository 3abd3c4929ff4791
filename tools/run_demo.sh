#!/usr/bin/env bash
# The main job on the embedded toy data set, on CPU in a few minutes (README "make demo"):
#   1. generate the toy data set (data/toy_voc) if it is not there
#   2. train the CAM baseline (configs/cam/cam_res38-w16_1xb8-300it_toy-64x64.py), validated with IoUMetric
#   3. multi-scale + flip CAMs on the 'val' split, and a background-threshold curve there (the split on which
#      the threshold is chosen)
#   4. CAMs and pseudo-masks on the 'train' split: threshold (the one chosen on val), psa's CRF at alpha 4 and 32
#   5. evaluate every kind on 'train' (the WSSS protocol for pseudo-masks), draw overlays, print one table
# Outputs: work_dirs/demo/ (WORK_DIR overrides). Every step is resumable; rerunning skips finished files.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WD="${WORK_DIR:-work_dirs/demo}"
DATA="${TOY_DATA:-data/toy_voc}"
CFG=configs/cam/cam_res38-w16_1xb8-300it_toy-64x64.py
ITERS="${DEMO_ITERS:-300}"
SETS="$DATA/ImageSets/Segmentation"
EVAL=(--gt-dir "$DATA/SegmentationClass" --num-classes 6 --class-names "$DATA/classes.txt")
t0=$(date +%s)

echo "== 1/5 toy data set ($DATA)"
[ -f "$SETS/train_aug.txt" ] || "$PY" tools/dataset_converters/make_toy_voc.py "$DATA" --num-images 240 --size 96 --seed 0

echo "== 2/5 training the CAM baseline ($ITERS iterations)"
CKPT="$WD/cam/iter_$ITERS.pth"
if [ ! -f "$CKPT" ]; then
  "$PY" tools/train.py "$CFG" --work-dir "$WD/cam" --cfg-options \
    train_cfg.max_iters="$ITERS" param_scheduler.0.end="$ITERS" default_hooks.checkpoint.interval="$ITERS" \
    train_cfg.val_interval="$ITERS" "train_dataloader.dataset.data_root=$DATA" "val_dataloader.dataset.data_root=$DATA" \
    2>&1 | grep -E "Iter\(train\) \[ *[0-9]*0/|Iter\(val\) \[[0-9]+/[0-9]+\] +aAcc|Error|error" || true
  [ -f "$CKPT" ] || { echo "training did not produce $CKPT" >&2; exit 1; }
fi

gen() {  # split, extra args
  local split=$1; shift
  "$PY" tools/gen_pseudo.py "$CFG" "$CKPT" --split "$split" --out-dir "$WD/pseudo_$split" \
    --scales 1.0 0.5 1.5 2.0 --flip --workers 2 --cfg-options "gen_pseudo_dataset.data_root=$DATA" "$@"
}

echo "== 3/5 CAMs on val and the background-threshold curve there"
gen val --cams-only
"$PY" tools/eval_pseudo.py --pred-dir "$WD/pseudo_val/cam" --type npy --list "$SETS/val.txt" --curve \
  --out-dir "$WD/eval/val_cam_curve" "${EVAL[@]}" | tail -n 3
THR=$("$PY" -c "import json,sys; print('%.2f' % json.load(open(sys.argv[1]))['bg_threshold'])" \
  "$WD/eval/val_cam_curve/metrics.json")
echo "background threshold chosen on val: $THR"

echo "== 4/5 CAMs and pseudo-masks on train (threshold $THR, CRF alpha 4 and 32)"
gen train --masks "thr:$THR" crf:4 crf:32

echo "== 5/5 evaluation on train, overlays"
"$PY" tools/eval_pseudo.py --pred-dir "$WD/pseudo_train/cam" --type npy --list "$SETS/train.txt" \
  --thresholds "$THR" --chosen-on val --out-dir "$WD/eval/train_cam" "${EVAL[@]}" > /dev/null
"$PY" tools/eval_pseudo.py --pred-dir "$WD/pseudo_train/cam" --type npy --list "$SETS/train.txt" --curve \
  --out-dir "$WD/eval/train_cam_curve" "${EVAL[@]}" > /dev/null 2>&1
for kind in "thr_$THR" crf_a4 crf_a32; do
  "$PY" tools/eval_pseudo.py --pred-dir "$WD/pseudo_train/$kind" --type png --list "$SETS/train.txt" \
    --chosen-on val --out-dir "$WD/eval/train_$kind" "${EVAL[@]}" > /dev/null
done
"$PY" tools/visualize_cams.py --img-dir "$DATA/JPEGImages" --cam-dir "$WD/pseudo_train/cam" \
  --pred-dir "$WD/pseudo_train/thr_$THR" --gt-dir "$DATA/SegmentationClass" --list "$SETS/train.txt" \
  --out "$WD/overlays_train.png" --max-images 8 --num-classes 6 --class-names "$DATA/classes.txt"
"$PY" tools/summarize_demo.py --work-dir "$WD" --data "$DATA" --threshold "$THR" --seconds $(( $(date +%s) - t0 ))
