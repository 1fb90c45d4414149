#!/usr/bin/env bash
# Runs layers:scheme_multirank_test on <np> ranks through its own --np self-launch.
#   scheme_multirank_test.sh <binary> <np> <flags...>
set -euo pipefail
export TPBENCH_TIMEOUT_S=${TPBENCH_TIMEOUT_S:-120}
bin="$1" np="$2"
shift 2
exec "$bin" --np "$np" "$@"
