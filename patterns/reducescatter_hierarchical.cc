// patterns/reducescatter_hierarchical.cc: reduce_scatter "hierarchical" for groups that span
// nodes, the mirror of all_gather "hierarchical": ring reduce-scatter inside each node of
// bundles of N blocks (bundle j: the blocks of the ranks at position j of every node), then
// ring reduce-scatter across nodes of the bundle this rank holds summed over its node. With L
// ranks on each of N nodes and blocks of B bytes, every rank sends (L-1) N B inside its node
// and (N-1) B across nodes, (n-1) B in all as the flat ring; a node's link carries L(N-1) B
// out of it against (n-1) B from the boundary rank of a flat ring (4/7 of it at 2 x 4), and
// only N-1 of its steps wait on the network. The input is first copied into bundle order
// (scratch slot 2: one pass over n B, the price of contiguous blocks for the segmented ring);
// any placement of ranks on nodes works. On one node, on nodes of unequal rank counts or
// with one rank per node it runs the flat ring ("ring").
#include <vector>

#include "comm/coll.h"
#include "patterns/internal/ring_phases.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"
#include "patterns/schedule/hierarchy.h"

namespace tpbench {
namespace {

constexpr int kTagLocal = 1;
constexpr int kTagCross = 2;
constexpr int kPackSlot = 2;  // slots 0 and 1 belong to RingReduceScatter

// Ring reduce-scatter in place over `buf` (blocks of `part`); block r's sum lands in out.
void ReduceScatterIn(P2P& p, char* buf, const BlockPartition& part, char* out, const CollArgs& a,
                     int r, const std::vector<int>& ring, int tag) {
  const int n = static_cast<int>(ring.size());
  internal::RingReduceScatterArgs rs;
  rs.src = buf;
  rs.partial = buf;
  rs.out = out;
  rs.part = part;
  rs.dtype = a.dtype;
  rs.op = a.op;
  rs.r = r, rs.n = n, rs.left = ring[(r + n - 1) % n], rs.right = ring[(r + 1) % n];
  rs.tag = tag;
  internal::RingReduceScatter(p, rs);
}

void ReduceScatterHierarchical(P2P& p, const CollArgs& a) {
  const Hierarchy h = HierarchyOf(internal::NodesOf(p), p.rank());
  if (!h.TwoLevel()) {
    FindAlgorithm(OpKind::kReduceScatter, "ring")->run(p, a);  // one level only
    return;
  }
  const size_t es = a.elem_size(), blk = a.count * es;
  if (blk == 0) return;
  const int N = h.nodes, L = h.per_node;
  // Phase 0: the input in bundle order: bundle j holds the blocks of members[0..N-1][j].
  char* packed = p.Scratch(static_cast<size_t>(N * L) * blk, kPackSlot);
  const char* send = static_cast<const char*>(a.send);
  for (int j = 0; j < L; ++j) {
    for (int c = 0; c < N; ++c) {
      p.Copy(packed + static_cast<size_t>(j * N + c) * blk,
             send + static_cast<size_t>(h.members[c][j]) * blk, blk);
    }
  }
  // Phase 1: inside the node; bundle `local` lands summed over the node, in place.
  const BlockPartition bundles{a.count * static_cast<size_t>(N * L), L};
  char* mine = packed + bundles.Offset(h.local) * es;
  ReduceScatterIn(p, packed, bundles, mine, a, h.local, h.local_ranks, kTagLocal);
  // Phase 2: across nodes, that bundle's block of node k lands summed over all, in recv.
  ReduceScatterIn(p, mine, BlockPartition{a.count * static_cast<size_t>(N), N},
                  static_cast<char*>(a.recv), a, h.node_index, h.cross_ranks, kTagCross);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kReduceScatter, "hierarchical",
                           "ring reduce-scatter in each node + ring reduce-scatter across nodes "
                           "(groups spanning nodes)",
                           ReduceScatterHierarchical);

}  // namespace tpbench
