#include "comm/verify.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "comm/error.h"
#include "comm/reduce.h"

namespace tpbench {
namespace {

bool Reduces(OpKind k) {
  return k == OpKind::kAllReduce || k == OpKind::kReduceScatter || k == OpKind::kReduce;
}

// Exact reduction of element i over all ranks, in the dtype's own arithmetic for avg.
double Reduced(const CollArgs& a, size_t i, int seed) {
  double acc = InputValue(a, 0, i, seed);
  for (int r = 1; r < a.size; ++r) {
    double v = InputValue(a, r, i, seed);
    switch (a.op) {
      case ReduceOp::kSum:
      case ReduceOp::kAvg: acc += v; break;
      case ReduceOp::kProd: acc *= v; break;
      case ReduceOp::kMin: acc = std::min(acc, v); break;
      case ReduceOp::kMax: acc = std::max(acc, v); break;
    }
  }
  if (a.op == ReduceOp::kAvg) {
    // Divide exactly as the communicator does, so rounding matches bit for bit.
    alignas(8) char cell[8];
    StoreFromDouble(cell, 0, a.dtype, acc);
    DivideForAvg(cell, 1, a.dtype, a.size);
    acc = LoadAsDouble(cell, 0, a.dtype);
  }
  return acc;
}

// Value stored in the dtype and read back (what an exact op would leave in memory).
double AsStored(DataType t, double v) {
  alignas(8) char cell[8];
  StoreFromDouble(cell, 0, t, v);
  return LoadAsDouble(cell, 0, t);
}

}  // namespace

size_t SendElements(const CollArgs& a) {
  switch (a.kind) {
    case OpKind::kReduceScatter:
    case OpKind::kAllToAll: return a.count * a.size;
    default: return a.count;
  }
}

size_t RecvElements(const CollArgs& a) {
  switch (a.kind) {
    case OpKind::kAllGather:
    case OpKind::kAllToAll: return a.count * a.size;
    default: return a.count;
  }
}

double InputValue(const CollArgs& a, int rank, size_t i, int seed) {
  const uint64_t s = static_cast<uint64_t>(seed);
  if (Reduces(a.kind)) {
    switch (a.op) {
      case ReduceOp::kSum:
        // 0..2, or 0..1 when 2 per rank could overflow i8 (n > 63).
        return static_cast<double>((i * 7 + rank * 3 + s) % (a.size > 63 ? 2 : 3));
      case ReduceOp::kAvg: return static_cast<double>(2 * ((i + rank + s) % 3));
      case ReduceOp::kProd:
        // 1s, with a 2 from one rank on some elements: products are 1 or 2.
        return ((i + s) % static_cast<uint64_t>(a.size) == static_cast<uint64_t>(rank) &&
                (i % 3) == 0)
                   ? 2.0
                   : 1.0;
      case ReduceOp::kMin:
      case ReduceOp::kMax: return static_cast<double>((i + rank * 5 + s) % 7);
    }
  }
  return static_cast<double>((rank * 31 + i * 7 + s) % 101);
}

void FillInput(const CollArgs& a, void* send, int seed) {
  const size_t n = SendElements(a);
  for (size_t i = 0; i < n; ++i) StoreFromDouble(send, i, a.dtype, InputValue(a, a.rank, i, seed));
}

uint64_t CountWrong(const CollArgs& a, const void* recv, int seed) {
  const size_t n = RecvElements(a);
  uint64_t wrong = 0;
  auto check = [&](size_t i, double want) {
    if (LoadAsDouble(recv, i, a.dtype) != AsStored(a.dtype, want)) ++wrong;
  };
  switch (a.kind) {
    case OpKind::kAllReduce:
      for (size_t i = 0; i < n; ++i) check(i, Reduced(a, i, seed));
      break;
    case OpKind::kReduce:
      if (a.rank != a.root) return 0;
      for (size_t i = 0; i < n; ++i) check(i, Reduced(a, i, seed));
      break;
    case OpKind::kReduceScatter:
      for (size_t i = 0; i < n; ++i) check(i, Reduced(a, a.rank * a.count + i, seed));
      break;
    case OpKind::kAllGather:
      for (size_t i = 0; i < n; ++i) {
        check(i, InputValue(a, static_cast<int>(i / a.count), i % a.count, seed));
      }
      break;
    case OpKind::kBroadcast:
      for (size_t i = 0; i < n; ++i) check(i, InputValue(a, a.root, i, seed));
      break;
    case OpKind::kAllToAll:
      // Block p of my recv is block `rank` of p's send.
      for (size_t i = 0; i < n; ++i) {
        int p = static_cast<int>(i / a.count);
        check(i, InputValue(a, p, a.rank * a.count + i % a.count, seed));
      }
      break;
    case OpKind::kSendRecv:
      if (a.peer_recv < 0) return 0;
      for (size_t i = 0; i < n; ++i) check(i, InputValue(a, a.peer_recv, i, seed));
      break;
    default: break;
  }
  return wrong;
}

}  // namespace tpbench
