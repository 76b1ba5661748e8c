#!/usr/bin/env bash
# GPU check: on a machine with a GPU, build the GPU backends that can be built, run the WGPU
# parity suite against the CPU backend, and run the supernet benchmarks on each GPU backend
# and on the CPU, printing a short table (also written to $OUT/gpu-check.md when OUT is set).
#
# Usage: scripts/gpu-check.sh            (from anywhere; uses CARGO_TARGET_DIR if set)
#
# - wgpu: always attempted (Vulkan on NVIDIA/AMD/Intel, Metal on macOS).
# - cuda: attempted too; its first build downloads an LLVM bundle, so it needs network
#   access. Without it the build fails and the CUDA rows say so; the rest still runs.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-}
report=$(mktemp)
log() { echo "$*" | tee -a "$report"; }
steps=${NSE_BENCH_STEPS:-10}

gpu=$( (nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi") | head -n 1)
log "# GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
log ""
log "- GPU: $gpu"
log "- CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
log "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
log ""

backends=()
if cargo build --profile dev -p nse --features wgpu --benches --tests >/tmp/gpu-check-wgpu.log 2>&1; then
  backends+=(wgpu)
else
  log "- wgpu build FAILED (see /tmp/gpu-check-wgpu.log)"
fi
if cargo build --profile dev -p nse --features cuda --benches >/tmp/gpu-check-cuda.log 2>&1; then
  backends+=(cuda)
else
  log "- cuda build failed (it downloads an LLVM bundle on first build; no network?): see /tmp/gpu-check-cuda.log"
fi

if [[ " ${backends[*]} " == *" wgpu "* ]]; then
  if cargo test --profile dev -p nse --features wgpu --test wgpu_parity >/tmp/gpu-check-parity.log 2>&1; then
    log "- WGPU parity suite against the CPU: passed ($(grep -c '^test .* ok$' /tmp/gpu-check-parity.log) tests)"
  else
    log "- WGPU parity suite against the CPU: FAILED (see /tmp/gpu-check-parity.log)"
  fi
fi
log ""
log "Supernet throughput (images/s; reference space, mb27/mb72, batch 64, 32x32; \`benches/reference.rs\`):"
log ""
log "| device | pool | weight step | indicator step | evaluation | recalibration |"
log "|---|---|---:|---:|---:|---:|"
for device in cpu "${backends[@]}"; do
  feature=()
  [ "$device" != cpu ] && feature=(--features "$device")
  for pool in mb27 mb72; do
    line=$(cargo bench --profile dev -p nse "${feature[@]}" --bench reference -- \
      --device "$device" --pool "$pool" --steps "$steps" 2>/dev/null | tail -n 1)
    row=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("| %s | %s | %.1f | %.1f | %.1f | %.1f |" % (sys.argv[2], d["pool"], d["weight_step_img_s"], d["arch_step_img_s"], d["eval_img_s"], d["recalibration_img_s"]))' "$line" "$device" 2>/dev/null) \
      || row="| $device | $pool | failed | | | |"
    log "$row"
  done
done
log ""
log "Data-parallel weight and indicator steps against the device count (images/s; cifar10-mb27, global batch 64;"
log "\`benches/data_parallel.rs\`, docs/scaling.md):"
log ""
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
for device in "${backends[@]}"; do
  lists=()
  list=""
  for ((i = 0; i < ${gpus:-0}; i++)); do
    list="${list:+$list,}$device:$i"
    lists+=(--devices "$list")
  done
  # Two replicas on the first GPU too: what threads add on one device.
  lists+=(--devices "$device:0,$device:0")
  log '```'
  cargo bench --profile dev -p nse --features "$device" --bench data_parallel -- 64 5 "${lists[@]}" \
    2>/dev/null | tail -n +2 | while IFS= read -r l; do log "$l"; done
  log '```'
done
log ""
log "Latency tables (docs/latency.md): predicted (sum of the table) against measured whole networks,"
log "30 random architectures of cifar10-mb27, batch 32, the overhead fitted on seed 0 and checked on seed 1:"
log ""
for device in cpu "${backends[@]}"; do
  feature=()
  [ "$device" != cpu ] && feature=(--features "$device")
  nse=(cargo run --profile dev -q -p nse "${feature[@]}" --bin nse --)
  table=$(mktemp --suffix .json) && rm -f "$table"
  if "${nse[@]}" latency build --space cifar10-mb27 --device "$device" --batch 32 --quiet --out "$table" >/dev/null 2>&1 \
    && fit=$("${nse[@]}" latency validate --space cifar10-mb27 --table "$table" --device "$device" --batch 32 \
      --archs 30 --seed 0 --latency-stem always --fit --quiet 2>/dev/null | grep '^latency validation') \
    && held=$("${nse[@]}" latency validate --space cifar10-mb27 --table "$table" --device "$device" --batch 32 \
      --archs 30 --seed 1 --latency-stem always --quiet 2>/dev/null | grep '^latency validation'); then
    log "- $device, seed 0: ${fit#latency validation: }"
    log "- $device, seed 1 (held out, with the fitted overhead): ${held#latency validation: }"
  else
    log "- $device: latency build or validation FAILED"
  fi
done
if [ -n "$out" ]; then mkdir -p "$out" && cp "$report" "$out/gpu-check.md"; fi
