// patterns/schedule/blocks.h: splitting `count` elements into n nearly-equal contiguous blocks.
//
//   BlockPartition part{1001, 4};          // sizes 251, 250, 250, 250
//   size_t off = part.Offset(2);           // 501: first element of block 2
//   size_t len = part.Size(2);             // 250
//   size_t span = part.Offset(4) - part.Offset(1);  // elements of blocks [1, 4)
//
// The first count % n blocks get one extra element; blocks may be empty when count < n.
#ifndef TPBENCH_PATTERNS_SCHEDULE_BLOCKS_H_
#define TPBENCH_PATTERNS_SCHEDULE_BLOCKS_H_

#include <algorithm>
#include <cstddef>

namespace tpbench {

struct BlockPartition {
  size_t count = 0;
  int n = 1;

  // Elements in block i, 0 <= i < n.
  size_t Size(int i) const {
    return count / n + (static_cast<size_t>(i) < count % static_cast<size_t>(n) ? 1 : 0);
  }
  // First element of block i, 0 <= i <= n (Offset(n) == count).
  size_t Offset(int i) const {
    const size_t ui = static_cast<size_t>(i);
    return ui * (count / n) + std::min(ui, count % static_cast<size_t>(n));
  }
  // Elements of blocks [lo, hi).
  size_t Span(int lo, int hi) const { return Offset(hi) - Offset(lo); }
  size_t MaxSize() const { return Size(0); }
};

// Number of segments of at most `seg` elements that cover `len` elements (0 for len == 0).
inline size_t NumSegments(size_t len, size_t seg) { return (len + seg - 1) / seg; }

}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_SCHEDULE_BLOCKS_H_
