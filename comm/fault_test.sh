#!/usr/bin/env bash
# A rank that dies or hangs must make the others fail with exit 4 and a message naming the
# op, the group and the missing peer, well within the deadline; nothing may hang.
#   fault_test.sh <fault_test binary>
set -uo pipefail
bin="$1"
log="${TEST_TMPDIR:-/tmp}/fault_test.log"
fail=0

run() {  # run <max seconds> <expected exit> <args...> -- <expected text>...
  local max="$1" want_rc="$2"
  shift 2
  local args=()
  while [[ "$1" != "--" ]]; do args+=("$1"); shift; done
  shift
  local start=$(date +%s)
  timeout 120 "$bin" "${args[@]}" >"$log" 2>&1
  local rc=$? secs=$(($(date +%s) - start))
  echo "--- ${args[*]}: exit $rc after ${secs} s"
  grep -E 'tpbench: error|fault_test' "$log" || true
  if [[ "$want_rc" == "nonzero" ]]; then
    [[ $rc != 0 && $rc != 124 ]] || { echo "FAIL: expected a failing exit, got $rc"; fail=1; }
  elif [[ $rc != "$want_rc" ]]; then
    echo "FAIL: expected exit $want_rc, got $rc"; cat "$log"; fail=1
  fi
  ((secs <= max)) || { echo "FAIL: took ${secs} s (limit ${max} s)"; fail=1; }
  for text in "$@"; do
    grep -qF -- "$text" "$log" || { echo "FAIL: missing text: $text"; cat "$log"; fail=1; }
  done
  grep -q "finished an all_reduce without rank 1" "$log" && { echo "FAIL: a rank finished"; fail=1; }
}

# A killed rank: the launcher tears the job down (mpirun exits with rank 1's signal); the
# survivor reports the op it was in and the peer it was waiting for, and exits 4 itself.
run 25 nonzero --np 2 --backend ucx --mode kill -T 60 -- \
  "rank 0: terminated by the launcher (a peer rank died or timed out) during all_reduce/ring" \
  "waiting for rank 1 (world 1)"
run 25 nonzero --np 3 --backend mpi --mode kill -T 60 -- \
  "rank 0: terminated by the launcher (a peer rank died or timed out) during all_reduce/auto"
# A hung rank: the others hit the 3 s deadline and exit 4 naming the op and the peer.
run 25 4 --np 2 --backend ucx --mode hang -T 3 -- \
  "timeout after 3.0 s in all_reduce/ring" "no message from rank 1 (world 1)"
run 25 4 --np 3 --backend mpi --mode hang -T 3 -- \
  "timeout after 3 s in all_reduce/auto"
exit $fail
