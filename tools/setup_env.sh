#!/usr/bin/env bash
# Build the mmwsss environment: a Python 3.11 virtual environment with torch, the OpenMMLab stack
# (mmcv 2.1.0 compiled WITH its ops), pydensecrf2 and mmwsss itself (editable).
#
#   bash tools/setup_env.sh            # or: make env
#
# Idempotent: a second run only checks what is installed. Fails loudly (set -e, a message per step).
#
# Variables (all optional):
#   MMWSSS_VENV       where the virtual environment lives          (default: <repo>/.venv)
#   MMWSSS_PYTHON     the interpreter used to create it             (default: python3.11)
#   MMWSSS_CACHE      where built wheels are cached, outside clones (default: ~/.cache/mmwsss)
#   MMWSSS_JOBS       parallel compile jobs for mmcv                (default: number of cores)
#
# Why mmcv is built by hand: mmseg 1.2.2 needs mmcv >= 2.0.0rc4, < 2.2.0 with compiled ops (mmseg.models
# imports mmcv.ops), and OpenMMLab publishes no wheel for torch >= 2.5. torch 2.14's headers require C++20
# while mmcv 2.1.0's setup.py hard-codes -std=c++17, so the unpacked sdist is built with that flag raised
# to -std=c++20. The wheel is cached keyed by mmcv version, torch version, Python ABI, platform and
# whether CUDA ops were built; pip's own wheel cache is keyed by the sdist only and must not be used.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMWSSS_VENV:-$ROOT/.venv}"
PYTHON="${MMWSSS_PYTHON:-python3.11}"
CACHE="${MMWSSS_CACHE:-$HOME/.cache/mmwsss}"
JOBS="${MMWSSS_JOBS:-$(nproc 2>/dev/null || echo 2)}"
MMCV_VERSION=2.1.0

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }
trap 'die "tools/setup_env.sh failed at line $LINENO (see the output above)"' ERR

step "virtual environment: $VENV"
if [ ! -x "$VENV/bin/python" ]; then
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found; set MMWSSS_PYTHON to a Python 3.11 interpreter"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || die "$VENV is not Python 3.11; remove it or set MMWSSS_VENV"
# pip on these machines warns about every local index folder that lacks a package; keep the log readable.
# Every install also honours requirements/constraints.txt (setuptools<81: see that file).
pip_() {
  local cmd=$1; shift
  local extra=()
  if [ "$cmd" = install ] || [ "$cmd" = wheel ]; then extra=(-c "$ROOT/requirements/constraints.txt"); fi
  "$PY" -m pip --disable-pip-version-check "$cmd" "${extra[@]}" "$@" 2> >(grep -v "^WARNING: Location 'file://" >&2)
}

step "build tools (setuptools<81, wheel, ninja, psutil, Cython 0.29.36)"
pip_ install -q -r "$ROOT/requirements/build.txt"

step "torch and torchvision"
pip_ install -q -r "$ROOT/requirements/torch.txt"

step "numpy 2 and opencv-python-headless (before mmcv, so that mmcv keeps the headless build)"
pip_ install -q "numpy>=2,<3" opencv-python-headless

step "mmengine, mmseg, mmpretrain, pydensecrf2 and the other runtime dependencies (mmcv comes next)"
pip_ install -q -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"

# ---------------------------------------------------------------- mmcv with ops, cached
mmcv_ok() {
  "$PY" - <<'EOF' 2>/dev/null
import mmcv, torch
from mmcv.ops import nms
assert mmcv.__version__ == '2.1.0', mmcv.__version__
b = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]]); s = torch.tensor([0.9, 0.8])
_, keep = nms(b, s, 0.5)
assert keep.tolist() == [0]
EOF
}
KEY="$("$PY" - <<'EOF'
import sys, sysconfig, torch
tag = 'cp%d%d' % sys.version_info[:2]
plat = sysconfig.get_platform().replace('-', '_').replace('.', '_')
ops = 'cuda' if (torch.cuda.is_available() or __import__('os').environ.get('FORCE_CUDA') == '1') else 'cpu'
print(f'mmcv-2.1.0_torch-{torch.__version__}_{tag}_{plat}_{ops}')
EOF
)"
WHEEL_DIR="$CACHE/wheels/$KEY"
step "mmcv $MMCV_VERSION with compiled ops (cache key $KEY)"
if mmcv_ok; then
  echo "mmcv $MMCV_VERSION with ops already installed"
else
  if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
    echo "no cached wheel in $WHEEL_DIR: building from the sdist (tens of minutes on 2 cores)"
    BUILD="$(mktemp -d "${TMPDIR:-/tmp}/mmwsss-mmcv-build.XXXXXX")"
    pip_ download -q --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$BUILD"
    tar -xzf "$BUILD"/mmcv-"$MMCV_VERSION".tar.gz -C "$BUILD"
    SRC="$BUILD/mmcv-$MMCV_VERSION"
    grep -q -- '-std=c++17' "$SRC/setup.py" || die "mmcv $MMCV_VERSION setup.py has no -std=c++17 flag to raise"
    sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
    (cd "$SRC" && MMCV_WITH_OPS=1 MAX_JOBS="$JOBS" pip_ wheel --no-build-isolation --no-deps \
        --no-cache-dir -w "$BUILD/dist" .)
    mkdir -p "$CACHE/wheels"
    TMP_DIR="$(mktemp -d "$CACHE/wheels/.$KEY.XXXXXX")"
    cp "$BUILD"/dist/mmcv-*.whl "$TMP_DIR"/
    rm -rf "$WHEEL_DIR"; mv "$TMP_DIR" "$WHEEL_DIR"   # atomic publish of the cache entry
    rm -rf "$BUILD"
  else
    echo "using cached wheel $(ls "$WHEEL_DIR"/mmcv-*.whl)"
  fi
  pip_ install -q --no-deps --force-reinstall "$WHEEL_DIR"/mmcv-*.whl
  # mmcv's own light dependencies (its wheel was installed without them)
  pip_ install -q addict packaging Pillow pyyaml yapf
  mmcv_ok || die "mmcv $MMCV_VERSION installed but its compiled ops do not work"
fi

step "mmwsss (editable)"
pip_ install -q --no-deps --no-build-isolation -e "$ROOT"

step "checking the environment"
"$PY" - <<'EOF'
import warnings; warnings.simplefilter("ignore")  # pkg_resources warns that it is deprecated
import pkg_resources  # noqa: F401,E402  (mmengine's mmseg:: config inheritance needs it: setuptools<81)
import mmcv, mmengine, mmseg, torch, numpy, pydensecrf.densecrf  # noqa: F401
import mmseg.models, mmpretrain.models  # noqa: F401
import mmwsss
from mmcv.ops import roi_align
x = torch.arange(16.).view(1, 1, 4, 4)
out = roi_align(x, torch.tensor([[0., 0., 0., 3., 3.]]), (1, 1), 1.0, 0, 'avg', True)
print(f'torch {torch.__version__}, numpy {numpy.__version__}, mmcv {mmcv.__version__} (ops ok), '
      f'mmengine {mmengine.__version__}, mmseg {mmseg.__version__}, mmwsss {mmwsss.__version__}')
EOF
echo "environment ready: $VENV"
