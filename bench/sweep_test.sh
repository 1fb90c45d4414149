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

# An output folder that cannot be written: exit 2 before anything runs.
unwritable() {  # unwritable <out> <text>
  "$sweep" --sweep "$tmp/small.sweep" --out "$1" >"$tmp/log" 2>&1
  local rc=$?
  [[ $rc == 2 ]] || { echo "FAIL: --out $1 exited $rc, expected 2"; cat "$tmp/log"; fail=1; }
  grep -qF -- "$2" "$tmp/log" || { echo "FAIL: --out $1: message lacks: $2"; cat "$tmp/log"; fail=1; }
  grep -q "# sweep: collectives" "$tmp/log" && { echo "FAIL: --out $1: a part ran"; fail=1; }
  echo "ok: --out $1: $(grep error "$tmp/log" | head -1)"
}
unwritable "$tmp/no/such/parent/out" "the parent folder $tmp/no/such/parent does not exist"
unwritable /proc/tpbench-out "cannot be written"
# A full disk: a 64 KiB tmpfs, where mounting is allowed (root outside a sandbox that forbids it).
mkdir -p "$tmp/tiny"
if mount -t tmpfs -o size=64k tmpfs "$tmp/tiny" 2>/dev/null; then
  unwritable "$tmp/tiny/out" "$tmp/tiny/out"
  umount "$tmp/tiny"
else
  echo "skipped: full disk (cannot mount a tmpfs here)"
fi

# Interrupted and resumed: a SIGTERM during the second part leaves the first part's JSON and
# an incomplete results.json; --resume runs only what is missing and completes it.
cat >"$tmp/long.sweep" <<'SWEEP'
collectives ranks=1,2 --backend ucx --coll all_reduce -b 64 -e 64 -n 3 -w 1
layers ranks=2 --scheme 1d --hidden 64 --seq 8 --batch 1 --heads 2 -n 1000000 -w 1
SWEEP
"$sweep" --sweep "$tmp/long.sweep" --out "$tmp/int" --no-report >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q "# sweep: layers on 2 ranks" "$tmp/log" && break; sleep 0.1; done
sleep 2
kill -TERM $pid
wait $pid
rc=$?
[[ $rc == 143 ]] || { echo "FAIL: interrupted sweep exited $rc, expected 143"; cat "$tmp/log"; fail=1; }
grep -qF -- "--resume $tmp/int" "$tmp/log" || { echo "FAIL: no resume hint"; cat "$tmp/log"; fail=1; }
/usr/bin/python3 - "$tmp/int" <<'PY' || fail=1
import json, os, sys
out = sys.argv[1]
d = json.load(open(os.path.join(out, "results.json")))
assert d["context"].get("incomplete") == "true", d["context"]
assert d["context"]["parts_missing"] == "layers-np2", d["context"]["parts_missing"]
for p in os.listdir(os.path.join(out, "parts")):
    json.load(open(os.path.join(out, "parts", p)))  # every part left is valid JSON
assert sorted(os.listdir(os.path.join(out, "parts"))) == ["collectives-np1.json",
                                                        "collectives-np2.json"]
print("interrupted sweep OK: %d benchmarks, incomplete" % len(d["benchmarks"]))
PY
sed -i "s/-n 1000000/-n 2/" "$tmp/int/sweep.sweep"  # let the resumed part finish quickly
"$sweep" --resume "$tmp/int" --no-report >"$tmp/log" 2>&1
rc=$?
[[ $rc == 0 ]] || { echo "FAIL: --resume exited $rc"; cat "$tmp/log"; fail=1; }
[[ $(grep -c "done earlier, skipped" "$tmp/log") == 2 ]] || { echo "FAIL: done parts not skipped"; cat "$tmp/log"; fail=1; }
grep -q "# sweep: layers on 2 ranks$" "$tmp/log" || { echo "FAIL: layers not resumed"; cat "$tmp/log"; fail=1; }
$check "$tmp/int/results.json" || fail=1
/usr/bin/python3 - "$tmp/int/results.json" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
assert "incomplete" not in d["context"], d["context"]
assert any(b["name"].startswith("layer") or "scheme" in b["name"] or "1d" in b["name"]
           for b in d["benchmarks"]), [b["name"] for b in d["benchmarks"]][:5]
print("resumed sweep OK: %d benchmarks" % len(d["benchmarks"]))
PY

# A failing world size (every op past a 1 ms deadline on 2 ranks: exit 4, no results) leaves
# results.json of the other one, marked incomplete; --resume reruns only the failed part.
cat >"$tmp/fails.sweep" <<'SWEEP'
collectives ranks=1 --backend ucx --coll all_reduce -b 64 -e 64 -n 3 -w 1
collectives ranks=2 --backend ucx --coll all_reduce -b 16M -e 16M -n 3 -w 1 -T 0.001
SWEEP
"$sweep" --sweep "$tmp/fails.sweep" --out "$tmp/fails" --no-report >"$tmp/log" 2>&1
rc=$?
# The part's own exit code is 4 (timeout), or 134/139 when the known double free after a ucx
# timeout hits during cleanup (docs/runtime.md); the sweep passes the part's code on.
[[ $rc == 4 || $rc == 134 || $rc == 139 ]] ||
  { echo "FAIL: sweep with a failing world size exited $rc, expected 4"; cat "$tmp/log"; fail=1; }
/usr/bin/python3 - "$tmp/fails/results.json" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
assert d["context"].get("incomplete") == "true", d["context"]
assert d["context"]["parts_missing"] == "collectives-np2", d["context"]["parts_missing"]
assert {b["world_size"] for b in d["benchmarks"]} == {1}
print("failing world size OK: incomplete, %d benchmarks kept" % len(d["benchmarks"]))
PY
sed -i "s/ -T 0.001//" "$tmp/fails/sweep.sweep"
"$sweep" --resume "$tmp/fails" --no-report >"$tmp/log" 2>&1 || { echo "FAIL: --resume exited $?"; cat "$tmp/log"; fail=1; }
grep -q "collectives on 1 ranks: done earlier, skipped" "$tmp/log" || { echo "FAIL: np1 not skipped"; cat "$tmp/log"; fail=1; }
$check "$tmp/fails/results.json" || fail=1

# The CI-sized quick sweep runs and its results satisfy the contract.
"$sweep" --quick --out "$tmp/quick" >"$tmp/log" 2>&1 || { echo "FAIL: --quick exited $?"; cat "$tmp/log"; fail=1; }
$check "$tmp/quick/results.json" || fail=1
exit $fail
