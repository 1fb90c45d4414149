// patterns/schedule/ring.h: who sends which block to whom at each step of a ring.
//
// Ring of n ranks; rank r sends to RingRight(r) and receives from RingLeft(r). Blocks are
// indexed like ranks (block b is the block rank b owns at the end of a reduce-scatter).
//
//   for (int k = 0; k < n - 1; ++k) {
//     RingStep s = RingReduceScatterStep(r, n, k);
//     // send (partial of) block s.send_block to the right, receive block s.recv_block
//     // from the left and combine it with this rank's contribution.
//   }
//   // now rank r holds block r complete; then the all-gather:
//   for (int k = 0; k < n - 1; ++k) { RingStep s = RingAllGatherStep(r, n, k); ... }
#ifndef TPBENCH_PATTERNS_SCHEDULE_RING_H_
#define TPBENCH_PATTERNS_SCHEDULE_RING_H_

namespace tpbench {

inline int PosMod(int a, int n) { return ((a % n) + n) % n; }
inline int RingRight(int r, int n) { return (r + 1) % n; }
inline int RingLeft(int r, int n) { return (r + n - 1) % n; }

struct RingStep {
  int send_block;  // sent to the right neighbour
  int recv_block;  // received from the left neighbour
};

// Reduce-scatter step k in [0, n-2]. Step 0 sends this rank's own contribution to block r-1;
// step k forwards the partial of block r-k-1 it combined at step k-1. After step n-2 rank r
// holds block r reduced over all ranks.
inline RingStep RingReduceScatterStep(int r, int n, int k) {
  return {PosMod(r - k - 1, n), PosMod(r - k - 2, n)};
}

// All-gather step k in [0, n-2], starting with rank r holding block r: forward the block
// received at step k-1 (its own block at step 0), receive block r-k-1.
inline RingStep RingAllGatherStep(int r, int n, int k) {
  return {PosMod(r - k, n), PosMod(r - k - 1, n)};
}

}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_SCHEDULE_RING_H_
