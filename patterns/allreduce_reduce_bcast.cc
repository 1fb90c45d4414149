// patterns/allreduce_reduce_bcast.cc: all_reduce "reduce_bcast": binomial-tree reduce to
// rank 0, then binomial-tree broadcast of the result. 2 ceil(log2 n) steps for any n with no
// fold round trips, and the least total traffic of all (every rank sends the vector once up
// the tree; only tree nodes send it down), which matters when many ranks share few cores.
// One rank computes the result and everyone receives its bits: identical by construction.
#include "comm/coll.h"
#include "patterns/internal/binomial.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"

namespace tpbench {
namespace {

constexpr int kTagReduce = 0;
constexpr int kTagBroadcast = 1;

void AllReduceReduceBcast(P2P& p, const CollArgs& a) {
  const size_t bytes = a.count * a.elem_size();
  char* recv = static_cast<char*>(a.recv);
  if (p.size() == 1 || a.count == 0) {
    internal::CopyUnlessSame(p, recv, a.send, bytes);
    return;
  }
  // Phase 1: reduce to rank 0; recv is every rank's accumulator.
  internal::BinomialReduce(p, static_cast<const char*>(a.send), recv, a.count, a.dtype, a.op,
                           /*root=*/0, kTagReduce);
  // Phase 2: broadcast rank 0's result.
  internal::BinomialBroadcast(p, recv, recv, bytes, /*root=*/0, kTagBroadcast);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kAllReduce, "reduce_bcast",
                           "binomial reduce to rank 0 + binomial broadcast (small messages)",
                           AllReduceReduceBcast);

}  // namespace tpbench
