#!/usr/bin/env bash
# tools/cluster/placement_test.sh: mesh placement on an emulated cluster (docs/multinode.md,
# "Topology: placing mesh axes"): 2 nodes x 2 ranks (prefix tpo, 198.19.9.0/24, so other
# clusters are left alone), //bench:layers --scheme 1d as 2 replicas of TP 2 with TP placed
# inside a node (its results say TP spans 1 node) and across (2 nodes), both exact; TP of 4 on
# nodes of 2 declared inside a node is refused (exit 2, naming the axis and the node size).
# Skipped (SKIPPED + JUnit <skipped>) where the machine cannot make namespaces.
#   placement_test.sh <tools/cluster/cluster.sh> <layers>
set -uo pipefail
cluster="$1" bin="$2"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
export TPBENCH_CLUSTER_PREFIX=tpo TPBENCH_CLUSTER_NET=198.19.9 TPBENCH_TIMEOUT_S=30
fail=0

if ! why=$("$cluster" check 2>&1); then
  echo "SKIPPED: this machine cannot run an emulated cluster: $why"
  if [[ -n ${XML_OUTPUT_FILE:-} ]]; then
    # The reason as an XML attribute: no quotes, no markup. (A ${why//...} substitution with
    # a quote inside the here-document is a bash "bad substitution" and leaves the file empty.)
    reason=$(printf '%s' "$why" | tr '"<>&\n' "'    ")
    cat > "$XML_OUTPUT_FILE" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="placement_test" tests="1" skipped="1"><testcase name="placement_test">
<skipped message="$reason"/></testcase></testsuite></testsuites>
XML
  fi
  exit 0
fi
trap '"$cluster" down >/dev/null 2>&1' EXIT
"$cluster" up 2 || { echo "FAIL: up"; exit 1; }
# shellcheck disable=SC1091
source /run/tpbench-cluster-tpo/env

tiny=(--scheme 1d --case linear --batch 2 --seq 4 --hidden 16 --heads 4 -n 1 -w 0 --overlap on)
# run <name> <expected exit> <flags...>: layers on 2 nodes x 2 ranks, log and JSON under $tmp.
run() {
  local name="$1" want="$2"
  shift 2
  timeout 60 "$bin" --np 4 --hosts cluster --ranks-per-node 2 "${tiny[@]}" "$@" \
    --benchmark_out="$tmp/$name.json" >"$tmp/$name.log" 2>&1
  local rc=$?
  [[ $rc == "$want" ]] && return 0
  echo "FAIL: $name: exit $rc, expected $want"; cat "$tmp/$name.log"; fail=1; return 1
}
# spans <name> <TP nodes>: the result's fields and printed line say TP spans that many nodes.
spans() {
  /usr/bin/python3 - "$tmp/$1.json" "$2" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
ctx, b = d["context"], d["benchmarks"][0]
f, want = b["fields"], sys.argv[2]
if ctx.get("nodes") != "2" or f.get("group_TP_size") != "2" or f.get("group_TP_nodes") != want:
    sys.exit("FAIL: %s: nodes %r, TP size %r spans %r, expected 2 nodes, 2, %s"
             % (b["name"], ctx.get("nodes"), f.get("group_TP_size"), f.get("group_TP_nodes"), want))
if not b.get("max_rel_err", 1) < 1e-4 or b.get("comm_bytes_per_rank") != b.get("comm_bytes_model"):
    sys.exit("FAIL: %s: max_rel_err %r, bytes %r vs model %r" % (b["name"], b.get("max_rel_err"),
             b.get("comm_bytes_per_rank"), b.get("comm_bytes_model")))
print("ok: %s: TP of 2 spans %s node(s), exact" % (b["name"], want))
PY
}

run inside 0 --dp 2 --inner-axes tp && spans inside 1
grep -q "TP 2 ranks on 1 node" "$tmp/inside.log" || { echo "FAIL: inside: no span line"; fail=1; }
run across 0 --dp 2 --inner-axes dp && spans across 2
grep -q "TP 2 ranks on 2 nodes (crosses nodes)" "$tmp/across.log" ||
  { echo "FAIL: across: no 'crosses nodes' line"; fail=1; }
want="--inner-axes tp: axis tp (groups of 4 ranks in mesh {tp: 4}, order tp) spans 2 nodes; a node holds 2 ranks"
if run refused 2 --inner-axes tp; then
  grep -qF -- "$want" "$tmp/refused.log" && echo "ok: TP of 4 inside nodes of 2 refused, exit 2" ||
    { echo "FAIL: refused: lacks '$want'"; cat "$tmp/refused.log"; fail=1; }
fi
"$cluster" down >/dev/null
trap - EXIT
exit $fail
