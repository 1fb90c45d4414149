// patterns/schedule/recursive_doubling.h: recursive doubling / halving over any world size.
//
// Non-powers of two are folded as MPICH and Open MPI do: with p the largest power of two
// <= n and rem = n - p, each even rank r < 2*rem is an "extra": it hands its data to its
// "proxy" r+1 before the power-of-two phase and gets the result back after it. The p
// remaining ranks take new ranks 0..p-1 (proxy r -> r/2, rank r >= 2*rem -> r - rem).
// New rank nr stands for the "group" of original ranks [First(nr), First(nr+1)): two ranks
// for nr < rem, one otherwise. Groups are contiguous and in rank order.
//
//   Fold f(n);
//   int nr = f.NewRank(r);                          // -1 for an extra rank
//   for (int s = 0; s < f.steps; ++s) {
//     HalvingStep h = RecursiveHalvingStep(nr, f.pof2, s);   // reduce-scatter
//     ... send groups [h.send_lo, h.send_hi) to f.OldRank(h.partner), keep [h.keep_lo, h.keep_hi)
//   }
//   for (int s = 0; s < f.steps; ++s) {
//     DoublingStep d = RecursiveDoublingStep(nr, s);          // all-gather
//     ... send groups [d.have_lo, d.have_hi), receive [d.recv_lo, d.recv_hi)
//   }
#ifndef TPBENCH_PATTERNS_SCHEDULE_RECURSIVE_DOUBLING_H_
#define TPBENCH_PATTERNS_SCHEDULE_RECURSIVE_DOUBLING_H_

namespace tpbench {

struct Fold {
  int n = 1;
  int pof2 = 1;   // largest power of two <= n
  int rem = 0;    // n - pof2 extra ranks
  int steps = 0;  // log2(pof2)

  explicit Fold(int world) : n(world) {
    while (pof2 * 2 <= n) pof2 *= 2, ++steps;
    rem = n - pof2;
  }
  // Even ranks below 2*rem drop out of the power-of-two phase.
  bool IsExtra(int r) const { return r < 2 * rem && r % 2 == 0; }
  // Odd ranks below 2*rem act for themselves and for r-1.
  bool IsProxy(int r) const { return r < 2 * rem && r % 2 == 1; }
  // The extra's proxy (r+1) or the proxy's extra (r-1); -1 for other ranks.
  int FoldPartner(int r) const { return r < 2 * rem ? (r ^ 1) : -1; }
  // Rank in the power-of-two phase; -1 for an extra rank.
  int NewRank(int r) const {
    if (r < 2 * rem) return r % 2 == 1 ? r / 2 : -1;
    return r - rem;
  }
  // Original rank of new rank nr.
  int OldRank(int nr) const { return nr < rem ? 2 * nr + 1 : nr + rem; }
  // First original rank of the group of new rank nr, 0 <= nr <= pof2 (First(pof2) == n).
  int First(int nr) const { return nr < rem ? 2 * nr : nr + rem; }
};

struct HalvingStep {
  int partner;           // new rank to exchange with
  int send_lo, send_hi;  // groups sent (the partner keeps them)
  int keep_lo, keep_hi;  // groups kept and combined with the partner's data
};

// Recursive-halving reduce-scatter step s in [0, log2 p) for new rank nr of p: the window
// of p >> s groups that nr is responsible for is halved; nr keeps the half that contains nr.
// After the last step nr keeps exactly group nr.
inline HalvingStep RecursiveHalvingStep(int nr, int p, int s) {
  const int mask = p >> (s + 1);
  const int lo = nr & ~(2 * mask - 1);
  HalvingStep h;
  h.partner = nr ^ mask;
  if (nr & mask) {
    h.keep_lo = lo + mask, h.keep_hi = lo + 2 * mask, h.send_lo = lo, h.send_hi = lo + mask;
  } else {
    h.keep_lo = lo, h.keep_hi = lo + mask, h.send_lo = lo + mask, h.send_hi = lo + 2 * mask;
  }
  return h;
}

struct DoublingStep {
  int partner;           // new rank to exchange with
  int have_lo, have_hi;  // groups this rank holds and sends
  int recv_lo, recv_hi;  // groups received from the partner
};

// Recursive-doubling all-gather step s in [0, log2 p): nr holds the 2^s groups of its
// aligned window and swaps it with the partner's window. After the last step nr holds all.
inline DoublingStep RecursiveDoublingStep(int nr, int s) {
  const int mask = 1 << s;
  const int partner = nr ^ mask;
  const int have = nr & ~(mask - 1), theirs = partner & ~(mask - 1);
  return {partner, have, have + mask, theirs, theirs + mask};
}

}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_SCHEDULE_RECURSIVE_DOUBLING_H_
