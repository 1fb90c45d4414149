// patterns/reducescatter_recursive_halving.cc: reduce_scatter "recursive_halving": log2(p)
// steps, each sending half of the remaining window to partner nr ^ (p >> (s+1)); non-powers
// of two fold each extra rank's whole input into its proxy first and send it its block at
// the end. The last step reduces this rank's block straight into recv.
#include <vector>

#include "comm/coll.h"
#include "patterns/internal/halving_doubling.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"
#include "patterns/schedule/recursive_doubling.h"

namespace tpbench {
namespace {

constexpr int kTagFold = 0;
constexpr int kTagUnfold = 1;
constexpr int kTagStep = 2;  // + step

void ReduceScatterRecursiveHalving(P2P& p, const CollArgs& a) {
  const int n = p.size(), r = p.rank();
  const size_t blk = a.count * a.elem_size(), total = blk * n;
  char* recv = static_cast<char*>(a.recv);
  const char* src = static_cast<const char*>(a.send);
  if (blk == 0) return;
  if (n == 1) {
    internal::CopyUnlessSame(p, recv, src, blk);
    return;
  }
  const Fold f(n);
  // Fold: an extra rank hands its whole input to its proxy and waits for its block.
  if (f.IsExtra(r)) {
    p.Send(src, total, r + 1, kTagFold);
    p.Recv(recv, blk, r + 1, kTagUnfold);
    return;
  }
  char* work = p.Scratch(total, 1);
  if (f.IsProxy(r)) {
    char* tmp = p.Scratch(total, 0);
    p.Recv(tmp, total, r - 1, kTagFold);
    p.Reduce(work, tmp, src, a.count * n, a.dtype, a.op);  // the extra (r-1) on the left
    src = work;
  }
  // New rank g is responsible for the blocks of original ranks [First(g), First(g+1)).
  std::vector<size_t> group(f.pof2 + 1);
  for (int g = 0; g <= f.pof2; ++g) group[g] = f.First(g) * blk;
  // A proxy's group is (extra's block, own block): only its own block goes to recv.
  const size_t skip = f.IsProxy(r) ? blk : 0;
  internal::RecursiveHalving(p, f, f.NewRank(r), group, src, work, a.dtype, a.op, kTagStep, recv,
                             skip);
  // Unfold: give the extra rank its block.
  if (f.IsProxy(r)) p.Send(work + (r - 1) * blk, blk, r - 1, kTagUnfold);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kReduceScatter, "recursive_halving",
                           "recursive halving, log2 n steps (small and medium messages)",
                           ReduceScatterRecursiveHalving);

}  // namespace tpbench
