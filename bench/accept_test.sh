#!/usr/bin/env bash
# End-to-end tests of //bench:accept: bad specs exit 2 naming FILE:LINE (before any launch);
# an honest run on this machine's spec passes on 4 and 8 ranks; each injected fault fails
# with exit 5 and names exactly the injected rank or link (and nothing else); the outputs
# (verdict.json, summary.md, junit.xml, index.html with its images) are written.
#   accept_test.sh <accept> <specs dir>
set -uo pipefail
bin="$1" specs="$2"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
fail=0
log="$tmp/log"
source "$(dirname "$0")/test_lib.sh"

# --- bad specs: exit 2, the message names the file, the line and what is wrong
bad() {  # bad <spec line> <expected message>
  printf 'profile p\n%s\n' "$1" > "$tmp/bad.spec"
  expect 2 "$2" -- --np 2 --spec "$tmp/bad.spec"
}
bad "link bandwidth size=1MiB minimum=1GB/s" "bad.spec:2: unknown key 'minimum' for link bandwidth"
bad "link bandwidth size=1MiB min=1" "bad.spec:2: min: '1' needs a unit: GB/s, MB/s"
bad "copy size=0MiB min=1GB/s" "bad.spec:2: size: '0MiB' must be a positive number"
bad "collective all_reduce size=1MiB min_busbw=1GB/s groups=diagonal" "unknown group 'diagonal'"
expect 2 "--spec: cannot read" -- --np 2 --spec "$tmp/missing.spec"
expect 2 "the spec is for machine profile 'x86_64-8xh100-sxm-nvlink'" -- --np 2 \
  --spec "$specs/x86_64-8xh100-sxm-nvlink.spec"

# This machine's own spec; on another machine the development VM's, with --force (said).
spec="$specs/x86_64-intel-r-xeon-r-processor-2c-24g.spec"
force=()
"$bin" --np 1 --spec "$spec" --out "$tmp/probe" >"$log" 2>&1
if grep -q "the spec is for machine profile" "$log"; then
  echo "note: no spec for this machine's profile; using $(basename "$spec") with --force"
  force=(--force)
fi

run() {  # run <np> <want exit> <want suspects> <want bad links> [hook flags]
  local np=$1 want=$2 suspects=$3 links=$4
  shift 4
  expect "$want" "# verdict:" -- --np "$np" --spec "$spec" "${force[@]}" --out "$tmp/out" "$@"
  /usr/bin/python3 - "$tmp/out/verdict.json" "$suspects" "$links" "$np $*" <<'PY' || fail=1
import json, sys
v = json.load(open(sys.argv[1]))
got_s = ",".join(str(s["rank"]) for s in v["suspects"])
got_l = ",".join("%d:%d" % tuple(l) for l in v["bad_links"])
if (got_s, got_l) != (sys.argv[2], sys.argv[3]):
    sys.exit("FAIL: %s: suspects %r bad links %r, expected %r and %r\n%s" % (
        sys.argv[4], got_s, got_l, sys.argv[2], sys.argv[3],
        "\n".join("%s %s %s" % (c["name"], c["status"], c["detail"]) for c in v["checks"])))
print("ok: %s: verdict %s, suspects [%s], bad links [%s]" % (sys.argv[4], v["verdict"], got_s, got_l))
PY
}
run 4 0 "" ""
for f in verdict.json summary.md junit.xml index.html link_bandwidth.png ranks.png; do
  [[ -s $tmp/out/$f ]] || { echo "FAIL: $f not written"; fail=1; }
done
run 4 5 "2" "" --debug-slow-rank 2
run 4 5 "" "1:3" --debug-slow-link 1:3
run 4 5 "1" "" --debug-slow-compute 1
run 8 0 "" ""
run 8 5 "" "2:6" --debug-slow-link 2:6
run 8 5 "6" "" --debug-slow-compute 6
grep -q '<failure' "$tmp/out/junit.xml" || { echo "FAIL: junit.xml lacks the failure"; fail=1; }

# Fault mode: the shipped spec's figures are fast-mode figures (its fault_mode); a spec that
# says nothing runs in detect mode, acceptance's default; --fault-mode overrides the spec.
mode_of() { /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['fault_mode'])" "$1"; }
[[ $(mode_of "$tmp/out/verdict.json") == fast ]] || { echo "FAIL: the dev spec did not run fast"; fail=1; }
printf 'profile any\ngemm n=64 min=1GFLOP/s\n' > "$tmp/plain.spec"
expect 0 "# verdict:" -- --np 2 --spec "$tmp/plain.spec" --force --out "$tmp/plain"
[[ $(mode_of "$tmp/plain/verdict.json") == detect ]] || { echo "FAIL: default not detect"; fail=1; }
expect 0 "# verdict:" -- --np 2 --spec "$tmp/plain.spec" --force --out "$tmp/plain" --fault-mode fast
[[ $(mode_of "$tmp/plain/verdict.json") == fast ]] || { echo "FAIL: --fault-mode ignored"; fail=1; }
exit $fail
