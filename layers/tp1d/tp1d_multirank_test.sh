#!/usr/bin/env bash
# Runs layers/tp1d:tp1d_multirank_test on <np> ranks through its own --np self-launch.
#   tp1d_multirank_test.sh <binary> <np> [backend (ucx)]
set -euo pipefail
export TPBENCH_TIMEOUT_S=${TPBENCH_TIMEOUT_S:-120}
exec "$1" --np "$2" --backend "${3:-ucx}"
