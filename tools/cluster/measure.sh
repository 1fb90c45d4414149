#!/usr/bin/env bash
# tools/cluster/measure.sh: the multi-node measurements of docs/multinode.md on the emulated
# cluster, rerunnable on a quieter machine. For every link rate: up the cluster, then
#   - all-reduce, 64 KiB .. 64 MiB (x4), NODES x RPN ranks: tpbench's hierarchical, tpbench's
#     flat ring and the MPI library's, interleaved (round r starts at a different candidate);
#   - the 1D TP layer (block) with its TP group across the nodes (one rank per node), overlap
#     on and off interleaved by //bench:layers --rounds;
#   - (--what threshold) per collective of --coll (default all_reduce), tpbench's hierarchical
#     against the flat algorithms auto picks for it on one node and the ring (all_reduce:
#     recursive doubling, Rabenseifner, 4 KiB .. 1 MiB; all_gather: Bruck, recursive doubling;
#     reduce_scatter: recursive halving; both 4 KiB .. 4 MiB of the whole buffer; x2), all in
#     one job per round, the list's order rotated every round: where hierarchical starts to
#     win (auto's thresholds across nodes, patterns/auto_select.cc);
#   - (--what correctness) every collective and algorithm on ucx and mpi, 4 KiB .. 256 KiB
#     (x8), -n 2 -w 1, NODES x RPN ranks, then bench/check_results.py --expect-inter-node on
#     the results (every result exact; on ucx bytes across nodes = model; none on mpi);
# then down; finally tools/cluster/measure_summary.py prints the tables (medians, spread,
# busbw as a fraction of the link rate, the overlap gain with its Mann-Whitney p, the
# threshold's winners, the correctness counts).
#
#   bazel build //bench:collectives //bench:layers
#   tools/cluster/measure.sh --out /tmp/mn --links 1gbit,10gbit --rounds 5
#
# Needs root and a machine where `tools/cluster/check` passes, and no cluster already up under
# the prefix (TPBENCH_CLUSTER_PREFIX, default tpb). Every run's load average is logged next
# to its results (DIR/runs.log); the summary repeats it.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
out="" links="1gbit" nodes=2 rpn=2 rounds=3 layer_rounds=20 what="collectives,layers"
thr_colls="all_reduce"
coll_bin=$ROOT/bazel-bin/bench/collectives layers_bin=$ROOT/bazel-bin/bench/layers
check_bin=$ROOT/bazel-bin/bench/check_results
layer_args="--case block -n 5 -w 2"

usage() {
  cat >&2 <<EOF
usage: measure.sh --out DIR [--links RATE,...] [--nodes N] [--rpn R] [--rounds K]
                  [--layer-rounds K] [--what collectives,threshold,layers,correctness]
                  [--coll all_reduce,all_gather,reduce_scatter]
  --links        link rates to shape every node's link to, one cluster each (default 1gbit)
  --nodes/--rpn  nodes and ranks per node of the all-reduce runs (default 2 x 2)
  --rounds       interleaved rounds of the three all-reduce candidates (default 3)
  --layer-rounds rounds of the 1D layer, overlap on and off alternating (default 20)
  --what         a list of collectives, layers, threshold, correctness
                 (default collectives,layers)
  --coll         the collectives of --what threshold (default all_reduce)
  environment: TPBENCH_MEASURE_LAYER_ARGS replaces the layer's "$layer_args"
EOF
  exit 2
}

while (($#)); do
  case $1 in
    --out) out=${2:?}; shift 2 ;;
    --links) links=${2:?}; shift 2 ;;
    --nodes) nodes=${2:?}; shift 2 ;;
    --rpn) rpn=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --layer-rounds) layer_rounds=${2:?}; shift 2 ;;
    --what) what=${2:?}; shift 2 ;;
    --coll) thr_colls=${2:?}; shift 2 ;;
    *) echo "measure: error: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ -n $out ]] || { echo "measure: error: --out DIR is required" >&2; usage; }
