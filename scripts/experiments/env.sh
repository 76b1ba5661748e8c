# Settings shared by the §11–§12 experiment scripts of docs/experiments.md (sourced).
# EXP: the experiments' folder; DATA: the extracted CIFAR-10 tree; NSE: a frozen copy of the
# `nse` binary (so that rebuilding the workspace never changes a running experiment).
EXP="${EXP:-/var/tmp/nse-exp}"
DATA="${DATA:-/var/tmp/nse-data/cifar10}"
NSE="${NSE:-$EXP/bin/nse}"
# A later frozen binary for what the first cannot do (`compare` of loss columns, §11.5).
NSE_COMPARE="${NSE_COMPARE:-$EXP/bin/nse-compare}"
C10=(--preset demo
  --set "data.source={\"kind\":\"image_list\",\"root\":\"$DATA\",\"train\":\"$EXP/c10-lists/train.txt\",\"test\":\"$EXP/c10-lists/test.txt\"}"
  --set data.holdout_fraction=0.2 --set space.input_channels=3 --set space.input_size=32
  --set resource.target=5 --set resource.drift=2.5
  --set max_rounds=1 --set epochs_per_round=4 --set epoch_batches=125
  --set evaluation.eval_batches=40)
KA=(--set 'space.pool=["ir_k3_e6","ir_k5_e3","ir_k1_e2","ir_k1_e3","ir_k1_e4","ir_k1_e6","ir_k1_e8","conv_k1_e1","conv_k1_e2","conv_k1_e3","rec_k1_e1","rec_k1_e2","rec_k1_e3"]')
# The ground truth the rankings are measured against (§11.1: the rule took the fallback).
GT="${GT:-c10-gt2}"
ARCHS="${ARCHS:-16}"
RETRAIN=(--retrain-set epochs=2 --retrain-set warmup_epochs=0)
stamp() { printf '%s %s\n' "$(date -u +%FT%TZ)" "$*"; }
# One supernet ranking of the ground truth's architectures (no retraining: the ground
# truth's accuracies are reused); a finished one is not run again (its report keeps the
# wall time of its own run).
rank() { # NAME ARGS...
  local name="$1"; shift
  stamp "start $name"
  [ -f "$EXP/$name/ranking.json" ] || /usr/bin/time -v "$NSE" experiment ranking --quiet "${C10[@]}" "$@" \
    --candidates-from "$EXP/$GT" --archs "$ARCHS" --seeds 2 "${RETRAIN[@]}" --out "$EXP/$name"
  stamp "end $name"
}
