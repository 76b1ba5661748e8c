#!/usr/bin/env bash
# §12: the known-answer test — the labels first (rule: both pairs ≥ 3 points, else once
# more with two epochs), then the arms, their measures and their retraining.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
labels() { # NAME EPOCHS
  stamp "start $1"
  # A finished experiment is not run again (its report keeps the wall time of its own run).
  [ -f "$EXP/$1/ground-truth.json" ] || "$NSE" experiment ground-truth --quiet "${C10[@]}" "${KA[@]}" --seeds 2 \
    --architecture '0|0|0|0|0|0|0' --architecture '5|5|5|5|5|5|5' \
    --architecture '1|1|1|1|1|1|1' --architecture '4|4|4|4|4|4|4' \
    --retrain-set "epochs=$2" --retrain-set warmup_epochs=0 --out "$EXP/$1"
  stamp "end $1"
}
# Both pairs (strong − weak of the 2-seed means) at least 3 points?
labels_hold() {
  python3 - "$EXP/$1/ground-truth.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
# The homogeneous networks by their op (the ground truth lists them in cost order).
m = {a["text"].split("|")[0].strip(): a["retrained_mean"] for a in r["architectures"]}
gaps = [m["0"] - m["5"], m["1"] - m["4"]]  # ir_k3_e6 − ir_k1_e6, ir_k5_e3 − ir_k1_e4
print("label gaps (points):", ", ".join(f"{g:.2f}" for g in gaps))
sys.exit(0 if min(gaps) >= 3 else 1)
PY
}
labels ka-labels 1
if ! labels_hold ka-labels; then
  labels ka-labels-2ep 2
  if ! labels_hold ka-labels-2ep; then stamp "labels do not hold: no arms run"; exit 0; fi
fi
# The arms: every search and its pre-registered measures first (from front.json alone),
# then the retrainings against random architectures, which take the longest.
ARMS=(
  "ka-evolving-2021 2021 --set max_rounds=3"
  "ka-fixed-2021 2021 --set max_rounds=1 --set epochs_per_round=12"
  "ka-evolving-2022 2022 --set max_rounds=3"
  "ka-fixed-2022 2022 --set max_rounds=1 --set epochs_per_round=12"
  "ka-oneshot-2021 2021 --set space.subspace_size=13 --set max_rounds=1 --set epochs_per_round=12"
)
search_arm() { # NAME SEED ARGS...
  local name="$1" seed="$2"; shift 2
  stamp "start $name"
  # A finished search (restored from the records: its front, no checkpoint) is not rerun;
  # an interrupted one resumes from its checkpoint.
  if [ -f "$EXP/$name/front.json" ]; then
    :
  elif [ -d "$EXP/$name/checkpoint" ] || [ -d "$EXP/$name/checkpoint.old" ]; then
    /usr/bin/time -v "$NSE" search --quiet --resume "$EXP/$name"
  else
    /usr/bin/time -v "$NSE" search --quiet "${C10[@]}" "${KA[@]}" "$@" --seed "$seed" --out "$EXP/$name"
  fi
  "$NSE" experiment known-answer --run "$EXP/$name" --strong ir_k3_e6 --strong ir_k5_e3 \
    --out "$EXP/$name/known-answer.json"
  stamp "end $name"
}
retrain_arm() { # NAME
  stamp "start $1-vs-random"
  # A finished comparison is not run again (its report keeps the wall time of its own run).
  [ -f "$EXP/$1-vs-random/vs-random.json" ] || "$NSE" experiment vs-random --quiet --run "$EXP/$1" --archs 6 \
    --retrain-set epochs=1 --retrain-set warmup_epochs=0 --out "$EXP/$1-vs-random"
  stamp "end $1-vs-random"
}
for arm in "${ARMS[@]}"; do
  # shellcheck disable=SC2086 # the arm's words
  search_arm $arm
done
for arm in "${ARMS[@]}"; do
  retrain_arm "${arm%% *}"
done
