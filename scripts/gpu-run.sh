#!/usr/bin/env bash
# Runs the GPU check from a pack that scripts/gpu-pack.sh built (no Rust needed here): the
# WGPU parity and data-parallel tests against the CPU, the supernet benchmarks on the CPU and
# on every packed GPU backend, the data-parallel benchmark against the device count, the
# latency tables' prediction against measured networks, and a short demo search per device.
# Prints a Markdown report and writes it to $OUT/gpu-check.md when OUT is set (the device
# tool's output folder), with the full log beside it.
#
# Usage: bash PACK/gpu-run.sh PACK       (from the repository root)
# Settings: NSE_BENCH_STEPS (supernet benchmark repeats, default 10), NSE_STEP_TIMEOUT
# (seconds any one command may take, default 240), NSE_GPU_RUN_PARTS (which sections run,
# default "tests bench parallel latency search").
set -uo pipefail
pack="${1:?usage: gpu-run.sh PACK}"
steps=${NSE_BENCH_STEPS:-10}
limit=${NSE_STEP_TIMEOUT:-240}
work=$(mktemp -d)
out=${OUT:-$work/out}
mkdir -p "$out"
report="$out/gpu-check.md"
full="$out/gpu-run.log"
: >"$report"
log() { echo "$*" | tee -a "$report"; }
# Runs a command with the time limit, its output appended to the full log; its status.
run() {
  echo "\$ $*" >>"$full"
  timeout "$limit" "$@" >"$full.part" 2>&1
  local status=$?
  cat "$full.part" >>"$full"
  [ "$status" -eq 124 ] && echo "(stopped after ${limit} s)" >>"$full"
  return "$status"
}
# Whether the section is among NSE_GPU_RUN_PARTS.
wanted() { [[ " ${NSE_GPU_RUN_PARTS:-tests bench parallel latency search} " == *" $1 "* ]]; }
# Why the last `run` failed, for a report line.
why() { if [ "$1" -eq 124 ]; then echo "timed out after ${limit} s"; else echo "FAILED (see gpu-run.log)"; fi; }

