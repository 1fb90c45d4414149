#!/usr/bin/env bash
# tools/cluster/cluster.sh: an emulated cluster on one Linux machine, for multi-node runs and
# tests (docs/multinode.md). Each "node" is a network namespace with one veth on a bridge that
# has no uplink; mpirun enters a node through tools/cluster/agent, which also gives the ranks
# the node's own hostname (UTS namespace), PID and IPC namespaces, so UCX and Open MPI pick tcp
# between nodes and shared memory inside one, exactly as on a real cluster.
#
#   tools/cluster/up 2 --link 10gbit          # nodes tpbn0, tpbn1 at 198.18.0.10, .11 (a delay,
#                                             # 10gbit,50us, needs netem in the kernel)
#   source /run/tpbench-cluster-tpb/env       # TPBENCH_HOSTS, TPBENCH_RSH_AGENT, ...
#   bazel-bin/bench/collectives --np 4 --hosts cluster --ranks-per-node 2
#   tools/cluster/degrade 1 1gbit             # shape node 1's link down (a bad link)
#   tools/cluster/down                        # removes everything up created
#
# Safety: every address is in the benchmarking range 198.18.0.0/15 (RFC 2544), the bridge has
# no uplink and the namespaces no default route, so no packet leaves the machine; nothing is
# forwarded. Every object carries the prefix "tpb" and is listed in the state directory; down
# removes what the state lists and anything else with the prefix (also after a crash).
# Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN): `cluster.sh check` says whether it can run.
set -euo pipefail

