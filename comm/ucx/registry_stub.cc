// TEMPORARY stand-in for //patterns:algorithms until it lands: an empty registry, so the ucx
// backend links and its send/recv/barrier/split paths can be tested. Remove with the switch.
#include "comm/error.h"
#include "patterns/registry.h"

namespace tpbench {

const std::vector<Algorithm>& AllAlgorithms() {
  static const std::vector<Algorithm> none;
  return none;
}
const Algorithm* FindAlgorithm(OpKind, const std::string&) { return nullptr; }
std::vector<std::string> AlgorithmNames(OpKind) { return {}; }
const Algorithm& SelectAuto(OpKind kind, size_t, int) {
  throw UsageError(std::string("no algorithms linked for ") + OpKindName(kind));
}
const Algorithm& ResolveAlgorithm(OpKind kind, const std::string& name, size_t b, int n) {
  return SelectAuto(kind, b, n);
}
bool RegisterAlgorithm(const Algorithm&) { return false; }

}  // namespace tpbench