# The Vulkan loader, when the machine has none (the pack carries Debian's packages).
if ! ldconfig -p 2>/dev/null | grep -q libvulkan && ls "$pack"/gl/*.deb >/dev/null 2>&1; then
  for f in "$pack"/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then
  export VK_DRIVER_FILES="$nvidia_icd"
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$work}"

# Unpack the binaries: one folder per GPU feature.
backends=()
for dir in "$pack"/bin-*; do
  [ -d "$dir" ] || continue
  feature=${dir##*/bin-}
  mkdir -p "$work/$feature"
  for f in "$dir"/*.xz; do
    xz -dc "$f" >"$work/$feature/$(basename "$f" .xz)"
  done
  chmod +x "$work/$feature"/*
  backends+=("$feature")
done
[ ${#backends[@]} -gt 0 ] || { echo "gpu-run: no bin-* folder in $pack" >&2; exit 1; }
# The binaries for a device: the CPU rows use the first pack's (every build has the CPU
# backend).
bin_for() { if [ "$1" = cpu ]; then echo "$work/${backends[0]}"; else echo "$work/$1"; fi; }

gpu=$( (nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi") | head -n 1)
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
log "# GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
log ""
log "- GPU: $gpu (${gpus:-0} listed by nvidia-smi)"
log "- CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
log "- commit: $(tr '\n' ' ' <"$pack/commit")"
log "- packed backends: ${backends[*]}"

if wanted tests; then
  if [ -d "$work/wgpu" ]; then
    for test in wgpu_parity wgpu_data_parallel; do
      [ -x "$work/wgpu/$test" ] || continue
      run "$work/wgpu/$test" --nocapture
      status=$?
      if [ "$status" -eq 0 ]; then
        result="passed ($(grep -c '^test .* ok$' "$full.part") tests)"
      else
        result=$(why "$status")
      fi
      adapter=$(grep -m1 '^WGPU adapter' "$full.part" | sed 's/^WGPU adapter: //')
      log "- \`$test\` against the CPU: $result; adapter: ${adapter:-unknown}"
      case "$adapter" in
        *llvmpipe* | *lavapipe* | *SwiftShader*) log "  - WARNING: a software adapter, not the GPU" ;;
      esac
    done
  fi
fi

if wanted bench; then
  log ""
  log "Supernet throughput (images/s; reference space, batch 64, 32x32; \`benches/reference.rs\`):"
  log ""
  log "| device | pool | weight step | indicator step | evaluation | recalibration |"
  log "|---|---|---:|---:|---:|---:|"
  for device in cpu "${backends[@]}"; do
    bin=$(bin_for "$device")
    for pool in mb27 mb72; do
      run "$bin/reference" --device "$device" --pool "$pool" --steps "$steps"
      status=$?
      row="| $device | $pool | $(why "$status") | | | |"
      if [ "$status" -eq 0 ]; then
        line=$(tail -n 1 "$full.part")
        row=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("| %s | %s | %.1f | %.1f | %.1f | %.1f |" % (sys.argv[2], d["pool"], d["weight_step_img_s"], d["arch_step_img_s"], d["eval_img_s"], d["recalibration_img_s"]))' "$line" "$device" 2>/dev/null) \
          || row="| $device | $pool | unreadable output | | | |"
      fi
      log "$row"
    done
  done
fi

if wanted parallel; then
  log ""
  log "Data-parallel weight and indicator steps against the device count (images/s;"
  log "cifar10-mb27, global batch 64; \`benches/data_parallel.rs\`, docs/scaling.md):"
  for device in "${backends[@]}"; do
    lists=(--devices cpu --devices "$device")
    list=""
    for ((i = 0; i < ${gpus:-0}; i++)); do
      list="${list:+$list,}$device:$i"
      [ "$i" -gt 0 ] && lists+=(--devices "$list")
    done
    # Two replicas on one GPU: what threads add on one device.
    lists+=(--devices "$device,$device")
    log ""
    log '```'
    run "$work/$device/data_parallel" 64 5 "${lists[@]}"
    status=$?
    # The rows it printed (all of them when it finished).
    tail -n +2 "$full.part" | grep -v '^error: XDG' | while IFS= read -r l; do log "$l"; done
    [ "$status" -eq 0 ] || log "$device: data_parallel $(why "$status")"
    log '```'
  done
fi

if wanted latency; then
  log ""
  log "Latency tables (docs/latency.md): predicted (sum of the table) against measured whole"
  log "networks, 30 random architectures of cifar10-mb27, batch 32, the overhead fitted on seed 0"
  log "and checked on seed 1:"
  log ""
  for device in cpu "${backends[@]}"; do
    bin=$(bin_for "$device")
    table="$work/latency-$device.json"
    if run "$bin/nse" latency build --space cifar10-mb27 --device "$device" --batch 32 --quiet --out "$table" \
      && run "$bin/nse" latency validate --space cifar10-mb27 --table "$table" --device "$device" --batch 32 \
        --archs 30 --seed 0 --latency-stem always --fit --quiet \
      && fit=$(grep '^latency validation' "$full.part") \
      && run "$bin/nse" latency validate --space cifar10-mb27 --table "$table" --device "$device" --batch 32 \
        --archs 30 --seed 1 --latency-stem always --quiet \
      && held=$(grep '^latency validation' "$full.part"); then
      log "- $device, seed 0: ${fit#latency validation: }"
      log "- $device, seed 1 (held out, with the fitted overhead): ${held#latency validation: }"
    else
      log "- $device: latency build or validation FAILED (see gpu-run.log)"
    fi
  done
fi

if wanted search; then
  log ""
  log "A short demo search per device (one round of 100 weight steps, 20 + 2 candidates scored):"
  log "\`nse search --preset demo --device D --quiet --set max_rounds=1 --set epochs_per_round=1"
  log "--set epoch_batches=100 --set evaluation.n=20 --set evaluation.n_extra=2\`"
  log ""
  log "| device | training | evaluation | whole run |"
  log "|---|---:|---:|---:|"
  for device in cpu "${backends[@]}"; do
    bin=$(bin_for "$device")
    dir="$work/search-$device"
    start=$(date +%s.%N)
    if run "$bin/nse" search --preset demo --device "$device" --quiet --out "$dir" \
      --set max_rounds=1 --set epochs_per_round=1 --set epoch_batches=100 \
      --set evaluation.n=20 --set evaluation.n_extra=2; then
      whole=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
      row=$(python3 - "$dir/log.jsonl" "$device" "$whole" <<'PY'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
train = [e["elapsed_s"] for e in events if e["event"] == "train"]
scored = [e["elapsed_s"] for e in events if e["event"] == "evaluated"]
print("| %s | %.1f s | %.1f s | %s s |" % (sys.argv[2], train[-1], scored[-1] - train[-1], sys.argv[3]))
PY
      ) || row="| $device | unreadable log | | |"
    else
      row="| $device | $(why $?) | | |"
    fi
    log "$row"
  done
fi
rm -f "$full.part"
echo "report: $report" >&2
