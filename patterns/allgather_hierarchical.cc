// patterns/allgather_hierarchical.cc: all_gather "hierarchical" for groups that span nodes:
// ring all-gather of each rank's block across nodes (among the ranks at the same position of
// every node), then ring all-gather inside each node of the N blocks every rank now holds.
// With L ranks on each of N nodes and blocks of B bytes, every rank sends (N-1) B across
// nodes and (L-1) N B inside its node, (n-1) B in all as the flat ring; a node's link carries
// L(N-1) B out of it, against (n-1) B from the boundary rank of a flat ring over n = LN
// node-major ranks (4/7 of it at 2 nodes x 4), and only N-1 of its steps wait on the network
// instead of n-1. The three-phase form (gather inside the node, all-gather across,
// all-gather inside) sends the same bytes over every link in more steps. Blocks are received
// straight into their place in recv, the group's rank order, whatever the placement of ranks
// on nodes (node-major, strided, any other). On one node, on nodes of unequal rank counts or
// with one rank per node it runs the flat ring ("ring").
#include <vector>

#include "comm/coll.h"
#include "patterns/internal/ring_phases.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"
#include "patterns/schedule/hierarchy.h"

namespace tpbench {
namespace {

constexpr int kTagCross = 1;
constexpr int kTagLocal = 2;

void AllGatherHierarchical(P2P& p, const CollArgs& a) {
  const Hierarchy h = HierarchyOf(internal::NodesOf(p), p.rank());
  if (!h.TwoLevel()) {
    FindAlgorithm(OpKind::kAllGather, "ring")->run(p, a);  // one level only
    return;
  }
  const size_t es = a.elem_size(), blk = a.count * es;
  char* recv = static_cast<char*>(a.recv);
  if (blk == 0) return;
  const int N = h.nodes, L = h.per_node, k = h.node_index, l = h.local;
  auto block = [&](int g) { return internal::Piece{recv + static_cast<size_t>(g) * blk, blk}; };
  // This rank's own block goes to its place first (a no-op in place).
  internal::CopyUnlessSame(p, recv + static_cast<size_t>(p.rank()) * blk, a.send, blk);
  // Phase 1: across nodes, the blocks of the ranks at position l of every node (bundle k':
  // node k''s block); this rank ends with all N of them.
  std::vector<std::vector<internal::Piece>> cross(static_cast<size_t>(N));
  for (int c = 0; c < N; ++c) cross[c] = {block(h.cross_ranks[c])};
  internal::RingAllGatherPieces(p, cross, es, k, N, h.cross_ranks[(k + N - 1) % N],
                                h.cross_ranks[(k + 1) % N], kTagCross);
  // Phase 2: inside the node, bundle j = the N blocks of position j; this rank has bundle l.
  std::vector<std::vector<internal::Piece>> local(static_cast<size_t>(L));
  for (int j = 0; j < L; ++j) {
    for (int c = 0; c < N; ++c) local[j].push_back(block(h.members[c][j]));
  }
  internal::RingAllGatherPieces(p, local, es, l, L, h.local_ranks[(l + L - 1) % L],
                                h.local_ranks[(l + 1) % L], kTagLocal);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kAllGather, "hierarchical",
                           "ring all-gather across nodes + ring all-gather in each node "
                           "(groups spanning nodes)",
                           AllGatherHierarchical);

}  // namespace tpbench
