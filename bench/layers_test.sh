#!/usr/bin/env bash
# End-to-end tests of //bench:layers: a 2-rank run of the 1d, 1d-sp and serial schemes on a tiny
# shape (exit 0, JSON checked by check_results.py: layer counters, measured bytes = model,
# max_rel_err below tolerance, tensor memory TP < serial), bad shapes and flags (exit 2), a
# corrupted dX and a missing gradient (exit 7), and --dump read back with numpy against the
# serial scheme's dump (numpy missing is a failure).
# Also //bench:patterns (the communication skeletons): exit 0, measured bytes = model.
# Also: 2.5d and 3d dumps on 8 ranks match the serial dump; bench/sweeps/schemes.sweep is valid;
# the peak-memory model of every scheme equals the measured peak on the sweep's shape.
#   layers_test.sh <layers> <check_results.py> <patterns> <schemes.sweep>
set -uo pipefail
bin="$1" check="/usr/bin/python3 $2" patterns="$3" schemes_sweep="$(cd "$(dirname "$4")" && pwd)/$(basename "$4")"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
fail=0
log="$tmp/log"

source "$(dirname "$0")/test_lib.sh"

tiny=(--batch 2 --seq 4 --hidden 16 --heads 4 -n 2 -w 1)
expect 2 "heads (3) is not divisible by the tensor-parallel size t (2)" -- \
  --np 2 --batch 2 --seq 4 --hidden 24 --heads 3
expect 2 "is not divisible by the tensor-parallel size t (2)" -- \
  --np 2 --scheme 1d-sp --batch 1 --seq 3 --hidden 16 --heads 4
expect 2 "--scheme: unknown name '4d'" -- --np 2 --scheme 4d "${tiny[@]}"
expect 2 "--dtype bf16: the host compute runs f32 and f64 only; f16 and bf16 need --compute cuda or cuda-tf32" -- \
  --scheme serial --dtype f32,bf16 "${tiny[@]}"
expect 2 "--dtype: 'f8' is not f32, f64, f16 or bf16" -- --scheme serial --dtype f8 "${tiny[@]}"
# A wrong dX on one rank is caught by the check against the serial reference: exit 7, naming
# the case.
expect 7 "max_rel_err above tolerance: tp1d/mlp/f64/b:2,s:4,h:16,nh:4/overlap:on/backend:ucx/ranks:2" -- \
  --np 2 --case mlp --dtype f64 --overlap on --debug-corrupt-rank 1 "${tiny[@]}"
# A gradient the reference has and the scheme no longer produces fails the check (exit 7,
# naming it), for a LayerNorm and for a bias gradient; a name the case lacks is exit 2.
expect 7 "missing gradients: ln1.gamma)" -- \
  --np 2 --scheme 1d-sp --case block --debug-drop-grad ln1.gamma "${tiny[@]}"
expect 7 "missing gradients: mlp.fc2.b)" -- \
  --np 2 --scheme 1d --case mlp --debug-drop-grad mlp.fc2.b "${tiny[@]}"
expect 2 "--debug-drop-grad: unknown gradient 'ln9.gamma'; valid: ln1.gamma, ln1.beta" -- \
  --np 2 --scheme 1d --case mlp --debug-drop-grad ln9.gamma "${tiny[@]}"
expect 0 "tp1d-sp/block/f32/b:2,s:4,h:16,nh:4/overlap:off/backend:ucx/ranks:2" -- --np 2 --scheme all \
  --dtype f32,f64 "${tiny[@]}" --benchmark_out="$tmp/out.json"
$check "$tmp/out.json" || fail=1
/usr/bin/python3 - "$tmp/out.json" <<'PY' || fail=1
import json, sys
b = {x["name"].split("/iterations:")[0]: x for x in json.load(open(sys.argv[1]))["benchmarks"]}
want = ["%s/%s/%s/b:2,s:4,h:16,nh:4/overlap:%s/backend:ucx/ranks:2" % (s, c, d, o)
        for s in ("tp1d", "tp1d-sp") for c in ("linear", "mlp", "attention", "block")
        for d in ("f32", "f64") for o in ("on", "off")]
want += ["serial/block/f32/b:2,s:4,h:16,nh:4/overlap:off/ranks:1"]
missing = [n for n in want if n not in b]
if missing:
    sys.exit("FAIL: missing results: %s" % missing)
for n in want:
    if "max_rel_err" not in b[n]:
        sys.exit("FAIL: %s has no max_rel_err" % n)
