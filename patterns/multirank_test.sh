#!/usr/bin/env bash
# Runs patterns:multirank_test under mpirun (through its own --np self-launch) for one backend.
#   multirank_test.sh <binary> <np> <backend>
set -euo pipefail
export TPBENCH_TIMEOUT_S=${TPBENCH_TIMEOUT_S:-120}
exec "$1" --np "$2" --backend "$3"
