// patterns/schedule/pairwise.h: pairwise exchange (all-to-all), n-1 steps for any n.
//
//   for (int k = 1; k < n; ++k) {
//     PairwiseStep s = PairwiseExchangeStep(r, n, k);
//     // send block s.send_to of the input to s.send_to; receive from s.recv_from into
//     // block s.recv_from of the output.
//   }
#ifndef TPBENCH_PATTERNS_SCHEDULE_PAIRWISE_H_
#define TPBENCH_PATTERNS_SCHEDULE_PAIRWISE_H_

namespace tpbench {

struct PairwiseStep {
  int send_to;
  int recv_from;
};

// Step k in [1, n-1]: shift by k.
inline PairwiseStep PairwiseExchangeStep(int r, int n, int k) {
  return {(r + k) % n, (r - k + n) % n};
}

}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_SCHEDULE_PAIRWISE_H_
