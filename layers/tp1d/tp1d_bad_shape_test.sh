#!/usr/bin/env bash
# Shapes that do not split over t ranks: exit 2 and a message naming the dimension and t.
#   tp1d_bad_shape_test.sh <tp1d_multirank_test binary>
set -uo pipefail
bin="$1"
log="${TEST_TMPDIR:-/tmp}/tp1d_bad_shape.log"
export TPBENCH_TIMEOUT_S=${TPBENCH_TIMEOUT_S:-60}
fail=0

expect() {  # expect <expected text> <args...>
  local text="$1"
  shift
  timeout 120 "$bin" "$@" >"$log" 2>&1
  local rc=$?
  echo "--- $*: exit $rc"
  cat "$log"
  [[ $rc == 2 ]] || { echo "FAIL: expected exit 2, got $rc"; fail=1; }
  grep -qF -- "$text" "$log" || { echo "FAIL: missing text: $text"; fail=1; }
}

expect "heads (6) is not divisible by the tensor-parallel size t (4)" \
  --np 4 --backend ucx --hidden 24 --heads 6
expect "hidden (8) is not divisible by the tensor-parallel size t (3)" \
  --np 3 --backend ucx --hidden 8 --heads 2
expect "heads (3) is not divisible by the tensor-parallel size t (2)" \
  --np 2 --backend ucx --hidden 6 --heads 3
expect "tokens (batch*seq) (6) is not divisible by the tensor-parallel size t (4)" \
  --np 4 --backend ucx --batch 2 --seq 3
exit $fail
