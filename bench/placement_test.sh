#!/usr/bin/env bash
# End-to-end tests of the mesh placement flags of //bench:layers and //bench:patterns on one
# host (docs/multinode.md, "Topology: placing mesh axes"): --dp and --inner-axes give the
# expected axis order and per-group fields (size, nodes spanned) with results still exact
# (bytes = model, max_rel_err), a placed 2d mesh's --dump matches the serial dump (the gather
# follows the placement), and bad placements exit 2 naming what is wrong. Groups that cross
# nodes are tested on emulated nodes by //layers:mesh_test and //tools/cluster:placement_test.
#   placement_test.sh <layers> <check_results.py> <patterns>
set -uo pipefail
bin="$1" check="/usr/bin/python3 $2" patterns="$3"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
fail=0
log="$tmp/log"

source "$(dirname "$0")/test_lib.sh"

tiny=(--batch 2 --seq 4 --hidden 16 --heads 4 -n 1 -w 0 --overlap on)
# fields.py <json> <name substring> key=value...: the entry's fields hold every pair.
fields() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
path, sub, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
hits = [b for b in json.load(open(path))["benchmarks"] if sub in b["name"]]
if not hits:
    sys.exit("FAIL: %s: no result named *%s*" % (path, sub))
for b in hits:
    for kv in pairs:
        k, v = kv.split("=", 1)
        if b["fields"].get(k) != v:
            sys.exit("FAIL: %s: fields[%r] = %r, expected %r" % (b["name"], k, b["fields"].get(k), v))
print("ok: %d result(s) *%s*: %s" % (len(hits), sub, " ".join(pairs)))
PY
}

# 1d on 4 ranks as 2 replicas of TP 2: TP is the fast axis (one host: 1 node either way).
expect 0 "/dp:2/overlap:on/backend:ucx/ranks:4: TP 2 ranks on 1 node" -- --np 4 --scheme 1d \
  --dp 2 --case linear,block "${tiny[@]}" --benchmark_out="$tmp/dp.json"
$check "$tmp/dp.json" || fail=1
fields "$tmp/dp.json" tp1d/ dp=2 axis_order=dp,tp group_TP_size=2 group_TP_nodes=1 || fail=1
# TP placed across (dp fastest): the same results, the order says so.
expect 0 "/dp:2/inner:dp/overlap:on" -- --np 4 --scheme 1d --dp 2 --inner-axes dp \
  --case block "${tiny[@]}" --benchmark_out="$tmp/across.json"
$check "$tmp/across.json" || fail=1
fields "$tmp/across.json" tp1d/ axis_order=tp,dp group_TP_size=2 || fail=1

# 2d with row placed last (mesh ranks != world ranks): every dumped tensor matches serial.
expect 0 "/inner:row/overlap:on/backend:ucx/ranks:4: COL 2 ranks on 1 node, ROW 2 ranks" -- \
  --np 4 --scheme 2d,serial --case block --dtype f64 "${tiny[@]}" --inner-axes row \
  --dump "$tmp/dump" --benchmark_out="$tmp/2d.json"
$check "$tmp/2d.json" || fail=1
fields "$tmp/2d.json" tp2d/ dp=1 axis_order=col,row group_ROW_size=2 group_COL_nodes=1 || fail=1
/usr/bin/python3 - "$tmp/dump" <<'PY' || fail=1
import os, sys
import numpy as np
d = sys.argv[1]
tp = os.path.join(d, "tp2d_block_f64_b_2_s_4_h_16_nh_4_summa_bcast_inner_row_overlap_on_"
                  "backend_ucx_ranks_4")
ref = os.path.join(d, "serial_block_f64_b_2_s_4_h_16_nh_4_overlap_off_ranks_1")
names = sorted(os.listdir(ref))
if sorted(os.listdir(tp)) != names:
    sys.exit("FAIL: %s: files %s, serial %s" % (tp, sorted(os.listdir(tp)), names))
for name in names:
    got, want = np.load(os.path.join(tp, name)), np.load(os.path.join(ref, name))
    err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-300)
    if got.shape != want.shape or not err < 1e-9:
        sys.exit("FAIL: %s: shape %s vs %s, max rel error %g" % (name, got.shape, want.shape, err))
print("ok: --inner-axes row: %d gathered tp2d tensors match the serial dump" % len(names))
PY

# The skeletons take the same flags and fields.
bin="$patterns" expect 0 "comm/tp1d/block/f32/b:2,s:4,h:16,nh:4/dp:2/inner:dp/ranks:4: TP 2" -- \
  --np 4 --scheme 1d --dp 2 --inner-axes dp --batch 2 --seq 4 --hidden 16 --heads 4 -n 1 -w 0 \
  --benchmark_out="$tmp/pat.json"
$check "$tmp/pat.json" || fail=1
fields "$tmp/pat.json" comm/tp1d/ axis_order=tp,dp group_TP_size=2 group_TP_nodes=1 || fail=1

# Bad placements: exit 2 naming the flag, the axis or the world size.
expect 2 "--dp 3 does not divide the world size 4" -- --np 4 --scheme 1d --dp 3 "${tiny[@]}"
expect 2 "--inner-axes: mesh {tp: 4} has no axis 'row'" -- --np 4 --scheme 1d --inner-axes row \
  "${tiny[@]}"
expect 2 "--inner-axes: inner axes tp,tp: axis 'tp' repeated" -- --np 2 --scheme 1d \
  --inner-axes tp,tp "${tiny[@]}"
bin="$patterns" expect 2 "--inner-axes: mesh {dp: 2, tp: 2} has no axis 'col'" -- --np 4 \
  --scheme 1d --dp 2 --inner-axes col
exit $fail
