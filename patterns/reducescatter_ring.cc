// patterns/reducescatter_ring.cc: reduce_scatter "ring": the segmented ring reduce-scatter;
// n-1 steps, (n-1) count elements sent per rank. Partials live in two scratch blocks; the
// final block is reduced straight into recv.
#include "comm/coll.h"
#include "patterns/internal/ring_phases.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"
#include "patterns/schedule/ring.h"

namespace tpbench {
namespace {

constexpr int kTag = 0;

void ReduceScatterRing(P2P& p, const CollArgs& a) {
  const int n = p.size(), r = p.rank();
  if (a.count == 0) return;
  if (n == 1) {
    internal::CopyUnlessSame(p, a.recv, a.send, a.count * a.elem_size());
    return;
  }
  internal::RingReduceScatterArgs rs;
  rs.src = static_cast<const char*>(a.send);
  rs.partial = nullptr;  // the send buffer is read-only: stage partials in scratch
  rs.out = static_cast<char*>(a.recv);
  rs.part = BlockPartition{a.count * n, n};
  rs.dtype = a.dtype;
  rs.op = a.op;
  rs.r = r, rs.n = n, rs.left = RingLeft(r, n), rs.right = RingRight(r, n);
  rs.tag = kTag;
  internal::RingReduceScatter(p, rs);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kReduceScatter, "ring",
                           "segmented ring reduce-scatter, n-1 steps (large messages)",
                           ReduceScatterRing);

}  // namespace tpbench