blk = b["tp1d/block/f32/b:2,s:4,h:16,nh:4/overlap:on/backend:ucx/ranks:2"]
if blk["comm_bytes_model"] != 8 * 1 / 2 * 8 * 16 * 4:  # 8(t-1)/t * B*h * 4 bytes
    sys.exit("FAIL: block model %g" % blk["comm_bytes_model"])
# Tensor memory per rank: a TP rank holds half the parameters (and with SP half the
# activations), so its peak is below the serial layer's; f64 holds twice f32's bytes.
peak = lambda s, d="f32": b["%s/block/%s/b:2,s:4,h:16,nh:4/%s" % (
    s, d, "overlap:off/ranks:1" if s == "serial" else "overlap:on/backend:ucx/ranks:2")][
    "peak_mem_bytes_per_rank"]
if not peak("tp1d-sp") < peak("tp1d") < peak("serial"):
    sys.exit("FAIL: peak memory tp1d-sp %g, tp1d %g, serial %g: expected increasing"
             % (peak("tp1d-sp"), peak("tp1d"), peak("serial")))
if not 1.8 < peak("tp1d", "f64") / peak("tp1d") <= 2.0:
    sys.exit("FAIL: peak memory tp1d f64 %g vs f32 %g" % (peak("tp1d", "f64"), peak("tp1d")))
print("ok: %d results, names and block model as expected" % len(b))
PY

# --backend all: the same layers over the MPI library's collectives (the peer), checked against
# the serial reference too; mpi reports no measured bytes.
expect 0 "tp1d-sp/block/f64/b:2,s:4,h:16,nh:4/overlap:on/backend:mpi/ranks:2" -- --np 2 \
  --scheme 1d,1d-sp --backend all --case mlp,block --dtype f64 "${tiny[@]}" \
  --benchmark_out="$tmp/backends.json"
$check "$tmp/backends.json" || fail=1
/usr/bin/python3 - "$tmp/backends.json" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
if d["context"]["backend"] != "ucx,mpi":
    sys.exit("FAIL: context backend %r" % d["context"]["backend"])
mpi = [b for b in d["benchmarks"] if "/backend:mpi/" in b["name"]]
if len(mpi) != 8 or any("comm_bytes_per_rank" in b or not b["max_rel_err"] < 1e-9 for b in mpi):
    sys.exit("FAIL: mpi cases: %s" % [(b["name"], b.get("max_rel_err")) for b in mpi])
print("ok: 8 mpi-backend cases, checked, no measured bytes")
PY

# --check-sweep resolves a relative path against where `bazel run` was typed
# (BUILD_WORKING_DIRECTORY), and names the file and line of a bad entry.
mkdir -p "$tmp/wd"
abs_bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
printf 'layers ranks=2,4 --case mlp\nlayers ranks=2 --heads 3 --hidden 24\n' >"$tmp/wd/bad.sweep"
printf 'layers ranks=2,4 --case mlp --rounds 2\n' >"$tmp/wd/ok.sweep"
rel_bin="$bin"
bin="$abs_bin"
pushd / >/dev/null
export BUILD_WORKING_DIRECTORY="$tmp/wd"
expect 0 "ok.sweep: 2 layers entries x world sizes are valid" -- --check-sweep ok.sweep
expect 2 "bad.sweep:2 (ranks=2): heads (3) is not divisible" -- --check-sweep bad.sweep
unset BUILD_WORKING_DIRECTORY
popd >/dev/null
bin="$rel_bin"

# --rounds 2: every case twice, interleaved, the second round in reverse order; serial (no
# overlap) once per round.
expect 0 "overlap:off" -- --np 2 --scheme 1d,serial --case mlp --overlap both --rounds 2 \
  "${tiny[@]}" --benchmark_out="$tmp/rounds.json"
/usr/bin/python3 - "$tmp/rounds.json" <<'PY' || fail=1
import json, sys
names = ["%s:%s" % (p[0], p[4][8:]) for p in
         (b["name"].split("/") for b in json.load(open(sys.argv[1]))["benchmarks"])]
want = ["tp1d:on", "tp1d:off", "serial:off", "serial:off", "tp1d:off", "tp1d:on"]
if names != want:
    sys.exit("FAIL: --rounds 2 order %s, expected %s" % (names, want))
print("ok: --rounds 2 order %s" % names)
PY

# numpy is installed by tools/setup.sh (python3-numpy): its absence fails, never skips.
if ! /usr/bin/python3 -c "import numpy" 2>/dev/null; then
  echo "FAIL: python3-numpy is missing (tools/setup.sh installs it)"; fail=1
