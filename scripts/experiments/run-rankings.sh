#!/usr/bin/env bash
# §11: the supernets' rankings of the ground truth's architectures (no retraining: the
# ground truth's accuracies are reused). Resumable: run again.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
rank() { # NAME ARGS...
  local name="$1"; shift
  stamp "start $name"
  # A finished experiment is not run again (its report keeps the wall time of its own run).
  [ -f "$EXP/$name/ranking.json" ] || /usr/bin/time -v "$NSE" experiment ranking --quiet "${C10[@]}" "$@" \
    --candidates-from "$EXP/$GT" --archs "$ARCHS" --seeds 2 "${RETRAIN[@]}" --out "$EXP/$name"
  stamp "end $name"
}
rank c10-rank-base-a --set training_seed=1 --ensemble 4
rank c10-rank-base-b --set training_seed=5 --ensemble 4
rank c10-rank-shadow --set training_seed=1 --ensemble 2 --set shadow_batch_norm=true
rank c10-rank-ucount --set training_seed=1 --ensemble 2 --set weight_sampling=uniform_count
rank c10-rank-fair --set training_seed=1 --ensemble 2 --set weight_sampling=fair
