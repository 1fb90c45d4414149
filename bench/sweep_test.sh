#!/usr/bin/env bash
# //bench:sweep: impossible or unknown entries are rejected before anything runs (exit 2,
# naming FILE:LINE); a small sweep over two world sizes merges into one valid results.json.
#   sweep_test.sh <sweep> <check_results.py>
set -uo pipefail
sweep="$1" check="/usr/bin/python3 $2"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
export TPBENCH_TIMEOUT_S=60
fail=0

reject() {  # reject <text> <sweep line>
  printf '# test\n%s\n' "$2" >"$tmp/bad.sweep"
  rm -rf "$tmp/bad"
  "$sweep" --sweep "$tmp/bad.sweep" --out "$tmp/bad" >"$tmp/log" 2>&1
  local rc=$?
  if [[ $rc != 2 ]]; then echo "FAIL: '$2' exited $rc, expected 2"; cat "$tmp/log"; fail=1; fi
  grep -qF -- "$1" "$tmp/log" || { echo "FAIL: '$2': message lacks: $1"; cat "$tmp/log"; fail=1; }
  grep -qF -- "bad.sweep:2" "$tmp/log" || { echo "FAIL: '$2': message lacks bad.sweep:2"; fail=1; }
  [[ -e "$tmp/bad" ]] && { echo "FAIL: '$2': something ran (output folder exists)"; fail=1; }
  echo "ok: rejected '$2': $(grep error "$tmp/log" | head -1)"
}

reject "--groups 2 does not divide the 3 ranks" "collectives ranks=2,3 --coll all_reduce --groups 2"
reject "unknown algorithm 'warp' for all_reduce" "collectives ranks=2 --algo warp"
reject "unknown dtype 'f8'" "collectives ranks=2 -d f8"
reject "has no ranks=" "collectives --coll all_reduce"
reject "unknown benchmark 'nccl'" "nccl ranks=2"

cat >"$tmp/small.sweep" <<'SWEEP'
# two world sizes, two entries, concurrent groups at 2 ranks
collectives ranks=1,2 --backend ucx,mpi --coll all_reduce,all_gather -b 64 -e 4K -f 64 -n 3 -w 1
collectives ranks=2 --backend ucx --coll all_reduce --groups 2 -b 1K -e 1K -n 3 -w 1 --inplace 0
SWEEP
"$sweep" --sweep "$tmp/small.sweep" --out "$tmp/ok" >"$tmp/log" 2>&1
rc=$?
[[ $rc == 0 ]] || { echo "FAIL: small sweep exited $rc"; cat "$tmp/log"; fail=1; }
grep -qF "# sweep results: $tmp/ok/results.json" "$tmp/log" || { echo "FAIL: no results path"; cat "$tmp/log"; fail=1; }
$check "$tmp/ok/results.json" || fail=1
/usr/bin/python3 - "$tmp/ok/results.json" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
sizes = sorted({b["world_size"] for b in d["benchmarks"]})
assert sizes == [1, 2], sizes
assert d["context"]["world_size"] == "1,2", d["context"]["world_size"]
assert any("/groups:2c" in b["name"] for b in d["benchmarks"]), "no concurrent-group case"
# 1 rank: 2 colls x 2 backends x 2 sizes x 2 in-place modes; 2 ranks: the same + 1 group case
n = len(d["benchmarks"])
assert n == 16 + 17, n
print("merged results OK: %d benchmarks, world sizes %s" % (n, sizes))
PY

# The CI-sized quick sweep runs and its results satisfy the contract.
"$sweep" --quick --out "$tmp/quick" >"$tmp/log" 2>&1 || { echo "FAIL: --quick exited $?"; cat "$tmp/log"; fail=1; }
$check "$tmp/quick/results.json" || fail=1
exit $fail