else
  expect 0 "tp1d-sp/mlp" -- --np 2 --scheme 1d-sp,serial --case mlp,block "${tiny[@]}" \
    --overlap on --dump "$tmp/dump"
  /usr/bin/python3 - "$tmp/dump" <<'PY' || fail=1
import os, sys
import numpy as np
d = sys.argv[1]
sp = os.path.join(d, "tp1d-sp_block_f32_b_2_s_4_h_16_nh_4_overlap_on_backend_ucx_ranks_2")
ref = os.path.join(d, "serial_block_f32_b_2_s_4_h_16_nh_4_overlap_off_ranks_1")
for name, shape in (("grad.mlp.fc1.w", (16, 64)), ("grad.attn.proj.w", (16, 16)),
                    ("grad.attn.qkv.b", (48,)), ("out", (8, 16)), ("dx", (8, 16))):
    got, want = np.load(os.path.join(sp, name + ".npy")), np.load(os.path.join(ref, name + ".npy"))
    if got.shape != shape or want.shape != shape or got.dtype != np.float32:
        sys.exit("FAIL: %s: shape %s / %s dtype %s, expected %s" % (name, got.shape, want.shape,
                                                                   got.dtype, shape))
    err = np.abs(got - want).max() / np.abs(want).max()
    if not err < 1e-4:
        sys.exit("FAIL: %s: max rel error %g vs the serial dump" % (name, err))
x = np.load(os.path.join(sp, "x.npy"))
if x.shape != (8, 16) or not np.array_equal(x, np.load(os.path.join(ref, "x.npy"))):
    sys.exit("FAIL: x differs between dumps")
print("ok: --dump: numpy reads the gathered tp1d-sp block tensors; they match the serial dump")
PY
  # 2d on 4 ranks, both SUMMA variants: every dumped tensor (gathered under the same names)
  # matches the serial dump, and the measured bytes equal the plan's.
  expect 0 "tp2d/block/f64/b:2,s:4,h:16,nh:4/summa:allgather/overlap:on/backend:ucx/ranks:4" -- \
    --np 4 --scheme 2d,serial --summa both --case all --dtype f64 "${tiny[@]}" --overlap on \
    --dump "$tmp/dump2d" --benchmark_out="$tmp/2d.json"
  $check "$tmp/2d.json" || fail=1
  # 2.5d (d = 2) and 3d on 8 ranks, block, f64: the same check.
  expect 0 "tp3d/block/f64/b:4,s:4,h:16,nh:4/overlap:on/backend:ucx/ranks:8" -- --np 8 \
    --scheme 2.5d,3d,serial --depth 2 --case block --dtype f64 --batch 4 --seq 4 --hidden 16 \
    --heads 4 -n 1 -w 0 --overlap on --dump "$tmp/dump2d"
  /usr/bin/python3 - "$tmp/dump2d" <<'PY' || fail=1
import os, sys
import numpy as np
d = sys.argv[1]
n = 0
pairs = []
for summa in ("bcast", "allgather"):
    for case in ("linear", "mlp", "attention", "block"):
        tp = os.path.join(d, "tp2d_%s_f64_b_2_s_4_h_16_nh_4_summa_%s_overlap_on_backend_ucx_ranks_4"
                          % (case, summa))
        ref = os.path.join(d, "serial_%s_f64_b_2_s_4_h_16_nh_4_overlap_off_ranks_1" % case)
        pairs.append((tp, ref))
ref8 = os.path.join(d, "serial_block_f64_b_4_s_4_h_16_nh_4_overlap_off_ranks_1")
pairs += [(os.path.join(d, "tp2p5d_block_f64_b_4_s_4_h_16_nh_4_depth_2_summa_bcast_overlap_on_"
                           "backend_ucx_ranks_8"), ref8),
          (os.path.join(d, "tp3d_block_f64_b_4_s_4_h_16_nh_4_overlap_on_backend_ucx_ranks_8"), ref8)]
for tp, ref in pairs:
    names = sorted(os.listdir(ref))
    if sorted(os.listdir(tp)) != names:
        sys.exit("FAIL: %s: files %s, serial %s" % (tp, sorted(os.listdir(tp)), names))
    for name in names:
        got, want = np.load(os.path.join(tp, name)), np.load(os.path.join(ref, name))
        err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-300)
        if got.shape != want.shape or not err < 1e-9:
            sys.exit("FAIL: %s/%s: shape %s vs %s, max rel error %g" % (tp, name, got.shape,
                                                                      want.shape, err))
        n += 1
