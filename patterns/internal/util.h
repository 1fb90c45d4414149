// patterns/internal/util.h: small helpers shared by the algorithm files: byte-offset
// pointers, copy-unless-same (through the transport), and a request list with inline storage (no
// allocation for the common few-request case).
#ifndef TPBENCH_PATTERNS_INTERNAL_UTIL_H_
#define TPBENCH_PATTERNS_INTERNAL_UTIL_H_

#include <cstddef>
#include <vector>

#include "comm/p2p.h"

namespace tpbench {
namespace internal {

inline char* At(void* p, size_t off) { return static_cast<char*>(p) + off; }
inline const char* At(const void* p, size_t off) { return static_cast<const char*>(p) + off; }

// The node of every group rank (P2P::node), for HierarchyOf (patterns/schedule/hierarchy.h).
inline std::vector<int> NodesOf(const P2P& p) {
  std::vector<int> node_of(static_cast<size_t>(p.size()));
  for (int r = 0; r < p.size(); ++r) node_of[static_cast<size_t>(r)] = p.node(r);
  return node_of;
}

// Through the transport (P2P::Copy): the buffers may be device memory.
inline void CopyUnlessSame(P2P& p, void* dst, const void* src, size_t bytes) {
  if (bytes > 0 && dst != src) p.Copy(dst, src, bytes);
}

// Requests in flight; WaitAll() completes and clears them.
class RequestList {
 public:
  void Add(const Request& r) {
    if (r.handle == nullptr) return;  // already complete (zero bytes, or eager)
    if (n_ < kInline) {
      inline_[n_++] = r;
    } else {
      more_.push_back(r);
    }
  }
  void WaitAll(P2P& p) {
    if (n_ > 0) p.WaitAll(inline_, n_);
    if (!more_.empty()) p.WaitAll(more_.data(), static_cast<int>(more_.size()));
    n_ = 0;
    more_.clear();
  }

 private:
  static constexpr int kInline = 16;
  Request inline_[kInline];
  int n_ = 0;
  std::vector<Request> more_;
};

}  // namespace internal
}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_INTERNAL_UTIL_H_