for w in ${what//,/ }; do
  [[ $w =~ ^(collectives|layers|threshold|correctness)$ ]] ||
    { echo "measure: error: --what '$w' is not collectives, layers, threshold or" \
        "correctness" >&2; exit 2; }
done
for c in ${thr_colls//,/ }; do
  [[ $c =~ ^(all_reduce|all_gather|reduce_scatter)$ ]] ||
    { echo "measure: error: --coll '$c' is not all_reduce, all_gather or reduce_scatter" >&2
      exit 2; }
done
for v in nodes rpn rounds layer_rounds; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "measure: error: --${v//_/-} '${!v}' is not a positive number" >&2; exit 2; }
done
for b in "$coll_bin" "$layers_bin" "$check_bin"; do
  [[ -x $b ]] || { echo "measure: error: $b is not built (bazel build //bench:collectives" \
    "//bench:layers //bench:check_results)" >&2; exit 2; }
done
layer_args=${TPBENCH_MEASURE_LAYER_ARGS:-$layer_args}
mkdir -p "$out"
cluster=$HERE/cluster.sh

log_run() {  # log_run <file> <what>: one line per run with the load average before it
  echo "$(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) $2 -> $1" >> "$out/runs.log"
}

run_collectives() {  # run_collectives <link>
  local link=$1 np=$((nodes * rpn)) cands=(hierarchical ring mpi) r i c f
  for ((r = 0; r < rounds; r++)); do
    for ((i = 0; i < 3; i++)); do
      c=${cands[$(((r + i) % 3))]}
      f=$out/coll_${link}_${nodes}x${rpn}_${c}_r$r.json
      local args=(--backend ucx --algo "$c")
      [[ $c == mpi ]] && args=(--backend mpi)
      log_run "$f" "all_reduce $c ${nodes}x$rpn link $link round $r"
      "$coll_bin" --np $np --hosts cluster --ranks-per-node "$rpn" "${args[@]}" --coll all_reduce \
        -b 64K -e 64M -f 4 -w 2 --inplace 0 --benchmark_out="$f" > "$f.log" 2>&1 ||
        { echo "measure: error: $c round $r at $link failed; see $f.log" >&2; exit 1; }
    done
  done
}

thr_algos() {  # thr_algos <coll>: hierarchical, the flat ones auto picks on one node, ring
  case $1 in
    all_reduce) echo "hierarchical recursive_doubling rabenseifner ring 1M" ;;
    all_gather) echo "hierarchical bruck recursive_doubling ring 4M" ;;
    reduce_scatter) echo "hierarchical recursive_halving ring 4M" ;;
  esac
}

run_threshold() {  # run_threshold <link>: per collective every algorithm in one run, rotated
  local link=$1 np=$((nodes * rpn)) coll r i list f algos n end
  for coll in ${thr_colls//,/ }; do
    read -r -a algos <<< "$(thr_algos "$coll")"
    end=${algos[-1]} n=$((${#algos[@]} - 1))
    for ((r = 0; r < rounds; r++)); do
      list=""
      for ((i = 0; i < n; i++)); do list+=${list:+,}${algos[$(((r + i) % n))]}; done
      f=$out/thr_${link}_${nodes}x${rpn}_${coll}_r$r.json
      log_run "$f" "$coll $list 4K..$end ${nodes}x$rpn link $link round $r"
      "$coll_bin" --np $np --hosts cluster --ranks-per-node "$rpn" --backend ucx --algo "$list" \
        --coll "$coll" -b 4K -e "$end" -f 2 -w 2 --inplace 0 --benchmark_out="$f" > "$f.log" 2>&1 ||
        { echo "measure: error: threshold $coll round $r at $link failed; see $f.log" >&2; exit 1; }
    done
  done
}

run_correctness() {  # run_correctness <link>: every collective and algorithm, ucx and mpi
  local link=$1 np=$((nodes * rpn)) f
  f=$out/corr_${link}_${nodes}x${rpn}.json
  log_run "$f" "correctness every collective and algorithm, ucx,mpi ${nodes}x$rpn link $link"
  SECONDS=0
  "$coll_bin" --np $np --hosts cluster --ranks-per-node "$rpn" --backend ucx,mpi --coll all \
    --algo all -b 4K -e 256K -f 8 -n 2 -w 1 --benchmark_out="$f" > "$f.log" 2>&1 ||
    { echo "measure: error: correctness at $link failed; see $f.log" >&2; exit 1; }
  echo "$(date -u +%FT%TZ) took ${SECONDS} s -> $f" >> "$out/runs.log"
  "$check_bin" --expect-inter-node "$f" > "$f.check" 2>&1 ||
    { echo "measure: error: check_results --expect-inter-node failed; see $f.check" >&2; exit 1; }
}

run_layers() {  # run_layers <link>: the TP group of 2 spans the 2 first nodes, 1 rank each
  local link=$1 f
  f=$out/layers_${link}.json
  log_run "$f" "layers 1d overlap both, $layer_rounds rounds, link $link ($layer_args)"
  # shellcheck disable=SC2086
  "$layers_bin" --np 2 --hosts cluster --ranks-per-node 1 --scheme 1d --overlap both \
    --rounds "$layer_rounds" $layer_args --benchmark_out="$f" > "$f.log" 2>&1 ||
    { echo "measure: error: the layer at $link failed; see $f.log" >&2; exit 1; }
}

IFS=, read -r -a link_list <<< "$links"
for link in "${link_list[@]}"; do
  # A cluster already up is reported by up (exit 2) and left alone; ours is taken down on
  # any exit from here on.
  "$cluster" up "$nodes" --link "$link"
  trap '"$cluster" down >/dev/null 2>&1 || true' EXIT
  # shellcheck disable=SC1090
  source "/run/tpbench-cluster-${TPBENCH_CLUSTER_PREFIX:-tpb}/env"
  [[ ,$what, == *,collectives,* ]] && run_collectives "$link"
  [[ ,$what, == *,layers,* ]] && run_layers "$link"
  [[ ,$what, == *,threshold,* ]] && run_threshold "$link"
  [[ ,$what, == *,correctness,* ]] && run_correctness "$link"
  "$cluster" down
done
trap - EXIT
/usr/bin/python3 "$HERE/measure_summary.py" "$out"
