#!/usr/bin/env bash
# Makes (once) the virtual environment with PyTorch from PyPI that the PyTorch side-by-side
# checks use (`~/.venvs/nse-ref`, or NSE_REF_VENV): torch, numpy, safetensors, and tensorboard
# (whose reader checks nse's event files). Prints the path of its python. Reused when it
# already has them.
set -euo pipefail
venv="${NSE_REF_VENV:-$HOME/.venvs/nse-ref}"
if ! "$venv/bin/python" -c 'import torch, numpy, safetensors, tensorboard' >/dev/null 2>&1; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q torch numpy safetensors tensorboard >&2
fi
echo "$venv/bin/python"
