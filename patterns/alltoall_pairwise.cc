// patterns/alltoall_pairwise.cc: all_to_all "pairwise": n-1 steps, at step k send to r+k
// and receive from r-k; (n-1) count elements sent per rank, one peer pair per step.
#include "comm/coll.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"
#include "patterns/schedule/pairwise.h"

namespace tpbench {
namespace {

constexpr int kTag = 0;

void AllToAllPairwise(P2P& p, const CollArgs& a) {
  const int n = p.size(), r = p.rank();
  const size_t blk = a.count * a.elem_size();
  if (blk == 0) return;
  char* recv = static_cast<char*>(a.recv);
  const char* src = static_cast<const char*>(a.send);
  // In place (send == recv): keep the input intact in scratch while blocks arrive.
  if (src == recv) {
    char* copy = p.Scratch(n * blk, 1);
    p.Copy(copy, src, n * blk);
    src = copy;
  }
  internal::CopyUnlessSame(p, recv + r * blk, src + r * blk, blk);
  for (int k = 1; k < n; ++k) {
    // Step k: block for r+k out, block from r-k in.
    const PairwiseStep s = PairwiseExchangeStep(r, n, k);
    p.SendRecv(src + s.send_to * blk, blk, s.send_to, recv + s.recv_from * blk, blk, s.recv_from,
               kTag);
  }
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kAllToAll, "pairwise", "pairwise exchange, n-1 steps", AllToAllPairwise);

}  // namespace tpbench
