// patterns/broadcast_scatter_allgather.cc: broadcast "scatter_allgather": binomial scatter of
// n blocks from the root, then a ring all-gather (van de Geijn, as in MPICH for long
// messages). ~2 (n-1)/n S bytes per rank. Blocks are numbered by rank relative to the root;
// the root already holds everything, so it receives nothing in the ring and its left
// neighbour sends nothing.
#include "comm/coll.h"
#include "patterns/internal/ring_phases.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"
#include "patterns/schedule/binomial_tree.h"
#include "patterns/schedule/blocks.h"
#include "patterns/schedule/ring.h"

namespace tpbench {
namespace {

constexpr int kTagScatter = 0;
constexpr int kTagRing = 1;

void BroadcastScatterAllGather(P2P& p, const CollArgs& a) {
  const int n = p.size(), r = p.rank();
  const size_t es = a.elem_size();
  if (a.count == 0) return;
  char* buf = static_cast<char*>(a.recv);
  if (r == a.root) internal::CopyUnlessSame(p, buf, a.send, a.count * es);
  if (n == 1) return;
  const BlockPartition part{a.count, n};  // block v belongs to relative rank v
  const BinomialNode t = BinomialTreeNode(r, n, a.root);
  const int v = t.vrank;
  // Scatter: receive the blocks of this rank's subtree from the parent...
  if (t.parent >= 0)
    p.Recv(buf + part.Offset(v) * es, part.Span(v, t.vend) * es, t.parent, kTagScatter);
  // ...and pass each child the blocks of its subtree.
  internal::RequestList sends;
  for (int i = 0; i < t.num_children; ++i) {
    const BinomialChild& c = t.children[i];
    sends.Add(p.Isend(buf + part.Offset(c.vrank) * es, part.Span(c.vrank, c.vend) * es, c.rank,
                      kTagScatter));
  }
  sends.WaitAll(p);
  // All-gather around the ring of relative ranks (real neighbours r-1, r+1).
  internal::RingAllGather(p, buf, part, es, v, n, RingLeft(r, n), RingRight(r, n), kTagRing,
                          /*has_all=*/v == 0, /*skip_send=*/v == n - 1);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kBroadcast, "scatter_allgather",
                           "binomial scatter + ring all-gather (medium and large messages)",
                           BroadcastScatterAllGather);

}  // namespace tpbench
