#!/usr/bin/env bash
# The §11–§12 experiments one after the other, each resumable; records saved after each.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/prepare.sh"
"$here/records.sh" restore
for step in run-gt run-rankings run-compare run-ka run-followup; do
  "$here/$step.sh"
  "$here/records.sh" save
done
