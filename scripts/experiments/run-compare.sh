#!/usr/bin/env bash
# §11: paired Δτ of each variant against the base supernets of the same training seeds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
a="$EXP/c10-rank-base-a"; b="$EXP/c10-rank-base-b"
cmp() { # NAME ARGS...
  local name="$1"; shift
  stamp "compare $name"
  "$NSE" experiment compare "$@" --out "$EXP/c10-compare-$name.json"
}
cmp ensemble --base "$a#0" --base "$a#1" --base "$a#2" --base "$a#3" \
  --base "$b#0" --base "$b#1" --base "$b#2" --base "$b#3" --variant "$a" --variant "$b"
for v in shadow ucount fair; do
  cmp "$v" --base "$a#0" --base "$a#1" --variant "$EXP/c10-rank-$v#0" --variant "$EXP/c10-rank-$v#1"
done
