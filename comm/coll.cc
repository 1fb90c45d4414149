#include "comm/coll.h"

namespace tpbench {

bool CollArgs::in_place() const {
  const char* s = static_cast<const char*>(send);
  char* r = static_cast<char*>(recv);
  const size_t block = count * elem_size();
  switch (kind) {
    case OpKind::kAllGather: return s != nullptr && s == r + rank * block;
    case OpKind::kReduceScatter: return r != nullptr && r == s + rank * block;
    default: return s != nullptr && s == r;
  }
}

double BusBandwidthFactor(OpKind kind, int n) {
  switch (kind) {
    case OpKind::kAllReduce: return n > 0 ? 2.0 * (n - 1) / n : 0;
    case OpKind::kAllGather:
    case OpKind::kReduceScatter:
    case OpKind::kAllToAll: return n > 0 ? static_cast<double>(n - 1) / n : 0;
    default: return 1.0;
  }
}

size_t AlgorithmBytes(const CollArgs& a) {
  const size_t b = a.count * a.elem_size();
  switch (a.kind) {
    case OpKind::kAllGather:
    case OpKind::kReduceScatter:
    case OpKind::kAllToAll: return b * static_cast<size_t>(a.size);
    default: return b;
  }
}

}  // namespace tpbench
