#!/usr/bin/env bash
# kill -9 at random moments of a short demo search and of a short retraining, resuming after
# each kill, then compares with uninterrupted runs of the same seed: the search must end with
# a byte-identical front.json, the retraining with byte-identical final weights
# (model.safetensors). Prints one line of figures per part (the lines docs/reliability.md
# quotes) and exits non-zero on any difference.
#
#   scripts/kill-resume.sh [NSE_BINARY]
#
# KILLS (default 3) kills per run; KILL_SEED fixes the kill moments (default: random, printed).
set -euo pipefail

nse="${1:-${CARGO_TARGET_DIR:-target}/debug/nse}"
kills="${KILLS:-3}"
seed="${KILL_SEED:-$RANDOM}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

search=(search --preset demo --quiet --set max_rounds=2 --set epochs_per_round=1
  --set epoch_batches=30 --set evaluation.n=6 --set evaluation.n_extra=2)
retrain=(retrain --recipe demo --quiet --set epochs=3)

# The k-th kill moment in seconds, uniform in (0.5, 0.6 × a whole run), from the seed: a
# resumed run starts over its set-up, so later moments would often come after its end.
moment() {
  python3 -c "import random; r = random.Random($seed * 1000 + $1); print(round(r.uniform(0.5, 0.6 * $2), 2))"
}

# Runs "$@" and kills it with SIGKILL after $1 seconds; returns 0 when it finished by itself
# first, 1 when it was killed, and fails on any other error.
run_and_kill() {
  local after="$1" status=0
  shift
  { timeout -s KILL "$after" "$@" > /dev/null 2>&1; } 2> /dev/null || status=$?
  case "$status" in
    0) return 0 ;;
    137) return 1 ;;
    *) echo "kill-resume: '$*' failed with status $status" >&2; exit 1 ;;
  esac
}

started=$(date +%s)
"$nse" "${search[@]}" --out "$out/search-whole" > /dev/null
whole_s=$(($(date +%s) - started))
limit=$((whole_s > 2 ? whole_s : 2))

# The search: killed `kills` times, each time resumed (or started again when no checkpoint
# was written yet), then run to its end.
killed=0
for k in $(seq 1 "$kills"); do
  at=$(moment "$k" "$limit")
  if [ -d "$out/search-killed/checkpoint" ] || [ -d "$out/search-killed/checkpoint.old" ]; then
    cmd=("$nse" search --resume "$out/search-killed" --quiet)
  else
    rm -rf "$out/search-killed"
    cmd=("$nse" "${search[@]}" --out "$out/search-killed")
  fi
  if run_and_kill "$at" "${cmd[@]}"; then break; fi
  killed=$((killed + 1))
done
if [ ! -f "$out/search-killed/front.json" ]; then
  if [ -d "$out/search-killed/checkpoint" ] || [ -d "$out/search-killed/checkpoint.old" ]; then
    "$nse" search --resume "$out/search-killed" --quiet > /dev/null
  else
    rm -rf "$out/search-killed"
    "$nse" "${search[@]}" --out "$out/search-killed" > /dev/null
  fi
fi
if cmp -s "$out/search-whole/front.json" "$out/search-killed/front.json"; then same=yes; else same=no; fi
echo "kill-resume search: seed $seed, $killed kill -9 in a ${whole_s} s run, front.json identical: $same"
[ "$same" = yes ]

# The retraining of the front's first entry: killed, rerun (it resumes from its last epoch).
started=$(date +%s)
"$nse" "${retrain[@]}" --front "$out/search-whole/front.json" --out "$out/retrain-whole" > /dev/null
whole_s=$(($(date +%s) - started))
limit=$((whole_s > 2 ? whole_s : 2))
killed=0
for k in $(seq 1 "$kills"); do
  at=$(moment $((k + 100)) "$limit")
  if run_and_kill "$at" "$nse" "${retrain[@]}" --front "$out/search-whole/front.json" \
    --out "$out/retrain-killed"; then break; fi
  killed=$((killed + 1))
done
if [ ! -f "$out/retrain-killed/model.safetensors" ]; then
  "$nse" "${retrain[@]}" --front "$out/search-whole/front.json" --out "$out/retrain-killed" > /dev/null
fi
# The tensors (names, shapes, bytes); the header's metadata map is written in no fixed order.
same=$(python3 - "$out/retrain-whole/model.safetensors" "$out/retrain-killed/model.safetensors" <<'PY'
import json, struct, sys
def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    return {k: (v["dtype"], v["shape"], data[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in header.items()}
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
print("yes" if a and a == b else "no")
PY
)
echo "kill-resume retrain: seed $seed, $killed kill -9 in a ${whole_s} s run, final weights identical: $same"
[ "$same" = yes ]
