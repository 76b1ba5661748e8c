#!/usr/bin/env bash
# Extracts CIFAR-10 (as the `archive` data source and the tests do: a marker names the
# archive, so every user of the folder agrees on it), writes the hold-back lists and freezes
# the nse binary (built by `cargo build -p nse --bin nse`) for the §11–§12 experiments.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
target="${CARGO_TARGET_DIR:-$here/../../target}"
built="$target/debug/nse"
mkdir -p "$EXP/bin"
"$built" data extract --archive "$here/../../../shared/data/cifar10/cifar10_jpg_q75.tar.gz" --out "$DATA"
[ -x "$NSE" ] || cp "$built" "$NSE"
[ -x "$NSE_COMPARE" ] || cp "$built" "$NSE_COMPARE"
[ -f "$EXP/c10-lists/train.txt" ] || "$NSE" data hold-back --root "$DATA" --count 10000 --seed 0 --out "$EXP/c10-lists"