print("ok: --dump: %d gathered tp2d, tp2p5d and tp3d tensors match the serial dumps" % n)
PY
fi
expect 2 "batch (3) is not divisible by q (2) of 2d (P = 4)" -- --np 4 --scheme 2d \
  --batch 3 --seq 4 --hidden 16 --heads 4
expect 2 "2d needs P = q^2 ranks (mesh {row: q, col: q}); P = 2 is not a square" -- \
  --np 2 --scheme 2d "${tiny[@]}"

timeout 120 "$patterns" --np 2 --scheme all --case all --dtype f32,f64 --batch 2 --seq 4 \
  --hidden 16 --heads 4 -n 2 -w 1 --benchmark_out="$tmp/pat.json" >"$log" 2>&1 ||
  { echo "FAIL: patterns exited $?"; cat "$log"; fail=1; }
$check "$tmp/pat.json" || fail=1
grep -qF "comm/tp1d-sp/block/f64/b:2,s:4,h:16,nh:4/ranks:2" "$tmp/pat.json" ||
  { echo "FAIL: patterns: no comm/tp1d-sp/block/f64 result"; fail=1; }

# The memory model (peak_mem_model_bytes_per_rank) equals the measured peak tensor memory of
# every scheme on the schemes sweep's shape, block and attention (the attention backward's
# working set is the high-water mark there); a model with a term dropped (the attention
# probabilities) or one too many (a second output) is caught.
mem=(--case block,attention --batch 12 --seq 48 --hidden 144 --heads 24 --dtype f32 -n 1 -w 0)
expect 0 "tp2d/block/f32/b:12,s:48,h:144,nh:24/summa:allgather" -- --np 4 \
  --scheme 1d,1d-sp,2d --summa both "${mem[@]}" --benchmark_out="$tmp/mem4.json"
expect 0 "tp3d/attention/f32/b:12,s:48,h:144,nh:24" -- --np 8 --scheme 2.5d,3d --depth 2 \
  "${mem[@]}" --benchmark_out="$tmp/mem8.json"
for f in mem4 mem8; do
  $check --exact-peak-model "$tmp/$f.json" || { echo "FAIL: peak memory model ($f)"; fail=1; }
done
/usr/bin/python3 - "$tmp/mem4.json" "$tmp/mem8.json" "$tmp/memwrong.json" <<'PY' || fail=1
import json, sys
docs = [json.load(open(p)) for p in sys.argv[1:3]]
schemes = {b["fields"]["scheme"] for d in docs for b in d["benchmarks"]
           if "peak_mem_model_bytes_per_rank" in b}
if schemes != {"tp1d", "tp1d-sp", "tp2d", "tp2p5d", "tp3d"}:
    sys.exit("FAIL: schemes with a memory model: %s" % sorted(schemes))
d = docs[1]
P = 8
probs = 12 * 24 * 48 * 48 // P * 4  # b nh s^2 / P f32 elements (2.5d, 3d split samples x heads)
for b in d["benchmarks"]:
    b["peak_mem_model_bytes_per_rank"] -= probs
json.dump(d, open(sys.argv[3], "w"))
PY
$check --exact-peak-model "$tmp/memwrong.json" >"$log" 2>&1 &&
  { echo "FAIL: a memory model without the attention probabilities passed"; fail=1; }
grep -qF "peak_mem_model_bytes_per_rank" "$log" ||
  { echo "FAIL: the dropped-term model's failure does not name the counter"; cat "$log"; fail=1; }
/usr/bin/python3 - "$tmp/mem4.json" "$tmp/memwrong.json" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
for b in d["benchmarks"]:
    b["peak_mem_model_bytes_per_rank"] += 12 * 48 * 144 * 4  # one more [B, h] tensor
json.dump(d, open(sys.argv[2], "w"))
PY
$check "$tmp/memwrong.json" >"$log" 2>&1 &&
  { echo "FAIL: a memory model above the measured peak passed"; fail=1; }
grep -qF "above the measured high-water mark" "$log" ||
  { echo "FAIL: the over-counting model's failure"; cat "$log"; fail=1; }

# The schemes sweep is valid at every world size it lists (layers and patterns entries).
expect 0 "layers entries x world sizes are valid" -- --check-sweep "$schemes_sweep"
"$patterns" --check-sweep "$schemes_sweep" >"$log" 2>&1 ||
  { echo "FAIL: patterns --check-sweep schemes.sweep"; cat "$log"; fail=1; }
exit $fail
