// patterns/allreduce_rabenseifner.cc: all_reduce "rabenseifner": recursive-halving
// reduce-scatter then recursive-doubling all-gather over the p = 2^floor(log2 n) ranks left
// after folding the extras (Rabenseifner 2004, as in MPICH). 2 log2(p) steps and
// 2(p-1)/p S bytes per rank: medium messages. Each block is reduced on one rank only, so the
// result is bit-identical everywhere.
#include <vector>

#include "comm/coll.h"
#include "patterns/internal/halving_doubling.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"
#include "patterns/schedule/blocks.h"
#include "patterns/schedule/recursive_doubling.h"

namespace tpbench {
namespace {

constexpr int kTagFold = 0;
constexpr int kTagUnfold = 1;
constexpr int kTagHalving = 2;    // + step (< 32)
constexpr int kTagDoubling = 40;  // + step

void AllReduceRabenseifner(P2P& p, const CollArgs& a) {
  const int n = p.size(), r = p.rank();
  const size_t es = a.elem_size(), bytes = a.count * es;
  char* recv = static_cast<char*>(a.recv);
  const char* src = static_cast<const char*>(a.send);
  if (n == 1 || a.count == 0) {
    internal::CopyUnlessSame(p, recv, src, bytes);
    return;
  }
  const Fold f(n);
  // Fold: an extra rank hands its vector to its proxy and waits for the result.
  if (f.IsExtra(r)) {
    p.Send(src, bytes, r + 1, kTagFold);
    p.Recv(recv, bytes, r + 1, kTagUnfold);
    return;
  }
  if (f.IsProxy(r)) {
    char* tmp = p.Scratch(bytes, 0);
    p.Recv(tmp, bytes, r - 1, kTagFold);
    p.Reduce(recv, tmp, src, a.count, a.dtype, a.op);  // the extra (r-1) is the left operand
    src = recv;
  }
  // The vector is split into p nearly-equal groups, one per new rank.
  const BlockPartition part{a.count, f.pof2};
  std::vector<size_t> group(f.pof2 + 1);
  for (int g = 0; g <= f.pof2; ++g) group[g] = part.Offset(g) * es;
  const int nr = f.NewRank(r);
  // Phase 1: recursive halving; new rank nr ends with group nr reduced in recv.
  internal::RecursiveHalving(p, f, nr, group, src, recv, a.dtype, a.op, kTagHalving);
  // Phase 2: recursive doubling all-gather of the groups in recv.
  internal::RecursiveDoublingGather(p, f, nr, group, recv, kTagDoubling);
  // Unfold: give the extra rank the result.
  if (f.IsProxy(r)) p.Send(recv, bytes, r - 1, kTagUnfold);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kAllReduce, "rabenseifner",
                           "recursive-halving reduce-scatter + recursive-doubling all-gather",
                           AllReduceRabenseifner);

}  // namespace tpbench