# Several clusters can coexist (a developer's and a test's) under different prefixes and
# subnets: TPBENCH_CLUSTER_PREFIX (default tpb), TPBENCH_CLUSTER_NET (default 198.18.0, a /24
# inside 198.18.0.0/15).
PREFIX=${TPBENCH_CLUSTER_PREFIX:-tpb}
NET=${TPBENCH_CLUSTER_NET:-198.18.0}
STATE=/run/tpbench-cluster-$PREFIX
BRIDGE=${PREFIX}br0
[[ $PREFIX =~ ^[a-z]{1,6}$ ]] || { echo "cluster: error: TPBENCH_CLUSTER_PREFIX '$PREFIX' is not 1..6 letters" >&2; exit 2; }
[[ $NET =~ ^198\.(18|19)\.[0-9]{1,3}$ ]] ||
  { echo "cluster: error: TPBENCH_CLUSTER_NET '$NET' is not a /24 of 198.18.0.0/15" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MAX_NODES=16

die() { echo "cluster: error: $*" >&2; exit 2; }

# check: exit 0 when this machine lets us create namespaces, links and qdiscs; else say why.
check() {
  [[ $(id -u) == 0 ]] || { echo "cluster: not root"; return 1; }
  for t in ip tc unshare; do command -v $t >/dev/null || { echo "cluster: $t missing"; return 1; }; done
  local probe=${PREFIX}probe$$
  if ! ip netns add $probe 2>/dev/null; then echo "cluster: cannot create network namespaces"; return 1; fi
  local ok=0
  ip -n $probe link set lo up 2>/dev/null || ok=1
  ip netns exec $probe tc qdisc add dev lo root tbf rate 1gbit burst 64kb latency 10ms \
    2>/dev/null || { echo "cluster: cannot shape links with tc (tbf)"; ok=1; }
  ip netns exec $probe unshare --uts --ipc --pid --fork --mount-proc true 2>/dev/null ||
    { echo "cluster: cannot create UTS/IPC/PID namespaces"; ok=1; }
  ip netns del $probe 2>/dev/null || true
  return $ok
}

# Validates RATE[,DELAY] (exit 2 naming what is wrong; exit 3 when this kernel cannot delay).
check_link() {
  local spec=$1 rate delay=""
  rate=${spec%%,*}
  [[ $spec == *,* ]] && delay=${spec#*,}
  [[ $rate =~ ^[0-9]+(\.[0-9]+)?(bit|kbit|mbit|gbit)$ ]] || die "link rate '$rate' is not like 10gbit"
  [[ -z $delay || $delay =~ ^[0-9]+(\.[0-9]+)?(us|ms)$ ]] || die "link delay '$delay' is not like 50us"
  if [[ -n $delay ]] && ! have_netem; then
    echo "cluster: error: a link delay needs the kernel's netem qdisc (CONFIG_NET_SCH_NETEM)," \
      "which this kernel lacks; shape the rate only (e.g. --link $rate)" >&2
    exit 3
  fi
}

have_netem() {
  local probe=${PREFIX}probe$$ ok=1
  ip netns add $probe 2>/dev/null || return 1
  ip -n $probe link set lo up && ip netns exec $probe tc qdisc add dev lo root netem delay 1us \
    2>/dev/null && ok=0
  ip netns del $probe 2>/dev/null || true
  return $ok
}

# RATE[,DELAY] on a node's eth0: tbf for the rate, netem (when the kernel has it) for the delay.
shape() {  # shape <netns> <rate>[,<delay>]
  local ns=$1 spec=$2 rate delay=""
  check_link "$spec"
  rate=${spec%%,*}
  [[ $spec == *,* ]] && delay=${spec#*,}
  # Both directions of the node's link: its eth0 (out of the node) and the bridge side of its
  # veth (into the node).
  local veth=${PREFIX}v${ns#"${PREFIX}"n}
  for side in "ip netns exec $ns tc qdisc %s dev eth0" "tc qdisc %s dev $veth"; do
    # shellcheck disable=SC2059
    $(printf "$side" del) root 2>/dev/null || true
    if [[ -n $delay ]]; then
      $(printf "$side" add) root handle 1: netem delay "$delay"
      $(printf "$side" add) parent 1:1 handle 10: tbf rate "$rate" burst 256kb latency 50ms
    else
      $(printf "$side" add) root tbf rate "$rate" burst 256kb latency 50ms
    fi
  done
  echo "$spec" > "$STATE/link.$ns"
}

existing() {  # what of ours exists now
  { ip netns list 2>/dev/null | awk '{print $1}' | grep "^${PREFIX}n" || true
    ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^${PREFIX}" || true; } |
    sort -u
}

up() {
  local n=${1:-}; shift || true
  local link=""
  while (($#)); do
    case $1 in
      --link) link=${2:?--link needs RATE[,DELAY]}; shift 2 ;;
      *) die "up: unknown argument '$1'" ;;
    esac
  done
  [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le $MAX_NODES ]] || die "up N: N must be 1..$MAX_NODES"
  local have
  have=$(existing)
  if [[ -n $have ]]; then
    echo "cluster: already up (run tools/cluster/down first); existing: $(echo $have)" >&2
    exit 2
  fi
  check >/dev/null || { check; exit 3; }
  [[ -z $link ]] || check_link "$link"
  mkdir -p "$STATE"
  # Whatever stops up half-way (a failing command, a signal), nothing stays half-created.
  trap 'echo "cluster: up failed; removing what it made" >&2; down >/dev/null 2>&1' EXIT
  ip link add $BRIDGE type bridge
  echo "link $BRIDGE" >> "$STATE/objects"
  ip addr add $NET.1/24 dev $BRIDGE
  ip link set $BRIDGE up
  local hosts=""
  for ((i = 0; i < n; i++)); do
    ip netns add ${PREFIX}n$i
    echo "netns ${PREFIX}n$i" >> "$STATE/objects"
    ip link add ${PREFIX}v$i type veth peer name eth0 netns ${PREFIX}n$i
    ip link set ${PREFIX}v$i master $BRIDGE
    ip link set ${PREFIX}v$i up
    ip -n ${PREFIX}n$i addr add $NET.$((10 + i))/24 dev eth0
    ip -n ${PREFIX}n$i link set eth0 up
    ip -n ${PREFIX}n$i link set lo up
    if [[ -n $link ]]; then shape ${PREFIX}n$i "$link"; fi
    hosts+="${hosts:+,}$NET.$((10 + i))"
  done
  cat > "$STATE/env" <<EOF
# source me: the emulated cluster of tools/cluster/up ($n nodes${link:+, links $link})
export TPBENCH_HOSTS=$hosts
export TPBENCH_RSH_AGENT=$HERE/agent
export TPBENCH_CLUSTER_PREFIX=$PREFIX
export TPBENCH_CLUSTER_NET=$NET
export TPBENCH_NET=$NET.0/24
export TPBENCH_UCX_NET_DEVICES=eth0
# The nodes share this machine's cores: ranks wait by blocking, never by spinning.
export TPBENCH_BLOCKING_PROGRESS=1
EOF
  trap - EXIT
  echo "cluster: $n nodes up (${hosts}), links ${link:-unshaped}; source $STATE/env"
}

down() {
  local removed=0
  if [[ -f $STATE/objects ]]; then
    while read -r kind name; do
      case $kind in
        netns) ip netns del "$name" 2>/dev/null && removed=$((removed + 1)) || true ;;
        link) ip link del "$name" 2>/dev/null && removed=$((removed + 1)) || true ;;
      esac
    done < "$STATE/objects"
  fi
  # Anything else of ours (a crash between creating an object and recording it).
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${PREFIX}n" || true); do
    ip netns del "$ns" && removed=$((removed + 1))
  done
  for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^${PREFIX}" || true); do
    ip link del "$l" 2>/dev/null && removed=$((removed + 1)) || true
  done
  rm -rf "$STATE"
  echo "cluster: down ($removed objects removed)"
}

degrade() {  # degrade NODE RATE[,DELAY]
  local node=${1:?degrade NODE RATE[,DELAY]} spec=${2:?degrade NODE RATE[,DELAY]}
  [[ $node =~ ^[0-9]+$ ]] || die "degrade: node '$node' is not a node number"
  ip netns list | awk '{print $1}' | grep -qx "${PREFIX}n$node" || die "degrade: no node $node (is the cluster up?)"
  shape ${PREFIX}n$node "$spec"
  echo "cluster: node $node's link is now $spec"
}

status() {
  local have
  have=$(existing)
  if [[ -z $have ]]; then echo "cluster: down"; return 0; fi
  echo "cluster: up: $(echo $have)"
  for f in "$STATE"/link.*; do [[ -f $f ]] && echo "  ${f##*/link.}: $(cat "$f")"; done
  return 0
}

cmd=${1:-}
shift || true
case $cmd in
  up) up "$@" ;;
  down) down ;;
  degrade) degrade "$@" ;;
  status) status ;;
  check) check && echo "cluster: this machine can run an emulated cluster" ;;
  *) echo "usage: cluster.sh up N [--link RATE[,DELAY]] | down | degrade NODE RATE[,DELAY] | status | check" >&2
     exit 2 ;;
esac
