#!/usr/bin/env bash
# Runs ucx_smoke on 2 ranks (spinning progress) and 8 ranks (on a 2-core machine: blocking
# progress); the 8-rank run must finish in seconds.
#   ucx_smoke_test.sh <ucx_smoke binary>
set -euo pipefail
bin="$1"
export TPBENCH_TIMEOUT_S=${TPBENCH_TIMEOUT_S:-60}
root=()
[[ $(id -u) == 0 ]] && root=(--allow-run-as-root)
for np in 2 8; do
  start=$(date +%s.%N)
  mpirun "${root[@]}" --oversubscribe --bind-to none -np "$np" "$bin"
  end=$(date +%s.%N)
  echo "ucx_smoke_test: $np ranks took $(echo "$end - $start" | bc) s"
done
