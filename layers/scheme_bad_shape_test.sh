#!/usr/bin/env bash
# Meshes and shapes a scheme cannot split: exit 2 and a message naming the dimension (or the
# mesh) and P.
#   scheme_bad_shape_test.sh <scheme_multirank_test binary>
set -uo pipefail
bin="$1"
log="${TEST_TMPDIR:-/tmp}/scheme_bad_shape.log"
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

expect "2d needs P = q^2 ranks (mesh {row: q, col: q}); P = 3 is not a square" \
  --np 3 --scheme 2d
expect "batch (3) is not divisible by q (2) of 2d (P = 4)" --np 4 --scheme 2d --batch 3
expect "heads (1) is not divisible by q (2) of 2d (P = 4)" --np 4 --scheme 2d --heads 1
expect "hidden (6) is not divisible by q^2 (4) of 2d (P = 4)" \
  --np 4 --scheme 2d --hidden 6 --heads 2
expect "2.5d needs P = d*q^2 ranks (mesh {dep: d, row: q, col: q}); P = 6 with depth d = 2 is not d times a square" \
  --np 6 --scheme 2.5d --depth 2
expect "batch (2) is not divisible by d*q (4) of 2.5d (P = 8)" --np 8 --scheme 2.5d --depth 2
expect "3d needs P = q^3 ranks (mesh {k: q, j: q, i: q}); P = 4 is not a cube" --np 4 --scheme 3d
expect "batch (2) is not divisible by q^2 (4) of 3d (P = 8)" --np 8 --scheme 3d --hidden 16
expect "hidden (6) is not divisible by q^2 (4) of 3d (P = 8)" --np 8 --scheme 3d --batch 4 \
  --hidden 6
exit $fail
