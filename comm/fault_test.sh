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

# A rank lost in the middle of a stream of ops, 4 ranks: SIGKILL during 64 MiB all_reduces
# (rendezvous; CMA in fast mode) and during 8-float ones (eager), and an exit(1) outside
# tpbench's error path. Whatever the mode and backend: exit 4, the --np launcher's one line
# naming the dead rank, its host and how it died, and no library backtrace. In detect mode
# the ucx survivors report the lost peer themselves first.
lost() {  # lost <backend> <fault mode> <mode> <how it died>
  local extra=()
  [[ "$1/$2" == ucx/detect ]] && extra=("lost peer: world rank 1 (host ")
  run 20 4 --np 4 --backend "$1" --mode "$3" --fault-mode "$2" -T 60 -- \
    "tpbench: error: lost rank 1 of 4 (host " "$4" "the others were in all_reduce/" \
    "[fault mode $2]" "${extra[@]}"
  grep -qi backtrace "$log" && { echo "FAIL: a backtrace in the output"; cat "$log"; fail=1; }
}
for backend in ucx mpi; do
  for fm in fast detect; do
    # ucx fast: a survivor may abort inside CMA first, and mpirun then names its signal.
    lost "$backend" "$fm" kill-large "$([[ $backend/$fm == ucx/fast ]] || echo 'killed by signal 9')"
    lost "$backend" "$fm" kill-small "killed by signal 9"
  done
  lost "$backend" fast exit "exited with code 1"
done
lost ucx detect exit "exited with code 1"
exit $fail
