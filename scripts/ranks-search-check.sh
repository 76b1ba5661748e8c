#!/usr/bin/env bash
# A short demo search across two MPI ranks on this machine (over TCP, as between machines),
# checked against one process, with resumes and a rank killed mid-search:
#
#   scripts/ranks-search-check.sh NSE_MPI    # an nse built with --features mpi
#
# 1. one process on `cpu,cpu` and two ranks on `cpu` each find the same front (front.json
#    equal byte for byte, and every candidate's score in the log equal: the ranks'
#    all-reduce adds the same two gradients as the devices, and the scores of the
#    candidates rank 1 evaluated reach rank 0 unchanged);
# 2. two ranks stopped by --max-steps and resumed on two ranks, and resumed on one process,
#    find that front too;
# 3. a run whose rank 1 is killed with `kill -9` after its first checkpoint ends (no hang:
#    bounded by a timeout) with a failure, and resumes on two ranks to the same front;
# 4. a search started under mpirun by a command that does not span ranks is refused.
# Exits non-zero at the first failed check.
set -euo pipefail
nse="$(realpath "${1:?usage: ranks-search-check.sh NSE_MPI}")"
mpi=(mpirun -np 2 --oversubscribe --allow-run-as-root --mca btl tcp,self)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Two epochs of 8 steps: a checkpoint after step 8 to resume from and to be killed after.
small=(--preset demo --set max_rounds=1 --set epochs_per_round=2 --set epoch_batches=8
  --set evaluation.n=6 --set evaluation.n_extra=1 --quiet --no-tensorboard)
# Every candidate's score, in the order evaluated, from a run's log.
scores() { # RUN
  python3 -c 'import json, sys
print("\n".join(json.dumps([e["architecture"], e["accuracy"]]) for e in map(json.loads, open(sys.argv[1]))
                 if e.get("event") == "evaluated"))' "$1/log.jsonl"
}
same() { # RUN_A RUN_B WHAT: the same front.json, and every candidate scored the same
  if cmp -s "$1/front.json" "$2/front.json" && [ "$(scores "$1")" = "$(scores "$2")" ] \
    && [ -n "$(scores "$1")" ]; then
    echo "ok: $3 ($(scores "$1" | wc -l) candidates scored alike)"
  else
    echo "FAILED: $3"
    diff <(python3 -m json.tool "$1/front.json") <(python3 -m json.tool "$2/front.json") | head -20
    diff <(scores "$1") <(scores "$2") | head -20
    exit 1
  fi
}

"$nse" search "${small[@]}" --devices cpu,cpu --out "$work/one" >/dev/null
timeout 300 "${mpi[@]}" "$nse" search "${small[@]}" --devices cpu --out "$work/two" >/dev/null
same "$work/one" "$work/two" \
  "two ranks x cpu find the front of one process x cpu,cpu"

timeout 300 "${mpi[@]}" "$nse" search "${small[@]}" --max-steps 5 --out "$work/stop" >/dev/null
[ ! -f "$work/stop/front.json" ] || { echo "FAILED: --max-steps 5 finished the search"; exit 1; }
cp -r "$work/stop" "$work/stop-one"
timeout 300 "${mpi[@]}" "$nse" search --resume "$work/stop" --quiet --no-tensorboard >/dev/null
same "$work/two" "$work/stop" "stopped on two ranks, resumed on two ranks"
"$nse" search --resume "$work/stop-one" --devices cpu,cpu --quiet --no-tensorboard >/dev/null
same "$work/two" "$work/stop-one" "stopped on two ranks, resumed on one process"

# Rank 1 killed after the first checkpoint.
"${mpi[@]}" "$nse" search "${small[@]}" --out "$work/kill" >"$work/kill.log" 2>&1 &
launcher=$!
for _ in $(seq 600); do
  [ -f "$work/kill/checkpoint/COMPLETE" ] && break
  sleep 0.1
done
[ -f "$work/kill/checkpoint/COMPLETE" ] || { echo "FAILED: no checkpoint within 60 s"; exit 1; }
victim=""
for pid in $(pgrep -f "$nse search"); do
  if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then
    victim=$pid
  fi
done
[ -n "$victim" ] || { echo "FAILED: rank 1 not found"; exit 1; }
kill -9 "$victim"
started=$(date +%s)
status=0
timeout 120 tail --pid="$launcher" -f /dev/null || { echo "FAILED: the job still runs 120 s after rank 1 was killed"; kill -9 "$launcher"; exit 1; }
wait "$launcher" || status=$?
if [ -f "$work/kill/front.json" ] || [ "$status" -eq 0 ]; then
  echo "FAILED: the job went on to the end without rank 1 (exit $status)"
  exit 1
fi
echo "ok: killing rank 1 ended the job in $(($(date +%s) - started)) s (exit $status)"
timeout 300 "${mpi[@]}" "$nse" search --resume "$work/kill" --quiet --no-tensorboard >/dev/null
same "$work/two" "$work/kill" "killed rank, resumed on two ranks"

if timeout 60 "${mpi[@]}" "$nse" stats nsenet >"$work/refused.log" 2>&1; then
  echo "FAILED: nse stats ran under mpirun"
  exit 1
fi
grep -q "only \`nse search\` runs across MPI ranks" "$work/refused.log" \
  || { echo "FAILED: no clear refusal:"; cat "$work/refused.log"; exit 1; }
echo "ok: a command that does not span ranks refuses to start under mpirun"
