#!/usr/bin/env bash
# End-to-end tests of //bench:collectives: usage errors (exit 2, naming the flag and the valid
# values), a 2-rank run's table and JSON (checked by check_results.py), uneven rank speed,
# an injected wrong result (exit 7), atomic output.
#   collectives_test.sh <collectives> <check_results.py> <testdata dir>
set -uo pipefail
bin="$1" check="/usr/bin/python3 $2" data="$3"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
fail=0
log="$tmp/log"

source "$(dirname "$0")/test_lib.sh"

# --- usage errors: exit 2, the message names what is wrong and what is valid
expect 2 "unknown flag '--colls all_reduce'" -- --colls all_reduce
expect 2 "-d: unknown dtype 'f128'; valid: f32, f64, f16, bf16, i8, u8, i32, i64, all" -- -d f128
expect 2 "-o: unknown reduction 'mean'; valid: sum, prod, min, max, avg, all" -- -o mean
expect 2 "--algo: unknown algorithm 'fastest' for all_reduce; valid: auto, native, hierarchical, rabenseifner" -- --algo fastest
expect 2 "--coll: unknown collective 'allreduce'; valid: all_reduce" -- --coll allreduce
expect 2 "--backend: unknown backend 'gloo'; valid: ucx, mpi, all" -- --backend gloo
expect 2 "-b: '12Q' is not a size" -- -b 12Q
expect 2 "-e must not be smaller than -b" -- -b 1M -e 1K
expect 2 "--groups 3 does not divide the 2 ranks of this job" -- --np 2 --groups 3
expect 2 "-r 2 is not a rank of a group of 2" -- --np 2 --coll broadcast -r 2
expect 2 "--np: 'x' is not a number of ranks" -- --np x
expect 2 "--cuda-graph: backend 'ucx' runs on the host and has no CUDA stream to capture; --cuda-graph needs --backend nccl" -- --cuda-graph
expect 2 "--cuda-graph: 'lots' is not an integer in [0, 100000]" -- --backend mpi --cuda-graph lots
expect 0 "rabenseifner" -- --list

# --- a real 2-rank run: every collective, both backends; table, footer and JSON contract
expect 0 "# Out of bounds values : 0 OK" -- --np 2 --backend ucx,mpi --coll all --algo auto \
  -b 1K -e 64K -f 8 -n 4 -w 1 --benchmark_out="$tmp/run/results.json"
for text in "#  all_reduce  backend=ucx  algo=auto  ranks=2" "out-of-place" "in-place" \
            "(elements)" "#wrong" "# Bytes across nodes   : = model OK" "# Avg bus bandwidth" \
            "# Bus bandwidth at the largest size" \
            "# results: $tmp/run/results.json"; do
  grep -qF -- "${text#\#  }" "$log" || { echo "FAIL: table lacks: $text"; fail=1; }
done
# Rows: size count type redop root, then time algbw busbw #wrong for out-of-place and in-place.
rows=$(grep -cE '^ +[0-9]+ +[0-9]+ +f32 +(sum|none) +-?[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +0( +[0-9.]+ +[0-9.]+ +[0-9.]+ +0)? *$' "$log")
# 7 collectives x 2 backends x 3 sizes (1K, 8K, 64K)
[[ $rows == 42 ]] || { echo "FAIL: expected 42 table rows, found $rows"; cat "$log"; fail=1; }
$check "$tmp/run/results.json" --iterations 4 || fail=1
ls "$tmp/run" | grep -q tmp && { echo "FAIL: a temporary results file was left behind"; fail=1; }

# --- the checker itself fails on a broken file (so the check above can fail)
$check "$data/good_results.json" || fail=1
if $check "$data/bad_results.json" 2>/dev/null; then echo "FAIL: checker accepted bad_results.json"; fail=1; fi

# --- uneven rank speed: rank 1 sleeps 2 ms before every op; all ranks agree and finish
expect 0 "# Out of bounds values : 0 OK" -- --np 3 --coll all_reduce,broadcast -b 4K -e 4K \
  -n 25 --debug-slow-rank 1 --benchmark_out="$tmp/slow.json"
$check "$tmp/slow.json" --iterations 25 || fail=1

# --- a wrong element is counted, reported and fails the run with exit 7
expect 7 "# Out of bounds values : 2 FAILED" -- --np 2 --coll all_reduce -b 4K -e 4K -n 2 \
  --inplace both --debug-corrupt-rank 1 --benchmark_out="$tmp/wrong.json"
