// patterns/allreduce_ring.cc: all_reduce "ring": segmented ring reduce-scatter followed by a
// ring all-gather. Bandwidth optimal: each rank sends 2S - |block r| - |block r+1| bytes
// (2(n-1)/n S when n divides the count) in 2(n-1) steps. Partials are written straight into
// recv (3-operand reduction with the rank's own input), so out of place costs no copy.
#include "comm/coll.h"
#include "patterns/internal/ring_phases.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"
#include "patterns/schedule/ring.h"

namespace tpbench {
namespace {

constexpr int kTagReduceScatter = 1;
constexpr int kTagAllGather = 2;

void AllReduceRing(P2P& p, const CollArgs& a) {
  const int n = p.size(), r = p.rank();
  const size_t es = a.elem_size();
  char* recv = static_cast<char*>(a.recv);
  if (n == 1 || a.count == 0) {
    internal::CopyUnlessSame(p, recv, a.send, a.count * es);
    return;
  }
  const BlockPartition part{a.count, n};
  // Phase 1: reduce-scatter; rank r ends with block r complete in recv.
  internal::RingReduceScatterArgs rs;
  rs.src = static_cast<const char*>(a.send);
  rs.partial = recv;
  rs.out = recv + part.Offset(r) * es;
  rs.part = part;
  rs.dtype = a.dtype;
  rs.op = a.op;
  rs.r = r, rs.n = n, rs.left = RingLeft(r, n), rs.right = RingRight(r, n);
  rs.tag = kTagReduceScatter;
  internal::RingReduceScatter(p, rs);
  // Phase 2: all-gather the complete blocks around the same ring.
  internal::RingAllGather(p, recv, part, es, r, n, RingLeft(r, n), RingRight(r, n), kTagAllGather);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kAllReduce, "ring",
                           "segmented ring reduce-scatter + ring all-gather (large messages)",
                           AllReduceRing);

}  // namespace tpbench
