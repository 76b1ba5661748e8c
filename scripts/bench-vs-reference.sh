#!/usr/bin/env bash
# Times our supernet and the PyTorch reference (../shared/bench/ref_supernet.py) on the same
# space, architecture and batch, in one run on this machine, and prints both JSON lines and
# our/reference ratios (>= 1.0: we are at least as fast).
#
# Usage: scripts/bench-vs-reference.sh [--pool mb27|mb72] [--steps N] [--device cpu|wgpu|cuda]
# Needs: NSE_REF_GIT (git dir of the reference repository), and a Python with PyTorch in
# NSE_REF_PYTHON (default ~/.venvs/nse-ref/bin/python); see ../shared/bench/README.md.
# The reference always runs on the CPU; `--device` picks our side's device.
set -euo pipefail
cd "$(dirname "$0")/.."

pool=mb27 steps=10 device=cpu batch=64 size=32
while [ $# -gt 0 ]; do
  case "$1" in
    --pool) pool=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case "$pool" in
  mb27) ref_pool=multi_mac ;;
  mb72) ref_pool=multi_mac_group ;;
  *) echo "--pool: mb27 or mb72" >&2; exit 2 ;;
esac
python=${NSE_REF_PYTHON:-$HOME/.venvs/nse-ref/bin/python}
harness=${NSE_REF_HARNESS:-../shared/bench/ref_supernet.py}
: "${NSE_REF_GIT:?set NSE_REF_GIT to the git directory of the reference repository}"
features=()
case "$device" in
  wgpu*) features=(--features wgpu) ;;
  cuda*) features=(--features cuda) ;;
esac

# Build first so that compilation does not overlap the timings.
cargo bench --profile dev -p nse "${features[@]}" --bench reference --no-run >&2
common=(--batch "$batch" --size "$size" --steps "$steps")
ours=$(cargo bench --profile dev -p nse "${features[@]}" --bench reference -- \
  --pool "$pool" --device "$device" "${common[@]}" | tail -n 1)
ref=$(NSE_REF_GIT=$NSE_REF_GIT "$python" "$harness" --pool "$ref_pool" "${common[@]}" | tail -n 1)
echo "$ours"
echo "$ref"
python3 - "$ours" "$ref" <<'PY'
import json, sys
ours, ref = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{'':16}{'nse':>10}{'reference':>12}{'ratio':>8}   (images/s, {ours['pool']}, batch {ours['batch']}, {ours['size']}x{ours['size']})")
for key, name in [("weight_step_img_s", "weight step"), ("arch_step_img_s", "indicator step"), ("eval_img_s", "evaluation")]:
    print(f"{name:16}{ours[key]:>10.1f}{ref[key]:>12.1f}{ours[key] / ref[key]:>8.2f}")
PY