$check "$tmp/wrong.json" --expect-wrong || fail=1

# --- bytes across nodes off the volume model (a transport counting a send to the wrong node, a
# schedule crossing nodes where it should not) fail the run with exit 7, and the checker too
expect 7 "# Bytes across nodes   : off the model on 2 rank(s) x case(s) FAILED" -- --np 2 \
  --coll all_gather -b 4K -e 4K -n 2 --inplace both --debug-inter-node-rank 1 \
  --benchmark_out="$tmp/inter.json"
grep -q "bytes sent across nodes differ from the volume model" "$log" ||
  { echo "FAIL: no error line for bytes across nodes off the model"; fail=1; }
if $check "$tmp/inter.json" 2>/dev/null; then
  echo "FAIL: checker accepted bytes across nodes off the model"; fail=1
fi

# --- each bug a collective algorithm really has (comm/verify.h Corrupt) is counted as wrong,
# for every collective, on 2 to 8 ranks, on both backends, in the benchmark's own check path:
# rank 0 prints one line per (bug, case); every line must report wrong elements, except
# "doubled" where it means nothing (non-reductions).
expect 2 "--debug-corrupt: unknown bug 'bitflip'; valid: own_times_n, replaced" -- \
  --debug-corrupt bitflip
for np in 2 3 4 8; do
  # stderr alone: written into one file with the stdout table, its lines can be split by it.
  timeout 120 "$bin" --np $np --backend ucx,mpi --coll all -b 4K -e 4K -n 1 -w 0 --inplace 0 \
    --debug-corrupt all >"$tmp/corrupt.out" 2>"$log"
  rc=$?
  [[ $rc == 7 ]] || { echo "FAIL: np $np: --debug-corrupt all exited $rc, expected 7"; fail=1; }
  lines=$(grep -c "^tpbench: debug-corrupt " "$log")
  # 7 collectives x 2 backends x 6 bugs
  [[ $lines == 84 ]] || { echo "FAIL: np $np: expected 84 debug-corrupt lines, found $lines"; fail=1; }
  missed=$(grep "^tpbench: debug-corrupt " "$log" | grep -v " [1-9][0-9]* wrong elements in " |
    grep -vE "debug-corrupt doubled: not applicable to (all_gather|broadcast|all_to_all|sendrecv)/")
  [[ -z $missed ]] || { echo "FAIL: np $np: bugs not counted as wrong:"; echo "$missed"; fail=1; }
done

# --- -c 0: nothing checked; #wrong is absent (n/a), never a 0 that reads as "checked, fine"
expect 0 "# Out of bounds values : unchecked (-c 0)" -- --np 2 --coll all_reduce,all_gather \
  -b 4K -e 4K -n 2 -c 0 --benchmark_out="$tmp/unchecked.json"
grep -qE '^ +4096 +1024 +f32 +sum +-1 +[0-9.]+ +[0-9.]+ +[0-9.]+ +n/a ' "$log" ||
  { echo "FAIL: -c 0 table row lacks n/a"; cat "$log"; fail=1; }
/usr/bin/python3 - "$tmp/unchecked.json" <<'PY' || fail=1
import json, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
bad = [b["name"] for b in runs if "wrong" in b]
if not runs or bad:
    sys.exit("FAIL: -c 0 results carry 'wrong': %s" % bad)
PY

# A timeout: exit 4, and UCX's warnings on the way out ("object ... was not returned to
# mpool", printed by UCX on stdout unless UCX_LOG_FILE says otherwise) stay out of stdout,
# where the results table goes (the launcher sets UCX_LOG_FILE=stderr and filters them).
"$bin" --np 2 --coll all_reduce -b 16M -e 16M -T 0.001 >"$tmp/to.out" 2>"$tmp/to.err"
rc=$?
if [[ $rc != 4 ]] || ! grep -q "tpbench: error: timeout" "$tmp/to.err"; then
  echo "FAIL: a 1 ms deadline: exit $rc, expected 4 and the timeout line"; cat "$tmp/to.err"; fail=1
fi
if grep -q "UCX" "$tmp/to.out" "$tmp/to.err"; then
  echo "FAIL: UCX's own lines reached the output (stdout or unfiltered stderr):"
  grep -m3 "UCX" "$tmp/to.out" "$tmp/to.err"; fail=1
fi

exit $fail
