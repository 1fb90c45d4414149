// patterns/allgather_bruck.cc: all_gather "bruck": ceil(log2 n) steps for any n, each rank
// sending its first min(2^k, n-2^k) rotated blocks to rank r-2^k. Latency optimal for small
// messages; works in a rotated scratch buffer and rotates into recv at the end.
#include "comm/coll.h"
#include "patterns/internal/util.h"
#include "patterns/registry.h"
#include "patterns/schedule/bruck.h"

namespace tpbench {
namespace {

constexpr int kTagStep = 0;  // + step

void AllGatherBruck(P2P& p, const CollArgs& a) {
  const int n = p.size(), r = p.rank();
  const size_t blk = a.count * a.elem_size();
  char* recv = static_cast<char*>(a.recv);
  if (blk == 0) return;
  if (n == 1) {
    internal::CopyUnlessSame(p, recv, a.send, blk);
    return;
  }
  // Slot j of the rotated buffer holds block (r + j) mod n; slot 0 is this rank's.
  char* rot = p.Scratch(n * blk, 1);
  p.Copy(rot, a.send, blk);
  for (int k = 0; k < BruckSteps(n); ++k) {
    // Step k: send slots [0, c) to r - 2^k, receive c slots from r + 2^k after the 2^k held.
    const BruckStep s = BruckAllGatherStep(r, n, k);
    p.SendRecv(rot, s.blocks * blk, s.send_to, rot + s.recv_at * blk, s.blocks * blk, s.recv_from,
               kTagStep + k);
  }
  // Un-rotate: slots [0, n-r) are blocks [r, n), slots [n-r, n) are blocks [0, r).
  p.Copy(recv + r * blk, rot, (n - r) * blk);
  p.Copy(recv, rot + (n - r) * blk, r * blk);
}

}  // namespace

TPBENCH_REGISTER_ALGORITHM(kAllGather, "bruck", "Bruck, ceil(log2 n) steps (small messages)",
                           AllGatherBruck);

}  // namespace tpbench
