#!/usr/bin/env bash
# tools/gpu_check.sh: the GPU path on a machine with a GPU (docs/gpu.md), in about 8 minutes on
# one GPU, build included:
#   1. bazel build --config=cuda //...
#   2. the GPU tests (tag "cuda"): every CudaCompute kernel against HostCompute on random data,
#      the device probe, the 1-rank NCCL test; a test that reports SKIPPED here is a failure
#   3. //bench:collectives --backend nccl on 1 rank: every collective, f32, 8 B .. 16 MiB,
#      #wrong checked (exit 7 if any element is wrong)
#   4. tpbench's algorithms over NCCL (the NcclTransport) on 1 rank: every collective, every
#      registered algorithm (--algo all), f32 and bf16, sum and avg, #wrong checked. One rank
#      sends no NCCL point-to-point message (every message is to itself): this checks the
#      device reductions, copies and the op plumbing, not the pair communicators
#   5. --cuda-graph on 1 rank: all_reduce and all_gather, NCCL's and tpbench's ring, captured
#      10 ops per graph, #wrong checked (the checks run uncaptured)
#   6. //bench:layers --backend nccl --compute cuda on 1 rank: every TP scheme whose mesh fits
#      P = 1, and serial, every case, f32 and f64, overlap off and on, against the serial
#      f64-free host reference (max_rel_err within the dtype's tolerance, exit 7 otherwise)
#   7. bf16 and f16 layers on 1 rank: every scheme that fits P = 1 and serial, every case,
#      against the f64 host reference (tolerances f16 2e-2, bf16 1e-1; exit 7 above them)
#   8. a short GPU benchmark: the block layer, f32, cuda and cuda-tf32
# and prints one summary table. Exit 0 when every step passed, 1 otherwise; without a GPU it
# says so and exits 0 with every step SKIPPED. Output files go to $TPBENCH_GPU_OUT or a
# temporary folder (printed).
#   tools/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${TPBENCH_GPU_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/tpbench-gpu.XXXXXX")}"
mkdir -p "$out"
start=$(date +%s)
names=() states=() secs=() notes=()
failed=0

record() {  # record <name> <state> <seconds> <note>
  names+=("$1") states+=("$2") secs+=("$3") notes+=("$4")
  [[ $2 == FAIL ]] && failed=1
  echo "gpu_check: $1: $2 ($3 s) $4"
}

run_step() {  # run_step <name> <log> <cmd...>
  local name="$1" log="$2" t0 rc
  shift 2
  t0=$(date +%s)
  timeout 480 "$@" >"$log" 2>&1
  rc=$?
  local dt=$(($(date +%s) - t0))
  if [[ $rc == 0 ]]; then
    record "$name" PASS "$dt" "$log"
  else
    record "$name" FAIL "$dt" "exit $rc; $log (last lines below)"
    tail -15 "$log"
  fi
  return $rc
}

summary() {
  echo
  printf '%-34s %-7s %6s  %s\n' "step" "result" "sec" "note"
  printf '%-34s %-7s %6s  %s\n' "----" "------" "---" "----"
  for i in "${!names[@]}"; do
    printf '%-34s %-7s %6s  %s\n' "${names[$i]}" "${states[$i]}" "${secs[$i]}" "${notes[$i]}"
  done
  echo "gpu_check: $(( $(date +%s) - start )) s in all; outputs in $out"
}

if ! run_step "build --config=cuda" "$out/build.log" bazel build --config=cuda //...; then
  summary
  exit 1
fi

# Is there a GPU? The probe test says SKIPPED when not.
probe="bazel-bin/comm/cuda/cuda_device_test"
if "$probe" >"$out/probe.log" 2>&1 && grep -q "^SKIPPED" "$out/probe.log"; then
  reason=$(sed -n 's/^SKIPPED: //p' "$out/probe.log")
  for s in "GPU tests" "nccl collectives (1 rank)" "tpbench algos over nccl (1 rank)" \
    "cuda-graph (1 rank)" "TP layers P=1 on GPU" "bf16/f16 layers (1 rank)" "GPU benchmark"; do
    record "$s" SKIPPED 0 "$reason"
  done
  summary
  exit 0
fi

t0=$(date +%s)
if bazel test --config=cuda --test_tag_filters=cuda --test_output=errors //... \
  >"$out/tests.log" 2>&1; then
  skipped=$(grep -l "^SKIPPED" bazel-testlogs/*/*/*/test.log bazel-testlogs/*/*/test.log \
    2>/dev/null | tr '\n' ' ')
  if [[ -n $skipped ]]; then
    record "GPU tests" FAIL $(($(date +%s) - t0)) "skipped with a GPU present: $skipped"
  else
    record "GPU tests" PASS $(($(date +%s) - t0)) "$out/tests.log"
  fi
else
  record "GPU tests" FAIL $(($(date +%s) - t0)) "$out/tests.log"
  tail -30 "$out/tests.log"
fi

run_step "nccl collectives (1 rank)" "$out/collectives.log" \
  bazel-bin/bench/collectives --backend nccl --coll all -d f32 -b 8 -e 16M -f 8 -n 20 -w 2 \
  --benchmark_out="$out/collectives.json"

run_step "tpbench algos over nccl (1 rank)" "$out/algos.log" \
  bazel-bin/bench/collectives --backend nccl --coll all --algo all -d f32,bf16 -o sum,avg \
  -b 8 -e 1M -f 64 -n 5 -w 1 --benchmark_out="$out/algos.json"

run_step "cuda-graph (1 rank)" "$out/graph.log" \
  bazel-bin/bench/collectives --backend nccl --coll all_reduce,all_gather --algo auto,ring \
  --cuda-graph 10 -d f32 -b 8 -e 64K -f 8 -n 20 -w 2 --benchmark_out="$out/graph.json"

run_step "TP layers P=1 on GPU" "$out/layers.log" \
  bazel-bin/bench/layers --backend nccl --compute cuda --scheme all --case all \
  --dtype f32,f64 --overlap both -n 2 -w 1 --benchmark_out="$out/layers.json"

run_step "bf16/f16 layers (1 rank)" "$out/layers_half.log" \
  bazel-bin/bench/layers --backend nccl --compute cuda --scheme all --case all \
  --dtype bf16,f16 --overlap on -n 2 -w 1 --benchmark_out="$out/layers_half.json"

run_step "GPU benchmark (block, f32)" "$out/bench.log" \
  bash -c "bazel-bin/bench/layers --scheme serial --compute cuda --case block --batch 8 \
    --seq 512 --hidden 1024 --heads 16 -n 10 -w 2 --benchmark_out='$out/bench_cuda.json' &&
  bazel-bin/bench/layers --scheme serial --compute cuda-tf32 --case block --batch 8 \
    --seq 512 --hidden 1024 --heads 16 -n 10 -w 2 --benchmark_out='$out/bench_tf32.json'"
grep -hE "^serial/block" "$out/bench.log" | sed 's/^/  /'

summary
exit $failed
