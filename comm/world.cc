// comm/world.cc: the backend registry.
#include "comm/world.h"

#include <algorithm>
#include <cstring>

#include "comm/error.h"

namespace tpbench {
namespace {

struct Backend {
  const char* name;
  int order;
  WorldFactory create;
};

// Function-local so registration from any translation unit's static initializer is safe.
std::vector<Backend>& Table() {
  static std::vector<Backend> table;
  return table;
}

// Backends tpbench knows of but a binary may lack.
constexpr const char* kNotBuiltYet[] = {"nccl"};

std::string Valid() {
  std::string s;
  for (const std::string& n : BackendNames()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

bool RegisterBackend(const char* name, int order, WorldFactory create) {
  TP_CHECK_MSG(name != nullptr && name[0] != '\0' && create != nullptr,
               "a backend needs a name and a factory");
  auto& t = Table();
  for (const Backend& b : t) {
    TP_CHECK_MSG(std::strcmp(b.name, name) != 0, std::string("backend registered twice: ") + name);
  }
  const Backend b{name, order, create};
  t.insert(std::upper_bound(t.begin(), t.end(), b,
                            [](const Backend& x, const Backend& y) { return x.order < y.order; }),
           b);
  return true;
}

std::vector<std::string> BackendNames() {
  std::vector<std::string> names;
  for (const Backend& b : Table()) names.push_back(b.name);
  return names;
}

std::unique_ptr<Communicator> CreateWorld(const std::string& backend) {
  for (const Backend& b : Table()) {
    if (backend == b.name) return b.create();
  }
  for (const char* n : kNotBuiltYet) {
    if (backend == n) {
      throw UsageError("backend '" + backend +
                       "' is not built into this binary yet; valid: " + Valid());
    }
  }
  throw UsageError("unknown backend '" + backend + "'; valid: " + Valid());
}

}  // namespace tpbench
