// patterns/reduce_binomial.cc: reduce "binomial": partials flow up a binomial tree rooted at
// `root`, ceil(log2 n) steps; each node combines its children smallest subtree first.
#include "comm/coll.h"
#include "patterns/internal/binomial.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"

namespace tpbench {
namespace {

constexpr int kTag = 0;

void ReduceBinomial(P2P& p, const CollArgs& a) {
  if (a.count == 0) return;
  const bool is_root = p.rank() == a.root;
  if (p.size() == 1) {
    internal::CopyUnlessSame(p, a.recv, a.send, a.count * a.elem_size());
    return;
  }
  // The root accumulates in recv; other ranks in scratch (their recv may be null).
  internal::BinomialReduce(p, static_cast<const char*>(a.send),
                           is_root ? static_cast<char*>(a.recv) : nullptr, a.count, a.dtype, a.op,
                           a.root, kTag);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kReduce, "binomial", "binomial tree to the root", ReduceBinomial);

}  // namespace tpbench
