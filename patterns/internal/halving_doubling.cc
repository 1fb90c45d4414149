// patterns/internal/halving_doubling.cc: recursive halving and recursive doubling phases.
#include "patterns/internal/halving_doubling.h"

namespace tpbench {
namespace internal {

void RecursiveHalving(P2P& p, const Fold& f, int nr, const std::vector<size_t>& group,
                      const char* src, char* work, DataType t, ReduceOp op, int tag, char* last_dst,
                      size_t last_skip) {
  if (f.steps == 0) return;
  const size_t es = DataTypeSize(t);
  // The first step keeps the largest range; later ones keep parts of it.
  const HalvingStep h0 = RecursiveHalvingStep(nr, f.pof2, 0);
  char* tmp = p.Scratch(group[h0.keep_hi] - group[h0.keep_lo], 0);
  const char* cur = src;
  for (int s = 0; s < f.steps; ++s) {
    // Step s: send the half of the window the partner keeps, receive its data for ours.
    const HalvingStep h = RecursiveHalvingStep(nr, f.pof2, s);
    const size_t keep_off = group[h.keep_lo], keep_len = group[h.keep_hi] - keep_off;
    const size_t send_off = group[h.send_lo], send_len = group[h.send_hi] - send_off;
    p.SendRecv(cur + send_off, send_len, f.OldRank(h.partner), tmp, keep_len, f.OldRank(h.partner),
               tag + s);
    const char* lhs = nr < h.partner ? cur + keep_off : tmp;
    const char* rhs = nr < h.partner ? tmp : cur + keep_off;
    if (s == f.steps - 1 && last_dst != nullptr) {
      p.Reduce(work + keep_off, lhs, rhs, last_skip / es, t, op);
      p.Reduce(last_dst, lhs + last_skip, rhs + last_skip, (keep_len - last_skip) / es, t, op);
    } else {
      p.Reduce(work + keep_off, lhs, rhs, keep_len / es, t, op);
    }
    cur = work;
  }
}

void RecursiveDoublingGather(P2P& p, const Fold& f, int nr, const std::vector<size_t>& group,
                             char* buf, int tag) {
  for (int s = 0; s < f.steps; ++s) {
    // Step s: swap windows of 2^s groups with the partner.
    const DoublingStep d = RecursiveDoublingStep(nr, s);
    p.SendRecv(buf + group[d.have_lo], group[d.have_hi] - group[d.have_lo], f.OldRank(d.partner),
               buf + group[d.recv_lo], group[d.recv_hi] - group[d.recv_lo], f.OldRank(d.partner),
               tag + s);
  }
}

}  // namespace internal
}  // namespace tpbench
