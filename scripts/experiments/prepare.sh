#!/usr/bin/env bash
# Extracts CIFAR-10, writes the hold-back lists and freezes the nse binary (built by
# `cargo build -p nse --bin nse`) for the §11–§12 experiments.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
target="${CARGO_TARGET_DIR:-$here/../../target}"
mkdir -p "$EXP/bin" "$DATA"
[ -d "$DATA/train" ] || tar xzf "$here/../../../shared/data/cifar10/cifar10_jpg_q75.tar.gz" -C "$DATA"
[ -x "$NSE" ] || cp "$target/debug/nse" "$NSE"
[ -f "$EXP/c10-lists/train.txt" ] || "$NSE" data hold-back --root "$DATA" --count 10000 --seed 0 --out "$EXP/c10-lists"
