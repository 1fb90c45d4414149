#!/usr/bin/env bash
# Rank 1 skips an all_reduce: with a 2 s deadline the others must exit 4 within seconds, the
# op watch naming the op and the group (the MPI library cannot say which peers are missing).
#   mpi_timeout_test.sh <comm:smoke binary>
set -uo pipefail
bin=$1
flags=(--oversubscribe --bind-to none -np 3)
if [[ $(id -u) == 0 ]]; then flags=(--allow-run-as-root "${flags[@]}"); fi
export TMPDIR=${TEST_TMPDIR:-${TMPDIR:-/tmp}}
export TPBENCH_TIMEOUT_S=2
log=$TMPDIR/hang.log
start=$(date +%s)
mpirun "${flags[@]}" "$bin" --backend mpi --hang allreduce >"$log" 2>&1
rc=$?
elapsed=$(($(date +%s) - start))
cat "$log"
fail() { echo "FAIL: $*"; exit 1; }
[[ $rc == 4 ]] || fail "expected exit code 4 (timeout), got $rc"
grep -q "tpbench: error: rank 0: timeout after 2 s in all_reduce/auto of 65536 x f32 on group 'world'" "$log" ||
  fail "no timeout message from rank 0 naming the all_reduce"
grep -q "the MPI library does not report which peers are missing; the group holds world ranks 0, 1, 2" "$log" ||
  fail "timeout message does not list the group's world ranks"
((elapsed < 30)) || fail "took ${elapsed} s; the deadline is 2 s"
echo "PASS: exit 4 after ${elapsed} s"
