#!/usr/bin/env bash
# Keeps the experiments' records in the repository, so that they resume on another machine
# (the experiments' folder does not outlive a machine): `records.sh save` copies every JSON
# file under 1 MB (configs, candidates, each retraining's report.json and network.json,
# reports, fronts; no weights, nothing under a checkpoint folder) to docs/experiments/records/, and
# `records.sh restore` copies them back. A retraining whose report.json says finished is
# not run again; one without it starts over.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
records="$here/../../docs/experiments/records"
copy() { # FROM TO
  (cd "$1" && find . -name '*.json' -size -1024k -not -path '*/checkpoint*' -print0) |
    while IFS= read -r -d '' f; do mkdir -p "$2/$(dirname "$f")"; cp -p "$1/$f" "$2/$f"; done
}
case "${1:-}" in
  save)
    for run in "$EXP"/c10-* "$EXP"/ka-*; do
      [ -d "$run" ] || continue
      case "$(basename "$run")" in c10-lists) continue ;; esac
      # A supernet's weights are not kept: an experiment that trains supernets is kept
      # only once its report exists, a search run only once its front exists (anything
      # earlier starts over on the next machine rather than resuming half-restored).
      reported=0
      for report in ranking vs-random vs-fixed; do
        [ -f "$run/$report.json" ] && reported=1
      done
      if [ -d "$run/search" ] && [ "$reported" = 0 ]; then continue; fi
      if [ -f "$run/config.json" ] && [ ! -f "$run/front.json" ]; then continue; fi
      copy "$run" "$records/$(basename "$run")"
    done
    mkdir -p "$records"
    # The paired comparisons' reports and the logs, beside the folders.
    for file in "$EXP"/*.json "$EXP"/*.log; do [ -f "$file" ] && cp -p "$file" "$records/"; done ;;
  restore)
    [ -d "$records" ] || exit 0
    for run in "$records"/*/; do copy "$run" "$EXP/$(basename "$run")"; done
    for file in "$records"/*.json; do [ -f "$file" ] && cp -p "$file" "$EXP/"; done ;;
  *) echo "usage: $0 save|restore" >&2; exit 2 ;;
esac
