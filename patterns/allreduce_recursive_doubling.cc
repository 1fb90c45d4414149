// patterns/allreduce_recursive_doubling.cc: all_reduce "recursive_doubling": log2(p) steps
// exchanging the whole vector with partner nr ^ 2^s; non-powers of two fold the extra ranks
// into their neighbour first (one extra step each way). Latency optimal for small messages.
// Every pair combines with the lower new rank's data as the left operand, so all ranks end
// with bit-identical results.
#include "comm/coll.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"
#include "patterns/schedule/recursive_doubling.h"

namespace tpbench {
namespace {

constexpr int kTagFold = 0;
constexpr int kTagUnfold = 1;
constexpr int kTagStep = 2;  // + step

void AllReduceRecursiveDoubling(P2P& p, const CollArgs& a) {
  const int n = p.size(), r = p.rank();
  const size_t bytes = a.count * a.elem_size();
  char* recv = static_cast<char*>(a.recv);
  const char* cur = static_cast<const char*>(a.send);
  if (n == 1 || a.count == 0) {
    internal::CopyUnlessSame(p, recv, cur, bytes);
    return;
  }
  const Fold f(n);
  // Fold: an extra rank hands its vector to its proxy and waits for the result.
  if (f.IsExtra(r)) {
    p.Send(cur, bytes, r + 1, kTagFold);
    p.Recv(recv, bytes, r + 1, kTagUnfold);
    return;
  }
  char* tmp = p.Scratch(bytes, 0);
  if (f.IsProxy(r)) {
    p.Recv(tmp, bytes, r - 1, kTagFold);
    p.Reduce(recv, tmp, cur, a.count, a.dtype, a.op);  // the extra (r-1) is the left operand
    cur = recv;
  }
  const int nr = f.NewRank(r);
  for (int s = 0; s < f.steps; ++s) {
    // Step s: swap the whole vector with new rank nr ^ 2^s and combine in rank order.
    const int partner = nr ^ (1 << s);
    const int peer = f.OldRank(partner);
    p.SendRecv(cur, bytes, peer, tmp, bytes, peer, kTagStep + s);
    if (nr < partner) {
      p.Reduce(recv, cur, tmp, a.count, a.dtype, a.op);
    } else {
      p.Reduce(recv, tmp, cur, a.count, a.dtype, a.op);
    }
    cur = recv;
  }
  // Unfold: give the extra rank the result.
  if (f.IsProxy(r)) p.Send(recv, bytes, r - 1, kTagUnfold);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kAllReduce, "recursive_doubling",
                           "recursive doubling, whole vector per step (small messages)",
                           AllReduceRecursiveDoubling);

}  // namespace tpbench
