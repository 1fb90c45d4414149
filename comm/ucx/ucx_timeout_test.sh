#!/usr/bin/env bash
# Rank 1 never joins an op; with a 2 s deadline the other ranks must exit 4 with a message
# naming the op and rank 1.
#   ucx_timeout_test.sh <comm:smoke binary>
set -uo pipefail
bin="$1"
export TPBENCH_TIMEOUT_S=2
root=()
[[ $(id -u) == 0 ]] && root=(--allow-run-as-root)
out="${TEST_TMPDIR:-/tmp}/ucx_timeout_test.log"
fail=0

check() {  # check <np> <hang op> <expected text>...
  local np="$1" op="$2"
  shift 2
  start=$(date +%s)
  mpirun "${root[@]}" --oversubscribe --bind-to none -np "$np" "$bin" --backend ucx --algo ring --hang "$op" >"$out" 2>&1
  rc=$?
  secs=$(($(date +%s) - start))
  echo "--- np=$np --hang $op: exit $rc after ${secs} s"
  grep 'tpbench: error' "$out" || true
  if [[ $rc != 4 ]]; then
    echo "FAIL: expected exit code 4, got $rc"; cat "$out"; fail=1
  fi
  for want in "$@"; do
    if ! grep -qF -- "$want" "$out"; then
      echo "FAIL: expected the output to contain: $want"; cat "$out"; fail=1
    fi
  done
  if ((secs > 20)); then echo "FAIL: took ${secs} s"; fail=1; fi
}

check 2 barrier "timeout after 2.0 s in barrier" "on group 'world' (2 ranks, this is rank 0)" \
  "no message from rank 1 (world 1)"
check 2 allreduce "timeout after 2.0 s in all_reduce/ring of 65536 x f32 on group 'world'" \
  "no message from rank 1 (world 1)"
# Rank 2 has a 60 s deadline: the launcher ends it, and its SIGTERM handler names the op in
# flight and the peer it waits for.
check 3 recv "timeout after 2.0 s in sendrecv of 1 x i32 (send to -1, recv from 1)" \
  "this is rank 0): no message from rank 1 (world 1)" \
  "rank 2: terminated by the launcher (a peer rank died or timed out) during sendrecv" \
  "this is rank 2); waiting for rank 1 (world 1)"
exit $fail
