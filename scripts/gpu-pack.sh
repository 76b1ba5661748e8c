#!/usr/bin/env bash
# Builds here what the GPU check runs on a GPU machine that has no Rust toolchain and no
# network (a lent machine: ../shared/design/gpu-runs.md): per GPU feature (`wgpu` by default;
# NSE_GPU_FEATURES="wgpu cuda" adds CUDA where its build can download its LLVM bundle), the
# `nse` binary, the `reference` and `data_parallel` benchmarks and, for `wgpu`, the
# `wgpu_parity` test (and `wgpu_data_parallel` with NSE_GPU_PACK_ALL=1: each binary is about
# 80 MB stripped, 11-17 MB compressed, and what a device run carries must stay under 64 MiB
# with the working tree); stripped and xz-compressed into
# PACK/bin-FEATURE/, beside `scripts/gpu-run.sh`, which runs them there and writes the table
# for docs/performance.md. The Vulkan loader's Debian packages go along (in PACK/gl/), for a
# machine without `libvulkan`.
#
# Usage: scripts/gpu-pack.sh [PACK]      (default PACK: .gpu-pack in the repository root,
#                                         added to .git/info/exclude so it can be carried)
# It fails when the pack and the tracked tree exceed NSE_GPU_PACK_LIMIT_MIB (default 64,
# what the device tool carries; 0: no limit).
# Then, on the GPU machine, from the repository root: bash PACK/gpu-run.sh PACK
# (with the device tool: carry PACK, run `bash .gpu-pack/gpu-run.sh .gpu-pack`).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/nse-target}"
pack="${1:-.gpu-pack}"
case "$pack" in
  /* | ../*) ;;
  *) grep -qxF "/${pack%/}/" .git/info/exclude 2>/dev/null || echo "/${pack%/}/" >>.git/info/exclude ;;
esac
rm -rf "$pack"
mkdir -p "$pack"

# The executables cargo builds, as "name path" lines.
executables() {
  cargo "$@" --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["target"]["name"], m["executable"])
'
}

test_names=(wgpu_parity)
[ "${NSE_GPU_PACK_ALL:-0}" = 1 ] && test_names+=(wgpu_data_parallel)
tests=()
for name in "${test_names[@]}"; do tests+=(--test "$name"); done

for feature in ${NSE_GPU_FEATURES:-wgpu}; do
  bin="$pack/bin-$feature"
  mkdir -p "$bin"
  echo "building (dev profile, feature $feature) ..." >&2
  names=(nse reference data_parallel)
  if ! {
    executables build --profile dev -p nse --features "$feature" --bin nse
    executables bench --no-run --profile dev -p nse --features "$feature" --bench reference --bench data_parallel
    if [ "$feature" = wgpu ]; then
      executables test --no-run --profile dev -p nse --features wgpu "${tests[@]}"
    fi
  } >"$bin/executables.txt"; then
    echo "gpu-pack: the $feature build failed; $feature is not packed" >&2
    rm -rf "$bin"
    continue
  fi
  [ "$feature" = wgpu ] && names+=("${test_names[@]}")
  while read -r name exe; do
    cp "$exe" "$bin/$name"
    strip "$bin/$name"
  done <"$bin/executables.txt"
  rm "$bin/executables.txt"
  for name in "${names[@]}"; do
    [ -f "$bin/$name" ] || { echo "gpu-pack: $name ($feature) was not built" >&2; exit 1; }
  done
  xz -T0 -6 "$bin"/*
done
ls -d "$pack"/bin-* >/dev/null 2>&1 || { echo "gpu-pack: nothing was built" >&2; exit 1; }
cp scripts/gpu-run.sh "$pack/gpu-run.sh"
git rev-parse --short HEAD >"$pack/commit"
if ! git diff --quiet HEAD 2>/dev/null; then echo "(with uncommitted changes)" >>"$pack/commit"; fi

# The Vulkan loader and the GL dispatch libraries, for a machine without them.
mkdir -p "$pack/gl"
lists=$(mktemp -d)
apt_amd64=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
mkdir -p "$lists/partial"
if apt-get "${apt_amd64[@]}" update -qq >/dev/null 2>&1 \
  && (cd "$pack/gl" && apt-get "${apt_amd64[@]}" download libvulkan1 libegl1 libglvnd0 \
    libopengl0 libgl1 libglx0 libgles2 >/dev/null 2>&1); then
  :
else
  echo "gpu-pack: could not download the Vulkan loader packages; gpu-run.sh will use the machine's" >&2
fi
rm -rf "$lists"

# What a device run carries: the pack and the tracked working tree, under 64 MiB together.
pack_bytes=$(du -sb "$pack" | cut -f1)
tree_bytes=$(git ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
total=$((pack_bytes + tree_bytes))
awk -v pack="$pack" -v p="$pack_bytes" -v t="$total" 'BEGIN {
  printf "gpu-pack: %s: %.1f MiB, with the tracked tree %.1f MiB (a device run carries at most 64 MiB)\n",
    pack, p / 1048576, t / 1048576 }' >&2
limit_mib=${NSE_GPU_PACK_LIMIT_MIB:-64}
if [ "$limit_mib" -gt 0 ] && [ "$total" -gt $((limit_mib * 1048576)) ]; then
  echo "gpu-pack: too large to carry to a device machine; pack fewer binaries" >&2
  exit 1
fi
