// layers/compute.cc: the registry of compute backends. See compute.h.
#include "layers/compute.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "comm/error.h"

namespace tpbench {
namespace {

std::map<std::string, ComputeFactory>& Registry() {
  static std::map<std::string, ComputeFactory> r;
  return r;
}

}  // namespace

bool RegisterCompute(const std::string& name, ComputeFactory factory) {
  Registry()[name] = factory;
  return true;
}

std::unique_ptr<Compute> CreateCompute(const std::string& name) {
  auto it = Registry().find(name);
  if (it == Registry().end()) {
    std::string valid;
    for (const std::string& n : ComputeNames()) valid += (valid.empty() ? "" : ", ") + n;
    throw UsageError("unknown compute backend '" + name + "'; valid: " + valid +
                     (name == "cuda" ? " (cuda needs a build with --config=cuda)" : ""));
  }
  return it->second();
}

std::vector<std::string> ComputeNames() {
  std::vector<std::string> n;
  for (const auto& kv : Registry()) n.push_back(kv.first);
  return n;
}

}  // namespace tpbench
