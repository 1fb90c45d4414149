#include "comm/coll.h"

#include "comm/error.h"

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

const std::vector<CollectiveInfo>& Collectives() {
  // kind, name, reduces, has_root, split_over_ranks, has_in_place, bus scale, shift, formula
  static const std::vector<CollectiveInfo> table = {
      {OpKind::kAllReduce, "all_reduce", true, false, false, true, 2, -1, "2(n-1)/n"},
      {OpKind::kAllGather, "all_gather", false, false, true, true, 1, -1, "(n-1)/n"},
      {OpKind::kReduceScatter, "reduce_scatter", true, false, true, true, 1, -1, "(n-1)/n"},
      {OpKind::kBroadcast, "broadcast", false, true, false, true, 1, 0, "1"},
      {OpKind::kReduce, "reduce", true, true, false, true, 1, 0, "1"},
      {OpKind::kAllToAll, "all_to_all", false, false, true, true, 1, -1, "(n-1)/n"},
      {OpKind::kSendRecv, "sendrecv", false, false, false, false, 1, 0, "1"},
  };
  return table;
}

const CollectiveInfo& Collective(OpKind kind) {
  for (const CollectiveInfo& c : Collectives()) {
    if (c.kind == kind) return c;
  }
  TP_CHECK_MSG(false, std::string(OpKindName(kind)) + " is not a collective");
  return Collectives().front();
}

double BusBandwidthFactor(OpKind kind, int n) {
  for (const CollectiveInfo& c : Collectives()) {
    if (c.kind == kind) return c.BusFactor(n);
  }
  return 1.0;
}

size_t AlgorithmBytes(const CollArgs& a) {
  const size_t b = a.count * a.elem_size();
  for (const CollectiveInfo& c : Collectives()) {
    if (c.kind == a.kind && c.split_over_ranks) return b * static_cast<size_t>(a.size);
  }
  return b;
}

}  // namespace tpbench
