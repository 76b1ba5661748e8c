#!/usr/bin/env bash
# §11.5: the follow-up tests registered after §11.4 — the held-out loss as the score on
# eight new base supernets, and the two weight-sampling options on eight supernets a side.
# Resumable: run again (a finished ranking is not run again).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
# The rankings (`rank`, env.sh) train with the frozen binary of §11, as every supernet they
# are compared with; `compare` needs the `@loss` columns of a later one ($NSE_COMPARE,
# frozen by prepare.sh).
cmp() { # NAME ARGS...
  local name="$1"; shift
  stamp "compare $name"
  "$NSE_COMPARE" experiment compare "$@" --out "$EXP/c10-compare-$name.json"
}
# (a) The loss against top-1 on eight new base supernets (training seeds 9–16).
rank c10-rank-base-c --set training_seed=9 --ensemble 4
rank c10-rank-base-d --set training_seed=13 --ensemble 4
loss=()
for r in base-c base-d; do
  for k in 0 1 2 3; do
    loss+=(--base "$EXP/c10-rank-$r#$k" --variant "$EXP/c10-rank-$r#$k@loss")
  done
done
cmp loss-vs-top1 "${loss[@]}"
# (b) uniform_count and fair on training seeds 3–8 too: eight supernets a side (seeds 1–8).
rank c10-rank-ucount-b --set training_seed=3 --ensemble 6 --set weight_sampling=uniform_count
rank c10-rank-fair-b --set training_seed=3 --ensemble 6 --set weight_sampling=fair
base=()
for k in 0 1 2 3; do base+=(--base "$EXP/c10-rank-base-a#$k"); done
for k in 0 1 2 3; do base+=(--base "$EXP/c10-rank-base-b#$k"); done
for v in ucount fair; do
  variant=(--variant "$EXP/c10-rank-$v#0" --variant "$EXP/c10-rank-$v#1")
  for k in 0 1 2 3 4 5; do variant+=(--variant "$EXP/c10-rank-$v-b#$k"); done
  cmp "$v-8" "${base[@]}" "${variant[@]}"
done
