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
# 4. a retraining of the front's first entry on two ranks x cpu equals one on one process x
#    cpu,cpu (every epoch's train loss and test top-1/top-5 equal, the test loss within
#    1e-9, the final weights equal);
# 5. a retraining whose rank 1 is killed after its first epoch's checkpoint ends, and
#    resumes on two ranks and on one process to those numbers and weights;
# 6. Ctrl-C on mpirun (SIGINT) during a retraining's second epoch stops every rank with the
#    first epoch's checkpoint kept, and the retraining resumes to the same numbers and weights;
# 7. `nse search --retrain` on two ranks runs to the end of its retraining;
# 8. an experiment (vs-random) whose retrainings are spread over two ranks writes the report
#    of one process (all but its wall time equal);
# 9. a command that does not span ranks is refused under mpirun.
# Exits non-zero at the first failed check.
set -euo pipefail
nse="$(realpath "${1:?usage: ranks-search-check.sh NSE_MPI}")"
mpi=(mpirun -np 2 --oversubscribe --allow-run-as-root --mca btl tcp,self)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Two rounds of two epochs of 8 steps (the second round trains after each rank evaluated its
# own candidates): a checkpoint after step 8 to resume from and to be killed after.
small=(--preset demo --set max_rounds=2 --set epochs_per_round=2 --set epoch_batches=8
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

# Starts `mpirun … nse COMMAND ARGS…` in the background, waits for the file CHECKPOINT,
# kills rank 1 with SIGKILL and checks that the whole job ends, with a failure, without
# having written FINAL.
kill_rank_1() { # CHECKPOINT FINAL COMMAND ARGS...
  local checkpoint=$1 final=$2 command=$3
  shift 2
  "${mpi[@]}" "$nse" "$@" >"$work/kill-$command.log" 2>&1 &
  local launcher=$!
  for _ in $(seq 600); do
    [ -f "$checkpoint" ] && break
    sleep 0.1
  done
  [ -f "$checkpoint" ] || { echo "FAILED: no checkpoint within 60 s"; exit 1; }
  local victim=""
  for pid in $(pgrep -f "$nse $command"); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then
      victim=$pid
    fi
  done
  [ -n "$victim" ] || { echo "FAILED: rank 1 not found"; exit 1; }
  kill -9 "$victim"
  # The private folders a killed rank cannot remove.
  rm -rf "${TMPDIR:-/tmp}/nse-rank-1-of-2-$victim-"*
  local started status=0
  started=$(date +%s)
  timeout 120 tail --pid="$launcher" -f /dev/null || { echo "FAILED: the job still runs 120 s after rank 1 was killed"; kill -9 "$launcher"; exit 1; }
  wait "$launcher" || status=$?
  if [ -f "$final" ] || [ "$status" -eq 0 ]; then
    echo "FAILED: the $command went on to the end without rank 1 (exit $status)"
    exit 1
  fi
  echo "ok: killing rank 1 ended the $command in $(($(date +%s) - started)) s (exit $status)"
}

# Rank 1 killed after the first checkpoint.
kill_rank_1 "$work/kill/checkpoint/COMPLETE" "$work/kill/front.json" \
  search "${small[@]}" --out "$work/kill"
timeout 300 "${mpi[@]}" "$nse" search --resume "$work/kill" --quiet --no-tensorboard >/dev/null
same "$work/two" "$work/kill" "killed rank, resumed on two ranks"

# Retraining: the front's first entry, two epochs.
retrain=(retrain --front "$work/one/front.json" --index 0 --set epochs=2 --quiet --no-tensorboard)
# The same per-epoch numbers (the test loss, summed over the ranks in another order, within
# 1e-9) and the same final weights.
same_retraining() { # OUT_A OUT_B WHAT
  if python3 - "$1" "$2" <<'PY'
import json, struct, sys
def report(d):
    return json.load(open(f"{d}/report.json"))
def tensors(d):
    raw = open(f"{d}/model.safetensors", "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header, data = json.loads(raw[8:8 + n]), raw[8 + n:]
    return {k: data[v["data_offsets"][0]:v["data_offsets"][1]]
            for k, v in header.items() if k != "__metadata__"}
a, b = report(sys.argv[1]), report(sys.argv[2])
assert a["finished"] and b["finished"], "both finished"
assert len(a["epochs"]) == len(b["epochs"]) == 2, "two epochs each"
for x, y in zip(a["epochs"], b["epochs"]):
    assert x["train_loss"] == y["train_loss"], (x["train_loss"], y["train_loss"])
    assert x["train_top1"] == y["train_top1"]
    for k in ("top1", "top5", "images"):
        assert x["test"][k] == y["test"][k], (k, x["test"], y["test"])
    assert abs(x["test"]["loss"] - y["test"]["loss"]) <= 1e-9, (x["test"], y["test"])
assert tensors(sys.argv[1]) == tensors(sys.argv[2]), "the final weights differ"
PY
  then
    echo "ok: $3"
  else
    echo "FAILED: $3"
    exit 1
  fi
}
"$nse" "${retrain[@]}" --devices cpu,cpu --out "$work/retrain-one" >/dev/null
timeout 300 "${mpi[@]}" "$nse" "${retrain[@]}" --devices cpu --out "$work/retrain-two" >/dev/null
same_retraining "$work/retrain-one" "$work/retrain-two" \
  "a retraining on two ranks x cpu equals one on one process x cpu,cpu"
kill_rank_1 "$work/retrain-kill/checkpoint/epoch-0001/COMPLETE" "$work/retrain-kill/model.bpk" \
  "${retrain[@]}" --out "$work/retrain-kill"
cp -r "$work/retrain-kill" "$work/retrain-kill-one"
timeout 300 "${mpi[@]}" "$nse" "${retrain[@]}" --out "$work/retrain-kill" >/dev/null
same_retraining "$work/retrain-one" "$work/retrain-kill" \
  "a retraining killed on rank 1 resumes on two ranks to the same numbers and weights"
"$nse" "${retrain[@]}" --devices cpu,cpu --out "$work/retrain-kill-one" >/dev/null
same_retraining "$work/retrain-one" "$work/retrain-kill-one" \
  "a retraining killed on rank 1 resumes on one process to the same numbers and weights"

# Ctrl-C on mpirun during the second epoch: Open MPI forwards SIGINT to every rank.
"${mpi[@]}" "$nse" "${retrain[@]}" --out "$work/retrain-int" >"$work/int.log" 2>&1 &
launcher=$!
for _ in $(seq 600); do
  [ -f "$work/retrain-int/checkpoint/epoch-0001/COMPLETE" ] && break
  sleep 0.1
done
kill -INT "$launcher"
status=0
timeout 60 tail --pid="$launcher" -f /dev/null || { echo "FAILED: the job still runs 60 s after Ctrl-C"; kill -9 "$launcher"; exit 1; }
wait "$launcher" || status=$?
if [ "$status" -eq 0 ] || [ -f "$work/retrain-int/model.bpk" ] \
  || ! grep -q "stopped as asked in epoch 2; the checkpoint after epoch 1 is kept" "$work/int.log"; then
  echo "FAILED: Ctrl-C on mpirun (exit $status):"
  cat "$work/int.log"
  exit 1
fi
echo "ok: Ctrl-C on mpirun stopped every rank in epoch 2 with epoch 1's checkpoint (exit $status)"
timeout 300 "${mpi[@]}" "$nse" "${retrain[@]}" --out "$work/retrain-int" >/dev/null
same_retraining "$work/retrain-one" "$work/retrain-int" \
  "a retraining stopped by Ctrl-C on mpirun resumes on two ranks to the same numbers and weights"

# `nse search --retrain` across ranks, with a one-epoch recipe.
python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))["config"]
c["epochs"] = 1
json.dump(c, open(sys.argv[2], "w"))' "$work/retrain-one/report.json" "$work/one-epoch.json"
timeout 300 "${mpi[@]}" "$nse" search "${small[@]}" --retrain --recipe "$work/one-epoch.json" \
  --out "$work/with-retrain" >/dev/null
python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
assert r["finished"] and len(r["epochs"]) == 1, r' "$work/with-retrain/retrain/report.json" \
  || { echo "FAILED: search --retrain on two ranks"; exit 1; }
same "$work/two" "$work/with-retrain" "search --retrain on two ranks: the search's front"
echo "ok: search --retrain on two ranks retrained the best entry"

# An experiment's retrainings spread over two ranks: the report of one process.
experiment=(experiment vs-random --run "$work/one" --archs 2 --retrain-set epochs=1 --quiet)
"$nse" "${experiment[@]}" --out "$work/experiment-one" >/dev/null
timeout 600 "${mpi[@]}" "$nse" "${experiment[@]}" --out "$work/experiment-two" >/dev/null
if python3 - "$work/experiment-one" "$work/experiment-two" <<'PY'
import json, os, sys
def report(d):
    r = json.load(open(f"{d}/vs-random.json"))
    r.pop("wall_seconds")
    return r
a, b = sys.argv[1:]
assert report(a) == report(b), "the reports differ"
runs = sorted(os.listdir(f"{a}/retrain"))
assert runs == sorted(os.listdir(f"{b}/retrain")) and len(runs) >= 3, runs
for run in runs:
    x, y = (json.load(open(f"{d}/retrain/{run}/report.json")) for d in (a, b))
    for r in (x, y):
        r.pop("wall_seconds")
        for e in r["epochs"]:
            e.pop("seconds")
    assert x == y, run
PY
then
  echo "ok: an experiment's retrainings spread over two ranks give the report of one process"
else
  echo "FAILED: the experiment on two ranks"
  exit 1
fi

if timeout 60 "${mpi[@]}" "$nse" stats nsenet >"$work/refused.log" 2>&1; then
  echo "FAILED: nse stats ran under mpirun"
  exit 1
fi
grep -q "only \`nse search\`, \`nse retrain\` and \`nse experiment\` run across MPI ranks" "$work/refused.log" \
  || { echo "FAILED: no clear refusal:"; cat "$work/refused.log"; exit 1; }
echo "ok: a command that does not span ranks refuses to start under mpirun"
