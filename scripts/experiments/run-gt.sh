#!/usr/bin/env bash
# §11.1: the fallback ground truth, 16 architectures × 2 seeds × 2 epochs (resumable: run again).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
stamp "start $GT"
# A finished experiment is not run again (its report keeps the wall time of its own run).
[ -f "$EXP/$GT/ground-truth.json" ] || /usr/bin/time -v "$NSE" experiment ground-truth --quiet "${C10[@]}" --archs "$ARCHS" --seeds 2 \
  "${RETRAIN[@]}" --out "$EXP/$GT"
stamp "end $GT"
