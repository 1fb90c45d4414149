// patterns/broadcast_binomial.cc: broadcast "binomial": the whole message down a binomial
// tree rooted at `root`, ceil(log2 n) steps (small messages).
#include "comm/coll.h"
#include "patterns/internal/binomial.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"

namespace tpbench {
namespace {

constexpr int kTag = 0;

void BroadcastBinomial(P2P& p, const CollArgs& a) {
  const size_t bytes = a.count * a.elem_size();
  if (bytes == 0) return;
  char* recv = static_cast<char*>(a.recv);
  const char* send = static_cast<const char*>(a.send);
  // The root's own copy (a no-op in place).
  if (p.rank() == a.root) internal::CopyUnlessSame(p, recv, send, bytes);
  internal::BinomialBroadcast(p, send, recv, bytes, a.root, kTag);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kBroadcast, "binomial", "binomial tree (small messages)",
                           BroadcastBinomial);

}  // namespace tpbench
