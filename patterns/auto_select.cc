// patterns/auto_select.cc: what "auto" means: the algorithm chosen per op kind, message size
// (AlgorithmBytes: the whole gathered/scattered buffer for all_gather/reduce_scatter/
// all_to_all) and group size.
//
// Every threshold lives here as a named constant. They are PROVISIONAL until measured: they
// follow the usual shape of MPICH / Open MPI decisions (latency-bound algorithms for small
// messages, bandwidth-optimal ones for large) and are to be tuned from measurements on the
// target machine.
#include <string>

#include "comm/error.h"
#include "patterns/registry.h"

namespace tpbench {
namespace {

// all_reduce: recursive doubling (log2 n steps, whole vector each step) up to this size,
// Rabenseifner (halving + doubling, 2 log2 n steps, 2(n-1)/n S bytes) up to the next, then
// the segmented ring (2(n-1) steps, bandwidth optimal, pipelined reduction).
constexpr size_t kAllReduceSmallMax = 8 * 1024;
constexpr size_t kAllReduceMediumMax = 512 * 1024;

// all_gather (bytes of the whole gathered buffer): Bruck up to kAllGatherSmallMax, recursive
// doubling (powers of two only) up to kAllGatherMediumMax, ring above.
constexpr size_t kAllGatherSmallMax = 32 * 1024;
constexpr size_t kAllGatherMediumMax = 512 * 1024;

// reduce_scatter (bytes of the whole input): recursive halving up to this size, ring above.
constexpr size_t kReduceScatterSmallMax = 512 * 1024;

// broadcast: binomial tree up to kBroadcastSmallMax (or on 2 ranks, where every algorithm
// is one send), scatter + ring all-gather up to kBroadcastMediumMax, pipelined chain above.
constexpr size_t kBroadcastSmallMax = 64 * 1024;
constexpr size_t kBroadcastMediumMax = 8 * 1024 * 1024;

bool IsPowerOfTwo(int n) { return n > 0 && (n & (n - 1)) == 0; }

const char* Choose(OpKind kind, size_t bytes, int size) {
  switch (kind) {
    case OpKind::kAllReduce:
      if (bytes <= kAllReduceSmallMax) return "recursive_doubling";
      if (bytes <= kAllReduceMediumMax) return "rabenseifner";
      return "ring";
    case OpKind::kAllGather:
      if (bytes <= kAllGatherSmallMax) return "bruck";
      if (bytes <= kAllGatherMediumMax && IsPowerOfTwo(size)) return "recursive_doubling";
      return "ring";
    case OpKind::kReduceScatter:
      return bytes <= kReduceScatterSmallMax ? "recursive_halving" : "ring";
    case OpKind::kBroadcast:
      if (bytes <= kBroadcastSmallMax || size <= 2) return "binomial";
      if (bytes <= kBroadcastMediumMax) return "scatter_allgather";
      return "chain";
    case OpKind::kReduce: return "binomial";
    case OpKind::kAllToAll: return "pairwise";
    default: return "";
  }
}

}  // namespace

const Algorithm& SelectAuto(OpKind kind, size_t bytes, int size) {
  if (const Algorithm* a = FindAlgorithm(kind, Choose(kind, bytes, size))) return *a;
  // The preferred algorithm is not linked in: fall back to any registered one.
  for (const Algorithm& a : AllAlgorithms()) {
    if (a.kind == kind) return a;
  }
  throw UsageError(std::string(OpKindName(kind)) + ": no algorithm is registered");
}

}  // namespace tpbench
