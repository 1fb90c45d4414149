#include "comm/verify.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "comm/error.h"
#include "comm/reduce.h"

namespace tpbench {
namespace {

bool Reduces(OpKind k) {
  return k == OpKind::kAllReduce || k == OpKind::kReduceScatter || k == OpKind::kReduce;
}

// Largest integer up to which every integer is exact in the dtype (and a sum of up to it never
// overflows): the bound on every partial sum of a reduction.
uint64_t ExactLimit(DataType t) {
  switch (t) {
    case DataType::kI8: return 127;
    case DataType::kU8: return 255;
    case DataType::kBF16: return 256;
    case DataType::kF16: return 2048;
    default: return uint64_t{1} << 24;
  }
}

// Values of the wider dtypes stay below this (odd: see verify.h).
constexpr uint64_t kMaxModulus = 127;

// Smallest odd number above n.
uint64_t OddAbove(uint64_t n) { return n % 2 ? n + 2 : n + 1; }

// The modulus m of verify.h; 0 selects the one-hot pattern (too many ranks for the dtype).
uint64_t Modulus(const CollArgs& a) {
  const uint64_t n = static_cast<uint64_t>(std::max(a.size, 1));
  // min/max: every rank holds the smallest (and largest) value once every m elements.
  if (a.op == ReduceOp::kMin || a.op == ReduceOp::kMax) return OddAbove(n);
  uint64_t m = std::min(kMaxModulus, ExactLimit(a.dtype) / n);
  if (m % 2 == 0) --m;
  if (m == n && m > 2) m -= 2;  // every residue present: the sum would be the same everywhere
  return m < 3 ? 0 : m;
}

uint64_t G(uint64_t i, uint64_t m) { return i + i / m; }

double ReductionInput(const CollArgs& a, int rank, size_t i, int seed) {
  const uint64_t s = static_cast<uint64_t>(seed), r = static_cast<uint64_t>(rank);
  const uint64_t n = static_cast<uint64_t>(a.size);
  if (a.op == ReduceOp::kProd) {
    const uint64_t q = OddAbove(n);
    return (G(i, q) + s) % q == r ? 2.0 : 1.0;
  }
  const uint64_t m = Modulus(a);
  if (m == 0) return (G(i, n) + s) % n == r ? 1.0 : 0.0;
  // Offsets 0, 1, ..., n-2, n: no rank's offset is the mean of all (so n x one rank's input
  // is never the sum), and rank 0 and rank 1 differ by 2 when n = 2 (an integer avg of
  // x and x+1 would be x, hiding a replaced rank).
  const uint64_t offset = (n > 1 && r == n - 1) ? n : r;
  return static_cast<double>(1 + (G(i, m) + offset + s) % m);
}

double BlockValue(int rank, size_t block, size_t j, int seed) {
  return static_cast<double>(
      (31 * static_cast<uint64_t>(rank) + 17 * block + 7 * j + static_cast<uint64_t>(seed)) % 101);
}

// Reduction of element i over the contributions of `ranks` (a rank may appear twice), as the
// communicator computes it: avg divides by the group size, in the dtype's own arithmetic.
double ReduceOver(const CollArgs& a, size_t i, int seed, const std::vector<int>& ranks) {
  double acc = 0;
  for (size_t k = 0; k < ranks.size(); ++k) {
    const double v = ReductionInput(a, ranks[k], i, seed);
    if (k == 0) {
      acc = v;
      continue;
    }
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

std::vector<int> AllRanks(int n) {
  std::vector<int> r(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) r[static_cast<size_t>(k)] = k;
  return r;
}

// Value stored in the dtype and read back (what an exact op would leave in memory); integer
// dtypes wrap as their arithmetic does (a corrupted sum may leave the range).
double AsStored(DataType t, double v) {
  if (t == DataType::kI8 || t == DataType::kU8) {
    int64_t w = static_cast<int64_t>(v) & 0xff;
    if (t == DataType::kI8 && w > 127) w -= 256;
    v = static_cast<double>(w);
  }
  alignas(8) char cell[8];
  StoreFromDouble(cell, 0, t, v);
  return LoadAsDouble(cell, 0, t);
}

// Exact value of element e of this rank's result.
double Expected(const CollArgs& a, size_t e, int seed) {
  switch (a.kind) {
    case OpKind::kAllReduce:
    case OpKind::kReduce: return ReduceOver(a, e, seed, AllRanks(a.size));
    case OpKind::kReduceScatter: return ReduceOver(a, a.rank * a.count + e, seed, AllRanks(a.size));
    case OpKind::kAllGather: return InputValue(a, static_cast<int>(e / a.count), e % a.count, seed);
    case OpKind::kBroadcast: return InputValue(a, a.root, e, seed);
    case OpKind::kAllToAll:
      // Block p of my recv is block `rank` of p's send.
      return InputValue(a, static_cast<int>(e / a.count), a.rank * a.count + e % a.count, seed);
    case OpKind::kSendRecv: return InputValue(a, a.peer_recv, e, seed);
    default: return 0;
  }
}

void Store(const CollArgs& a, void* recv, size_t e, double v) {
  StoreFromDouble(recv, e, a.dtype, AsStored(a.dtype, v));
}

// Swaps elements [0, len) with [from, from + len).
void SwapRanges(const CollArgs& a, void* recv, size_t from, size_t len) {
  for (size_t e = 0; e < len; ++e) {
    const double x = LoadAsDouble(recv, e, a.dtype), y = LoadAsDouble(recv, from + e, a.dtype);
    StoreFromDouble(recv, e, a.dtype, y);
    StoreFromDouble(recv, from + e, a.dtype, x);
  }
}

bool CorruptReduction(Corruption c, const CollArgs& a, void* recv, int seed) {
  const size_t n = RecvElements(a);
  const size_t base = a.kind == OpKind::kReduceScatter ? a.rank * a.count : 0;
  std::vector<int> ranks = AllRanks(a.size);
  switch (c) {
    case Corruption::kOwnTimesN: ranks.assign(ranks.size(), a.rank); break;
    case Corruption::kReplaced: ranks.back() = 0; break;
    case Corruption::kDropped: ranks.pop_back(); break;
    case Corruption::kDoubled:
      if (a.op == ReduceOp::kMin || a.op == ReduceOp::kMax) return false;  // no change
      ranks.push_back(0);
      break;
    case Corruption::kPermuted:
      if (a.kind != OpKind::kReduceScatter) {
        if (n < 2) return false;
        SwapRanges(a, recv, n / 2, n / 2);
        return true;
      }
      // The next rank's block of the reduced result.
      for (size_t e = 0; e < n; ++e) {
        Store(a, recv, e, ReduceOver(a, ((a.rank + 1) % a.size) * a.count + e, seed, ranks));
      }
      return a.size > 1;
    default: return false;
  }
  if (ranks.empty()) return false;
  for (size_t e = 0; e < n; ++e) Store(a, recv, e, ReduceOver(a, base + e, seed, ranks));
  return true;
}

// all_gather, all_to_all: block p of the result came from rank p.
bool CorruptBlocks(Corruption c, const CollArgs& a, void* recv, int seed) {
  const int last = a.size - 1;
  auto from = [&](int src, size_t j) {
    return a.kind == OpKind::kAllGather ? InputValue(a, src, j, seed)
                                        : InputValue(a, src, a.rank * a.count + j, seed);
  };
  for (size_t j = 0; j < a.count; ++j) {
    const size_t tail = static_cast<size_t>(last) * a.count + j;
    switch (c) {
      case Corruption::kOwnTimesN:  // own send data in every block
        for (int p = 0; p < a.size; ++p) {
          const size_t src = a.kind == OpKind::kAllGather ? j : p * a.count + j;
          Store(a, recv, p * a.count + j, InputValue(a, a.rank, src, seed));
        }
        break;
      case Corruption::kReplaced: Store(a, recv, tail, from(0, j)); break;
      case Corruption::kDropped: Store(a, recv, tail, 0); break;
      default: return false;
    }
  }
  return a.size > 1;
}

// broadcast, sendrecv: one message from one rank (the root, the receive peer).
bool CorruptMessage(Corruption c, const CollArgs& a, void* recv, int seed) {
  const int src = a.kind == OpKind::kBroadcast ? a.root : a.peer_recv;
  if (src < 0 || (a.kind == OpKind::kBroadcast && a.rank == a.root)) return false;
  for (size_t e = 0; e < a.count; ++e) {
    switch (c) {
      case Corruption::kOwnTimesN:
        // sendrecv: a loop-back of this rank's own message; broadcast: nothing arrived.
        Store(a, recv, e, a.kind == OpKind::kSendRecv ? InputValue(a, a.rank, e, seed) : 0);
        break;
      case Corruption::kReplaced:
        Store(a, recv, e, InputValue(a, (src + 1) % a.size, e, seed));
        break;
      case Corruption::kDropped: Store(a, recv, e, 0); break;
      default: return false;
    }
  }
  return true;
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
  if (Reduces(a.kind)) return ReductionInput(a, rank, i, seed);
  if (a.kind == OpKind::kAllToAll && a.count > 0) {
    return BlockValue(rank, i / a.count, i % a.count, seed);
  }
  return BlockValue(rank, 0, i, seed);
}

void FillInput(const CollArgs& a, void* send, int seed) {
  const size_t n = SendElements(a);
  for (size_t i = 0; i < n; ++i) StoreFromDouble(send, i, a.dtype, InputValue(a, a.rank, i, seed));
}

uint64_t CountWrong(const CollArgs& a, const void* recv, int seed) {
  if (a.kind == OpKind::kReduce && a.rank != a.root) return 0;
  if (a.kind == OpKind::kSendRecv && a.peer_recv < 0) return 0;
  if (!Reduces(a.kind) && a.kind != OpKind::kAllGather && a.kind != OpKind::kBroadcast &&
      a.kind != OpKind::kAllToAll && a.kind != OpKind::kSendRecv) {
    return 0;
  }
  const size_t n = RecvElements(a);
  uint64_t wrong = 0;
  for (size_t e = 0; e < n; ++e) {
    if (LoadAsDouble(recv, e, a.dtype) != AsStored(a.dtype, Expected(a, e, seed))) ++wrong;
  }
  return wrong;
}

const std::vector<Corruption>& AllCorruptions() {
  static const std::vector<Corruption> all = {Corruption::kOwnTimesN, Corruption::kReplaced,
                                              Corruption::kDropped,   Corruption::kDoubled,
                                              Corruption::kPermuted,  Corruption::kShifted};
  return all;
}

const char* CorruptionName(Corruption c) {
  switch (c) {
    case Corruption::kOwnTimesN: return "own_times_n";
    case Corruption::kReplaced: return "replaced";
    case Corruption::kDropped: return "dropped";
    case Corruption::kDoubled: return "doubled";
    case Corruption::kPermuted: return "permuted";
    case Corruption::kShifted: return "shifted";
  }
  return "?";
}

bool ParseCorruption(const std::string& s, Corruption* out) {
  for (Corruption c : AllCorruptions()) {
    if (s == CorruptionName(c)) {
      *out = c;
      return true;
    }
  }
  return false;
}

std::string CorruptionNames() {
  std::string s;
  for (Corruption c : AllCorruptions()) s += std::string(s.empty() ? "" : ", ") + CorruptionName(c);
  return s;
}

bool Corrupt(Corruption c, const CollArgs& a, void* recv, int seed) {
  const size_t n = RecvElements(a);
  if (n == 0 || (a.kind == OpKind::kReduce && a.rank != a.root)) return false;
  if (a.kind == OpKind::kSendRecv && a.peer_recv < 0) return false;
  if (c == Corruption::kShifted) {
    // Elements [n/4, n/4 + max(1, n/4)) take the value of the element after them.
    if (n < 2) return false;
    const size_t lo = n / 4, hi = std::min(n - 1, lo + std::max<size_t>(1, n / 4));
    for (size_t e = lo; e < hi; ++e) {
      StoreFromDouble(recv, e, a.dtype, LoadAsDouble(recv, e + 1, a.dtype));
    }
    return true;
  }
  if (Reduces(a.kind)) return CorruptReduction(c, a, recv, seed);
  if (c == Corruption::kPermuted) {
    const bool blocks = a.kind == OpKind::kAllGather || a.kind == OpKind::kAllToAll;
    if (blocks ? a.size < 2 : n < 2) return false;
    SwapRanges(a, recv, blocks ? a.count : n / 2, blocks ? a.count : n / 2);
    return true;
  }
  if (a.kind == OpKind::kAllGather || a.kind == OpKind::kAllToAll) {
    return CorruptBlocks(c, a, recv, seed);
  }
  if (a.kind == OpKind::kBroadcast || a.kind == OpKind::kSendRecv) {
    return CorruptMessage(c, a, recv, seed);
  }
  return false;
}

}  // namespace tpbench
