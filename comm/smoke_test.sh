#!/usr/bin/env bash
# Runs comm:smoke for one backend on <np> ranks under mpirun; must exit 0 (8 ranks on a
# 2-core machine: blocking progress, and still done in seconds).
#   smoke_test.sh <smoke binary> <backend> <np>
set -uo pipefail
bin=$1
backend=$2
np=$3
flags=(--oversubscribe --bind-to none -np "$np")
if [[ $(id -u) == 0 ]]; then flags=(--allow-run-as-root "${flags[@]}"); fi
export TMPDIR=${TEST_TMPDIR:-${TMPDIR:-/tmp}}
export TPBENCH_TIMEOUT_S=${TPBENCH_TIMEOUT_S:-60}
start=$(date +%s%N)
mpirun "${flags[@]}" "$bin" --backend "$backend"
rc=$?
echo "smoke: $backend np=$np exit $rc in $((($(date +%s%N) - start) / 1000000)) ms"
exit $rc
