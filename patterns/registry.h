// patterns/registry.h: every collective algorithm, described by data, in one table.
//
//   // allreduce_ring.cc
//   TPBENCH_REGISTER_ALGORITHM(kAllReduce, "ring", "reduce-scatter + all-gather around a ring",
//                              AllReduceRing);
//
//   const Algorithm* alg = FindAlgorithm(OpKind::kAllReduce, "ring");   // nullptr if unknown
//   alg->run(p2p, args);
//
// Registration happens in static initializers, so the library is alwayslink. The table drives
// --list, name validation (with the list of valid names in the error) and forcing an
// algorithm in tests and benchmarks. "auto" is resolved by SelectAuto (auto_select.cc).
#ifndef TPBENCH_PATTERNS_REGISTRY_H_
#define TPBENCH_PATTERNS_REGISTRY_H_

#include <string>
#include <vector>

#include "comm/coll.h"
#include "comm/p2p.h"

namespace tpbench {

using AlgorithmFn = void (*)(P2P& p2p, const CollArgs& args);

struct Algorithm {
  OpKind kind;
  const char* name;
  const char* description;
  AlgorithmFn run;
};

// All registered algorithms, sorted by (kind, name).
const std::vector<Algorithm>& AllAlgorithms();
const Algorithm* FindAlgorithm(OpKind kind, const std::string& name);
std::vector<std::string> AlgorithmNames(OpKind kind);  // without "auto"
// Resolves "auto" (or returns the named one); throws UsageError listing valid names.
const Algorithm& ResolveAlgorithm(OpKind kind, const std::string& name, size_t bytes, int size,
                                  int nodes = 1);
// The choice of "auto" for an op of `bytes` (AlgorithmBytes) on `size` ranks spread over
// `nodes` nodes.
const Algorithm& SelectAuto(OpKind kind, size_t bytes, int size, int nodes = 1);

bool RegisterAlgorithm(const Algorithm& a);

}  // namespace tpbench

#define TPBENCH_REGISTER_ALGORITHM(kind, name, desc, fn) \
  static const bool tpbench_registered_##fn =            \
      ::tpbench::RegisterAlgorithm(::tpbench::Algorithm{::tpbench::OpKind::kind, name, desc, fn})

#endif  // TPBENCH_PATTERNS_REGISTRY_H_
