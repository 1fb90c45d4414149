#!/usr/bin/env bash
# Runs layers/tp1d:tp1d_multirank_test on <np> ranks (ucx) through its own --np self-launch.
#   tp1d_multirank_test.sh <binary> <np>
set -euo pipefail
export TPBENCH_TIMEOUT_S=${TPBENCH_TIMEOUT_S:-120}
exec "$1" --np "$2" --backend ucx
