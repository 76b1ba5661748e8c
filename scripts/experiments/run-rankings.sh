#!/usr/bin/env bash
# §11: the supernets' rankings of the ground truth's architectures (no retraining: the
# ground truth's accuracies are reused). Resumable: run again.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh"
rank c10-rank-base-a --set training_seed=1 --ensemble 4
rank c10-rank-base-b --set training_seed=5 --ensemble 4
rank c10-rank-shadow --set training_seed=1 --ensemble 2 --set shadow_batch_norm=true
rank c10-rank-ucount --set training_seed=1 --ensemble 2 --set weight_sampling=uniform_count
rank c10-rank-fair --set training_seed=1 --ensemble 2 --set weight_sampling=fair
