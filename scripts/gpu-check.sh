#!/usr/bin/env bash
# GPU check on a machine with both Rust and a GPU: builds the GPU backends that can be built
# (scripts/gpu-pack.sh: `wgpu`, and `cuda` where its build can download its LLVM bundle) into
# a temporary pack and runs it (scripts/gpu-run.sh): the WGPU parity and data-parallel tests
# against the CPU, the supernet and data-parallel benchmarks on the CPU and every GPU
# backend, the latency tables, and a short demo search per device. Prints a Markdown report
# (also $OUT/gpu-check.md when OUT is set) to paste into docs/performance.md.
#
# On a lent GPU machine without Rust or network, run the halves apart:
#   here:  scripts/gpu-pack.sh                         (→ .gpu-pack, under 64 MiB with the tree)
#   there: bash .gpu-pack/gpu-run.sh .gpu-pack         (the device tool: carry .gpu-pack)
#
# Usage: scripts/gpu-check.sh            (from anywhere; uses CARGO_TARGET_DIR if set)
set -euo pipefail
cd "$(dirname "$0")/.."
pack=$(mktemp -d)
trap 'rm -rf "$pack"' EXIT
NSE_GPU_FEATURES="${NSE_GPU_FEATURES:-wgpu cuda}" NSE_GPU_PACK_ALL=1 NSE_GPU_PACK_LIMIT_MIB=0 \
  scripts/gpu-pack.sh "$pack"
bash "$pack/gpu-run.sh" "$pack"
