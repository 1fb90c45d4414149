#!/usr/bin/env bash
# Runs comm/mpi:mpi_smoke under mpirun.
#   mpi_smoke_test.sh <binary> <np>          every op, dtype and reduction: must exit 0
#   mpi_smoke_test.sh <binary> <np> --hang   rank 1 skips an all_reduce: the others must exit 4
#                                            within the 2 s deadline, naming the op
set -uo pipefail
bin=$1
np=$2
mode=${3:-}
flags=(--oversubscribe --bind-to none -np "$np")
if [[ $(id -u) == 0 ]]; then flags=(--allow-run-as-root "${flags[@]}"); fi
export TMPDIR=${TEST_TMPDIR:-${TMPDIR:-/tmp}}

if [[ -z $mode ]]; then
  export TPBENCH_TIMEOUT_S=60
  start=$(date +%s%N)
  mpirun "${flags[@]}" "$bin"
  rc=$?
  echo "mpi_smoke: np=$np exit $rc in $((($(date +%s%N) - start) / 1000000)) ms"
  exit $rc
fi

# --hang
export TPBENCH_TIMEOUT_S=2
log=$TMPDIR/hang.log
start=$(date +%s)
mpirun "${flags[@]}" "$bin" --hang >"$log" 2>&1
rc=$?
elapsed=$(($(date +%s) - start))
cat "$log"
fail() { echo "FAIL: $*"; exit 1; }
[[ $rc == 4 ]] || fail "expected exit code 4 (timeout), got $rc"
grep -q "tpbench: error: rank 0: timeout after 2 s in all_reduce/auto of 4 x f32 on group 'world'" "$log" ||
  fail "no timeout message from rank 0 naming the all_reduce"
grep -q "the MPI library does not report which peers are missing; the group holds world ranks 0, 1" "$log" ||
  fail "timeout message does not list the group's world ranks"
((elapsed < 30)) || fail "took ${elapsed} s; the deadline is 2 s"
echo "PASS: exit 4 after ${elapsed} s"
