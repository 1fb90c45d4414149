// patterns/schedule/bruck.h: Bruck's all-gather, ceil(log2 n) steps for any n.
//
// Rank r keeps a rotated buffer whose slot j holds block (r + j) mod n; slot 0 is its own.
//   for (int k = 0; k < BruckSteps(n); ++k) {
//     BruckStep s = BruckAllGatherStep(r, n, k);
//     // send slots [0, s.blocks) to s.send_to; receive s.blocks blocks from s.recv_from
//     // into slots [s.recv_at, s.recv_at + s.blocks)
//   }
//   // then rotate: slot j -> block (r + j) mod n.
#ifndef TPBENCH_PATTERNS_SCHEDULE_BRUCK_H_
#define TPBENCH_PATTERNS_SCHEDULE_BRUCK_H_

#include <algorithm>

namespace tpbench {

struct BruckStep {
  int send_to;
  int recv_from;
  int blocks;   // blocks sent and received
  int recv_at;  // first slot written
};

inline int BruckSteps(int n) {
  int k = 0;
  while ((1 << k) < n) ++k;
  return k;
}

// Step k: distance d = 2^k; the slots [0, d) are filled, fetch the next min(d, n-d).
inline BruckStep BruckAllGatherStep(int r, int n, int k) {
  const int d = 1 << k;
  return {(r - d + n) % n, (r + d) % n, std::min(d, n - d), d};
}

}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_SCHEDULE_BRUCK_H_
