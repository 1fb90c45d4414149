// patterns/schedule/chain.h: the pipelined chain rooted at any rank (broadcast).
//
// Relative rank v = (r - root) mod n receives every segment from v-1 and forwards it to v+1.
//   int prev = ChainPrev(r, n, root), next = ChainNext(r, n, root);   // -1 at the ends
#ifndef TPBENCH_PATTERNS_SCHEDULE_CHAIN_H_
#define TPBENCH_PATTERNS_SCHEDULE_CHAIN_H_

namespace tpbench {

inline int ChainPrev(int r, int n, int root) { return r == root ? -1 : (r + n - 1) % n; }
inline int ChainNext(int r, int n, int root) {
  const int next = (r + 1) % n;
  return next == root ? -1 : next;
}

}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_SCHEDULE_CHAIN_H_
