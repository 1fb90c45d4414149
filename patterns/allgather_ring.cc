// patterns/allgather_ring.cc: all_gather "ring": n-1 steps, each rank forwards the block it
// received last to its right neighbour. Bandwidth optimal ((n-1) count elements sent per
// rank); every block is received straight into its place in recv.
#include "comm/coll.h"
#include "patterns/internal/ring_phases.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"
#include "patterns/schedule/ring.h"

namespace tpbench {
namespace {

constexpr int kTag = 0;

void AllGatherRing(P2P& p, const CollArgs& a) {
  const int n = p.size(), r = p.rank();
  const size_t es = a.elem_size(), blk = a.count * es;
  char* recv = static_cast<char*>(a.recv);
  if (blk == 0) return;
  // This rank's own block goes to its place first (a no-op in place).
  internal::CopyUnlessSame(p, recv + r * blk, a.send, blk);
  // n-1 ring steps over blocks of `count` elements.
  const BlockPartition part{a.count * n, n};
  internal::RingAllGather(p, recv, part, es, r, n, RingLeft(r, n), RingRight(r, n), kTag);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kAllGather, "ring", "ring all-gather, n-1 steps (large messages)",
                           AllGatherRing);

}  // namespace tpbench
