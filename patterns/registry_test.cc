// patterns/registry_test.cc: the registry table, name resolution and "auto" selection.
#include "patterns/registry.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "comm/error.h"

namespace tpbench {
namespace {

TEST(Registry, NamesAreUniquePerKindAndSorted) {
  std::set<std::pair<int, std::string>> seen;
  const auto& all = AllAlgorithms();
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_TRUE(seen.insert({static_cast<int>(all[i].kind), all[i].name}).second) << all[i].name;
    EXPECT_NE(all[i].run, nullptr);
    EXPECT_GT(std::string(all[i].description).size(), 0u);
    if (i > 0) {
      EXPECT_LE(static_cast<int>(all[i - 1].kind), static_cast<int>(all[i].kind));
    }
  }
}

TEST(Registry, EveryCollectiveHasItsAlgorithms) {
  const std::map<OpKind, std::set<std::string>> want = {
      {OpKind::kAllReduce,
       {"ring", "recursive_doubling", "rabenseifner", "reduce_bcast", "hierarchical"}},
      {OpKind::kAllGather, {"ring", "recursive_doubling", "bruck", "hierarchical"}},
      {OpKind::kReduceScatter, {"ring", "recursive_halving", "hierarchical"}},
      {OpKind::kBroadcast, {"binomial", "chain", "scatter_allgather"}},
      {OpKind::kReduce, {"binomial"}},
      {OpKind::kAllToAll, {"pairwise"}},
  };
  for (const auto& [kind, names] : want) {
    auto have = AlgorithmNames(kind);
    EXPECT_EQ(std::set<std::string>(have.begin(), have.end()), names) << OpKindName(kind);
    for (const auto& n : names) {
      const Algorithm* a = FindAlgorithm(kind, n);
      ASSERT_NE(a, nullptr) << n;
      EXPECT_EQ(a->kind, kind);
      EXPECT_EQ(&ResolveAlgorithm(kind, n, 1024, 4), a);
    }
  }
  EXPECT_TRUE(AlgorithmNames(OpKind::kSendRecv).empty());
}

TEST(Registry, UnknownNameThrowsUsageErrorListingValidNames) {
  try {
    ResolveAlgorithm(OpKind::kAllReduce, "nope", 8, 2);
    FAIL() << "expected UsageError";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    const std::string m = e.what();
    EXPECT_NE(m.find("all_reduce"), std::string::npos) << m;
    EXPECT_NE(m.find("'nope'"), std::string::npos) << m;
    for (const char* n : {"auto", "ring", "recursive_doubling", "rabenseifner", "reduce_bcast"}) {
      EXPECT_NE(m.find(n), std::string::npos) << n << " missing in: " << m;
    }
  }
  EXPECT_EQ(FindAlgorithm(OpKind::kBroadcast, "ring"), nullptr);
  EXPECT_THROW(ResolveAlgorithm(OpKind::kBroadcast, "ring", 8, 2), Error);
}

TEST(Registry, AutoPicksARegisteredAlgorithmEverywhere) {
  for (OpKind kind : AllCollectives()) {
    if (kind == OpKind::kSendRecv) continue;  // point-to-point: handled by backends
    for (int n = 1; n <= 64; ++n) {
      for (size_t bytes : {size_t{0}, size_t{1}, size_t{8}, size_t{4096}, size_t{65536},
                           size_t{1} << 20, size_t{16} << 20, size_t{1} << 30}) {
        const Algorithm& a = SelectAuto(kind, bytes, n);
        EXPECT_EQ(a.kind, kind);
        EXPECT_EQ(FindAlgorithm(kind, a.name), &a);
        EXPECT_EQ(&ResolveAlgorithm(kind, "auto", bytes, n), &a);
        EXPECT_EQ(&ResolveAlgorithm(kind, "", bytes, n), &a);
      }
    }
  }
}

}  // namespace
}  // namespace tpbench
