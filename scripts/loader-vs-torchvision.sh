#!/usr/bin/env bash
# The data loader against torchvision, side by side in one run (issue 17): an ImageNet-like
# tree (CIFAR-10 JPEGs upscaled to random 300-500 px sizes), the reference's ImageNet
# pipelines at 224, W workers, images/s. Creates ~/.venvs/nse-ref with torch and
# torchvision from PyPI when missing. Run on an otherwise idle machine.
#
#   scripts/loader-vs-torchvision.sh [TREE] [WORKERS] [TRAIN_PER_CLASS] [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/nse-target}"
tree="${1:-/var/tmp/imagenet-like}"
workers="${2:-$(nproc)}"
per_class="${3:-100}"
epochs="${4:-3}"
venv="${NSE_REF_VENV:-$HOME/.venvs/nse-ref}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import torchvision' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch torchvision numpy
fi
if [ ! -d "$tree/train" ]; then
  cargo run -q -p nse-data --example make_imagenet_like -- \
    --archive ../shared/data/cifar10/cifar10_jpg_q75.tar.gz --out "$tree" \
    --train-per-class "$per_class" --test-per-class 0
fi
cargo build -q -p nse-data --bench loader --profile dev
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
NSE_IMAGENET_LIKE="$tree" NSE_BENCH_WORKERS="$workers" NSE_BENCH_EPOCHS="$epochs" \
  cargo bench -q -p nse-data --bench loader --profile dev
"$venv/bin/python" scripts/loader_torchvision.py "$tree" --workers "$workers" --epochs "$epochs"
