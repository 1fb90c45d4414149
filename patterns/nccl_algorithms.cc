// patterns/nccl_algorithms.cc: hands tpbench's algorithm registry to the nccl backend
// (comm/nccl/nccl_communicator.h), which sits below patterns/ and runs them over its NCCL
// point-to-point transport: `--backend nccl --algo ring`. Linked by //patterns:backends under
// --config=cuda only.
#include <string>
#include <vector>

#include "comm/error.h"
#include "comm/nccl/nccl_communicator.h"
#include "patterns/registry.h"

namespace tpbench {
namespace {

void RunByName(P2P& p, const CollArgs& a, const std::string& algo) {
  const Algorithm* alg = FindAlgorithm(a.kind, algo);
  if (alg == nullptr) {
    throw UsageError("backend nccl: unknown algorithm '" + algo + "' for " + OpKindName(a.kind));
  }
  alg->run(p, a);
}

const bool kRegistered = [] {
  NcclP2PAlgorithms algorithms;
  algorithms.names = &AlgorithmNames;
  algorithms.run = &RunByName;
  RegisterNcclP2PAlgorithms(algorithms);
  return true;
}();

}  // namespace
}  // namespace tpbench
