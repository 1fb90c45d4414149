#!/usr/bin/env bash
# tools/cluster/measure.sh: the multi-node measurements of docs/multinode.md on the emulated
# cluster, rerunnable on a quieter machine. For every link rate: up the cluster, then
#   - all-reduce, 64 KiB .. 64 MiB (x4), NODES x RPN ranks: tpbench's hierarchical, tpbench's
#     flat ring and the MPI library's, interleaved (round r starts at a different candidate);
#   - the 1D TP layer (block) with its TP group across the nodes (one rank per node), overlap
#     on and off interleaved by //bench:layers --rounds;
#   - (--what threshold) all-reduce, 4 KiB .. 1 MiB (x2), tpbench's hierarchical against the
#     flat algorithms auto picks on one node (recursive doubling, Rabenseifner) and the ring,
#     the list's order rotated every round: where hierarchical starts to win (auto's
#     threshold across nodes, patterns/auto_select.cc);
# then down; finally tools/cluster/measure_summary.py prints the tables (medians, spread,
# busbw as a fraction of the link rate, the overlap gain with its Mann-Whitney p, the
# threshold's winners).
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
coll_bin=$ROOT/bazel-bin/bench/collectives layers_bin=$ROOT/bazel-bin/bench/layers
layer_args="--case block -n 5 -w 2"

usage() {
  cat >&2 <<EOF
usage: measure.sh --out DIR [--links RATE,...] [--nodes N] [--rpn R] [--rounds K]
                  [--layer-rounds K] [--what collectives,threshold,layers]
  --links        link rates to shape every node's link to, one cluster each (default 1gbit)
  --nodes/--rpn  nodes and ranks per node of the all-reduce runs (default 2 x 2)
  --rounds       interleaved rounds of the three all-reduce candidates (default 3)
  --layer-rounds rounds of the 1D layer, overlap on and off alternating (default 20)
  --what         a list of collectives, layers, threshold (default collectives,layers)
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
    *) echo "measure: error: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ -n $out ]] || { echo "measure: error: --out DIR is required" >&2; usage; }
for w in ${what//,/ }; do
  [[ $w =~ ^(collectives|layers|threshold)$ ]] ||
    { echo "measure: error: --what '$w' is not collectives, layers or threshold" >&2; exit 2; }
done
for v in nodes rpn rounds layer_rounds; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "measure: error: --${v//_/-} '${!v}' is not a positive number" >&2; exit 2; }
done
for b in "$coll_bin" "$layers_bin"; do
  [[ -x $b ]] || { echo "measure: error: $b is not built (bazel build //bench:collectives //bench:layers)" >&2; exit 2; }
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
      "$coll_bin" --np $np --hosts cluster --ranks-per-node $rpn "${args[@]}" --coll all_reduce \
        -b 64K -e 64M -f 4 -w 2 --inplace 0 --benchmark_out="$f" > "$f.log" 2>&1 ||
        { echo "measure: error: $c round $r at $link failed; see $f.log" >&2; exit 1; }
    done
  done
}

run_threshold() {  # run_threshold <link>: every algorithm in one run, the order rotated
  local link=$1 np=$((nodes * rpn)) algos=(hierarchical recursive_doubling rabenseifner ring)
  local r i list f
  for ((r = 0; r < rounds; r++)); do
    list=""
    for ((i = 0; i < 4; i++)); do list+=${list:+,}${algos[$(((r + i) % 4))]}; done
    f=$out/thr_${link}_${nodes}x${rpn}_r$r.json
    log_run "$f" "all_reduce $list 4K..1M ${nodes}x$rpn link $link round $r"
    "$coll_bin" --np $np --hosts cluster --ranks-per-node $rpn --backend ucx --algo "$list" \
      --coll all_reduce -b 4K -e 1M -f 2 -w 2 --inplace 0 --benchmark_out="$f" > "$f.log" 2>&1 ||
      { echo "measure: error: threshold round $r at $link failed; see $f.log" >&2; exit 1; }
  done
}

run_layers() {  # run_layers <link>: the TP group of 2 spans the 2 first nodes, 1 rank each
  local link=$1 f=$out/layers_${link}.json
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
  "$cluster" down
done
trap - EXIT
/usr/bin/python3 "$HERE/measure_summary.py" "$out"
