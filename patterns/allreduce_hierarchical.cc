// patterns/allreduce_hierarchical.cc: all_reduce "hierarchical" for groups that span nodes:
// ring reduce-scatter inside each node, ring all-reduce of each rank's block across nodes
// (the ranks at the same position of every node), ring all-gather inside each node. With L
// ranks on each of N nodes and S bytes (L and N dividing the count), every rank sends
// 2(L-1)/L S inside its node and 2(N-1)/N S/L across nodes, so a node's link carries
// 2(N-1)/N S out of it, against 2(n-1)/n S for a flat ring over n = LN node-major ranks (whose
// boundary rank sends it all): 4/7 of it for 2 nodes x 4. And only 2(N-1) of its steps wait
// on the network instead of 2(n-1). On one node, or on nodes of unequal rank counts, it runs
// the flat ring ("ring").
#include <vector>

#include "comm/coll.h"
#include "patterns/internal/ring_phases.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"
#include "patterns/schedule/hierarchy.h"

namespace tpbench {
namespace {

constexpr int kTagLocalReduceScatter = 1;
constexpr int kTagCrossReduceScatter = 2;
constexpr int kTagCrossAllGather = 3;
constexpr int kTagLocalAllGather = 4;

// A ring over `ranks` (group ranks), at this rank's position `r`.
struct SubRing {
  int r, n, left, right;
};
SubRing RingOver(const std::vector<int>& ranks, int r) {
  const int n = static_cast<int>(ranks.size());
  return {r, n, ranks[(r + n - 1) % n], ranks[(r + 1) % n]};
}

// Reduce-scatter of `count` elements from src over ring g: block g.r lands complete in
// `partial` (partial may be src: in place).
void ReduceScatterOver(P2P& p, const SubRing& g, const char* src, char* partial, size_t count,
                       const CollArgs& a, int tag) {
  internal::RingReduceScatterArgs rs;
  rs.part = BlockPartition{count, g.n};
  rs.src = src;
  rs.partial = partial;
  rs.out = partial + rs.part.Offset(g.r) * a.elem_size();
  rs.dtype = a.dtype;
  rs.op = a.op;
  rs.r = g.r, rs.n = g.n, rs.left = g.left, rs.right = g.right;
  rs.tag = tag;
  internal::RingReduceScatter(p, rs);
}

void AllReduceHierarchical(P2P& p, const CollArgs& a) {
  std::vector<int> node_of(static_cast<size_t>(p.size()));
  for (int r = 0; r < p.size(); ++r) node_of[r] = p.node(r);
  const Hierarchy h = HierarchyOf(node_of, p.rank());
  if (h.nodes <= 1 || !h.regular || h.per_node == 1) {
    FindAlgorithm(OpKind::kAllReduce, "ring")->run(p, a);  // one level only
    return;
  }
  const size_t es = a.elem_size();
  char* recv = static_cast<char*>(a.recv);
  if (a.count == 0) return;
  const SubRing local = RingOver(h.local_ranks, h.local);
  const SubRing cross = RingOver(h.cross_ranks, h.node_index);
  const BlockPartition local_part{a.count, local.n};
  // Phase 1: reduce-scatter inside the node; this rank ends with block `local` of the
  // node's sum in recv.
  ReduceScatterOver(p, local, static_cast<const char*>(a.send), recv, a.count, a,
                    kTagLocalReduceScatter);
  // Phase 2: all-reduce that block across nodes, in place.
  char* block = recv + local_part.Offset(h.local) * es;
  const size_t block_count = local_part.Size(h.local);
  if (block_count > 0) {
    ReduceScatterOver(p, cross, block, block, block_count, a, kTagCrossReduceScatter);
    internal::RingAllGather(p, block, BlockPartition{block_count, cross.n}, es, cross.r, cross.n,
                            cross.left, cross.right, kTagCrossAllGather);
  }
  // Phase 3: all-gather the node's blocks inside the node.
  internal::RingAllGather(p, recv, local_part, es, local.r, local.n, local.left, local.right,
                          kTagLocalAllGather);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kAllReduce, "hierarchical",
                           "ring reduce-scatter in each node + ring all-reduce across nodes + "
                           "ring all-gather in each node (groups spanning nodes)",
                           AllReduceHierarchical);

}  // namespace tpbench
