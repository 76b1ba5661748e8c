#!/usr/bin/env bash
# Packs the workspace as crates.io would (`cargo package --workspace`), installs the `nse`
# binary from those packages alone (outside the checkout, the workspace's crates replaced by
# their unpacked packages: what `cargo install nse` would build once they are published), and
# runs the main job with it from an empty folder, so that nothing of the checkout is used.
#
#   scripts/install-from-packages.sh [WORK_DIR] [-- extra `nse search` arguments]
#
# WORK_DIR (default: a new temporary folder) receives the unpacked crates, the installed
# binary (WORK_DIR/root/bin/nse) and the run (WORK_DIR/run/runs/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/nse-target}"

work="${1:-$(mktemp -d)}"
shift || true
[ "${1:-}" = "--" ] && shift
# A fixed WORK_DIR lets the next call reuse the build; its packages and run are made afresh.
rm -rf "$work/crates" "$work/run"
mkdir -p "$work/crates" "$work/run"
work="$(cd "$work" && pwd)"

# Every crate of the workspace, packed as it would be published (only what `include` and the
# manifests let through). `--allow-dirty`: CI packs the commit it checked out, a developer
# the working tree.
cargo package --workspace --no-verify --allow-dirty --quiet
patches=()
for crate in "$CARGO_TARGET_DIR"/package/*-0.1.0.crate; do
  # `--touch`: a package's files carry cargo's fixed archive mtime, older than any build, so
  # with their own mtimes a crate changed without a manifest change would look unchanged to
  # cargo, and the install would link the previous call's build of it.
  tar --touch -xzf "$crate" -C "$work/crates"
  name="$(basename "$crate" -0.1.0.crate)"
  patches+=(--config "patch.crates-io.$name.path=\"$work/crates/$name-0.1.0\"")
done

# Built from the unpacked packages only; the profile is the workspace's (dependencies
# optimised), which a published crate does not carry, so it is given here, as a user would
# in their own configuration.
(cd "$work" && cargo install --debug --quiet --path "crates/nse-0.1.0" --root "$work/root" \
  "${patches[@]}" \
  --config 'profile.dev.opt-level=1' --config 'profile.dev.package."*".opt-level=3')

# The main job, from an empty folder outside the checkout.
cd "$work/run"
"$work/root/bin/nse" search --preset demo --retrain --out runs/demo "$@"
test -s runs/demo/front.json
test -s runs/demo/retrain/model.safetensors
echo "installed from packages and ran the main job: $work/run/runs/demo"
