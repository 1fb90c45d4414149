// patterns/allreduce_throwaway_star.cc: all_reduce "throwaway_star", the algorithm that
// docs/architecture.md adds step by step ("Adding an algorithm"), built only into
// //patterns:throwaway_algorithm_test. Every rank sends its vector to rank 0 (n-1 messages of
// S bytes arrive there), rank 0 reduces in rank order and sends the result back: rank 0 sends
// (n-1) S bytes in n-1 messages, every other rank S bytes in one.
#include "comm/coll.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"

namespace tpbench {
namespace {

constexpr int kTagUp = 0;
constexpr int kTagDown = 1;

void AllReduceThrowawayStar(P2P& p, const CollArgs& a) {
  const size_t bytes = a.count * a.elem_size();
  char* recv = static_cast<char*>(a.recv);
  internal::CopyUnlessSame(p, recv, a.send, bytes);
  if (p.size() == 1 || bytes == 0) return;
  if (p.rank() != 0) {
    // Phase 1: my vector up to rank 0. Phase 2: the result back.
    p.Send(recv, bytes, 0, kTagUp);
    p.Recv(recv, bytes, 0, kTagDown);
    return;
  }
  // Rank 0, phase 1: reduce everyone's vector into mine, in rank order.
  char* tmp = p.Scratch(bytes);
  for (int r = 1; r < p.size(); ++r) {
    p.Recv(tmp, bytes, r, kTagUp);
    p.Reduce(recv, recv, tmp, a.count, a.dtype, a.op);
  }
  // Phase 2: the result to everyone.
  for (int r = 1; r < p.size(); ++r) p.Send(recv, bytes, r, kTagDown);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kAllReduce, "throwaway_star",
                           "test only: gather to rank 0, reduce, send back (docs/architecture.md)",
                           AllReduceThrowawayStar);

}  // namespace tpbench
