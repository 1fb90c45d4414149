// patterns/registry.cc: the table of registered algorithms and name resolution.
#include "patterns/registry.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <tuple>

#include "comm/error.h"

namespace tpbench {
namespace {

// Function-local so registration from any translation unit's static initializer is safe.
std::vector<Algorithm>& Table() {
  static std::vector<Algorithm> table;
  return table;
}

bool Less(const Algorithm& a, const Algorithm& b) {
  return std::make_tuple(static_cast<int>(a.kind), std::string(a.name)) <
         std::make_tuple(static_cast<int>(b.kind), std::string(b.name));
}

}  // namespace

bool RegisterAlgorithm(const Algorithm& a) {
  TP_CHECK_MSG(a.name != nullptr && a.run != nullptr && a.name[0] != '\0',
               "algorithm needs a name and a function");
  TP_CHECK_MSG(std::strcmp(a.name, "auto") != 0, "'auto' is reserved");
  TP_CHECK_MSG(FindAlgorithm(a.kind, a.name) == nullptr,
               std::string("algorithm registered twice: ") + OpKindName(a.kind) + "/" + a.name);
  auto& t = Table();
  // Kept sorted on insertion: registration happens before main, reads may come from threads.
  t.insert(std::upper_bound(t.begin(), t.end(), a, Less), a);
  return true;
}

const std::vector<Algorithm>& AllAlgorithms() { return Table(); }

const Algorithm* FindAlgorithm(OpKind kind, const std::string& name) {
  for (const Algorithm& a : Table()) {
    if (a.kind == kind && name == a.name) return &a;
  }
  return nullptr;
}

std::vector<std::string> AlgorithmNames(OpKind kind) {
  std::vector<std::string> names;
  for (const Algorithm& a : Table()) {
    if (a.kind == kind) names.push_back(a.name);
  }
  return names;
}

const Algorithm& ResolveAlgorithm(OpKind kind, const std::string& name, size_t bytes, int size,
                                  int nodes) {
  if (name.empty() || name == "auto") return SelectAuto(kind, bytes, size, nodes);
  if (const Algorithm* a = FindAlgorithm(kind, name)) return *a;
  std::string valid = "auto";
  for (const std::string& n : AlgorithmNames(kind)) valid += ", " + n;
  throw UsageError(std::string(OpKindName(kind)) + ": unknown algorithm '" + name +
                   "'; valid: " + valid);
}

}  // namespace tpbench
