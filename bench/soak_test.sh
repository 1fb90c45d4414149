#!/usr/bin/env bash
# End-to-end tests of //bench:soak: short seeded soaks on 2, 3, 4 and 8 ranks over both backends
# (every result exact), the same seed running the same ops, and a wrong result injected into
# one op caught with its seed and op index (exit 7).
#   soak_test.sh <soak>
set -uo pipefail
bin="$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
fail=0
log="$tmp/log"
source "$(dirname "$0")/test_lib.sh"

expect 2 "--backend: unknown backend 'gloo'" -- --backend gloo
for np in 2 3 4; do
  expect 0 "soak: 0 wrong elements, 0 hangs" -- --np $np --backend ucx,mpi --seed $np --ops 300 \
    --max-bytes 256K
done

expect 0 "soak: 0 wrong elements, 0 hangs" -- --np 8 --backend ucx,mpi --seed 8 --ops 120 \
  --max-bytes 64K

# The same seed draws the same ops: rank 0's per-collective counts are identical.
expect 0 "soak: 0 wrong elements" -- --np 3 --seed 11 --ops 200 --max-bytes 64K
first=$(grep -o "rank 0 ran .*" "$log")
expect 0 "soak: 0 wrong elements" -- --np 3 --seed 11 --ops 200 --max-bytes 64K
[[ $(grep -o "rank 0 ran .*" "$log") == "$first" ]] ||
  { echo "FAIL: seed 11 ran different ops twice: $first"; fail=1; }

# A wrong result is caught, naming the seed and the op index.
expect 7 "seed 5 op 40:" -- --np 3 --seed 5 --ops 100 --max-bytes 64K --debug-corrupt-op 40
grep -q "tpbench: error: soak seed 5:" "$log" || { echo "FAIL: no error summary"; fail=1; }
exit $fail
