// patterns/allgather_recursive_doubling.cc: all_gather "recursive_doubling": log2(p) steps
// doubling the held window; non-powers of two fold each extra rank's block into its proxy
// first and send the proxy's result back at the end.
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

void AllGatherRecursiveDoubling(P2P& p, const CollArgs& a) {
  const int n = p.size(), r = p.rank();
  const size_t blk = a.count * a.elem_size();
  char* recv = static_cast<char*>(a.recv);
  if (blk == 0) return;
  internal::CopyUnlessSame(p, recv + r * blk, a.send, blk);
  if (n == 1) return;
  const Fold f(n);
  // Fold: an extra rank gives its block to its proxy, then receives every other block.
  if (f.IsExtra(r)) {
    p.Send(a.send, blk, r + 1, kTagFold);
    Request rq[2] = {p.Irecv(recv, r * blk, r + 1, kTagUnfold),
                     p.Irecv(recv + (r + 1) * blk, (n - r - 1) * blk, r + 1, kTagUnfold)};
    p.WaitAll(rq, 2);
    return;
  }
  if (f.IsProxy(r)) p.Recv(recv + (r - 1) * blk, blk, r - 1, kTagFold);
  // New rank g holds the blocks of original ranks [First(g), First(g+1)).
  std::vector<size_t> group(f.pof2 + 1);
  for (int g = 0; g <= f.pof2; ++g) group[g] = f.First(g) * blk;
  internal::RecursiveDoublingGather(p, f, f.NewRank(r), group, recv, kTagStep);
  // Unfold: everything but the extra rank's own block goes back to it.
  if (f.IsProxy(r)) {
    Request rq[2] = {p.Isend(recv, (r - 1) * blk, r - 1, kTagUnfold),
                     p.Isend(recv + r * blk, (n - r) * blk, r - 1, kTagUnfold)};
    p.WaitAll(rq, 2);
  }
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kAllGather, "recursive_doubling",
                           "recursive doubling, log2 n steps (medium messages, powers of two)",
                           AllGatherRecursiveDoubling);

}  // namespace tpbench
