// patterns/hierarchical_test.cc: all_reduce "hierarchical" on emulated nodes (the in-process
// transport's `nodes`): exact results for every layout, dtype, reduction, size and in place;
// bytes per rank inside and across nodes equal ModelSentByNode exactly, for it and for the
// flat ring; the network carries less than the flat ring's; irregular nodes fall back to the
// ring; "auto" picks it only for a group that spans nodes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "comm/verify.h"
#include "patterns/registry.h"
#include "patterns/schedule/hierarchy.h"
#include "patterns/testing/thread_transport.h"
#include "patterns/volume.h"

namespace tpbench {
namespace {

std::vector<int> NodeMajor(int nodes, int per_node) {
  std::vector<int> v;
  for (int k = 0; k < nodes; ++k) v.insert(v.end(), static_cast<size_t>(per_node), k);
  return v;
}

// Runs algo on ranks placed by `nodes`; returns per-rank stats; counts wrong elements.
std::vector<RankStats> RunAllReduce(const std::string& algo, const std::vector<int>& nodes,
                                    size_t count, DataType t, ReduceOp op, bool in_place,
                                    uint64_t* wrong) {
  ThreadTransportOptions opt;
  opt.nodes = nodes;
  *wrong = 0;
  std::vector<uint64_t> w(nodes.size(), 0);
  auto stats = RunRanks(
      static_cast<int>(nodes.size()),
      [&](P2P& p) {
        CollArgs a;
        a.kind = OpKind::kAllReduce;
        a.dtype = t;
        a.op = op;
        a.count = count;
        a.rank = p.rank();
        a.size = p.size();
        const size_t bytes = count * DataTypeSize(t);
        std::vector<char> send(bytes + 1), recv(bytes + 1);
        FillInput(a, send.data(), 9);
        a.send = in_place ? recv.data() : send.data();
        a.recv = recv.data();
        if (in_place) FillInput(a, recv.data(), 9);
        FindAlgorithm(OpKind::kAllReduce, algo)->run(p, a);
        w[p.rank()] = CountWrong(a, recv.data(), 9);
      },
      opt);
  for (uint64_t x : w) *wrong += x;
  return stats;
}

TEST(Hierarchy, SplitsRanksIntoNodes) {
  const Hierarchy h = HierarchyOf({5, 5, 9, 9, 7, 7}, 3);
  EXPECT_TRUE(h.regular);
  EXPECT_EQ(h.nodes, 3);
  EXPECT_EQ(h.per_node, 2);
  EXPECT_EQ(h.node_index, 1);
  EXPECT_EQ(h.local, 1);
  EXPECT_EQ(h.local_ranks, (std::vector<int>{2, 3}));
  EXPECT_EQ(h.cross_ranks, (std::vector<int>{1, 3, 5}));
  EXPECT_FALSE(HierarchyOf({0, 0, 0, 1}, 0).regular);
}

TEST(HierarchicalAllReduce, ExactWithBytesByNodeAsModelled) {
  const std::vector<std::pair<int, int>> layouts = {{2, 2}, {2, 3}, {3, 2}, {4, 2}, {2, 4}};
  for (auto [nodes, per_node] : layouts) {
    for (size_t count : {0, 1, 7, 1000, 50000}) {
      for (DataType t : {DataType::kF32, DataType::kBF16, DataType::kI32}) {
        for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMax}) {
          for (bool in_place : {false, true}) {
            for (const char* algo : {"hierarchical", "ring"}) {
              uint64_t wrong = 0;
              const auto stats =
                  RunAllReduce(algo, NodeMajor(nodes, per_node), count, t, op, in_place, &wrong);
              const std::string where = std::string(algo) + " " + std::to_string(nodes) + "x" +
                                        std::to_string(per_node) + " count " +
                                        std::to_string(count) + " " + DataTypeName(t);
              EXPECT_EQ(wrong, 0u) << where;
              for (int r = 0; r < nodes * per_node; ++r) {
                const NodeSplit m = ModelSentByNode(OpKind::kAllReduce, algo, count,
                                                    DataTypeSize(t), per_node, nodes, r);
                EXPECT_EQ(stats[r].bytes, m.intra + m.inter) << where << " rank " << r;
                EXPECT_EQ(stats[r].inter_node_bytes, m.inter) << where << " rank " << r;
              }
            }
          }
        }
      }
    }
  }
}

// The point of it: 2 nodes x 4 ranks, S = 1 MiB: out of each node, the hierarchical all-reduce
// sends 2(N-1)/N S = 1 MiB (a quarter from each rank), the flat ring 2(n-1)/n S = 1.75 MiB
// (all from the node's last rank).
TEST(HierarchicalAllReduce, SendsLessAcrossNodesThanTheFlatRing) {
  uint64_t wrong = 0, hier = 0, flat = 0;
  for (const RankStats& s : RunAllReduce("hierarchical", NodeMajor(2, 4), 1 << 18, DataType::kF32,
                                         ReduceOp::kSum, false, &wrong)) {
    hier += s.inter_node_bytes;
  }
  for (const RankStats& s : RunAllReduce("ring", NodeMajor(2, 4), 1 << 18, DataType::kF32,
                                         ReduceOp::kSum, false, &wrong)) {
    flat += s.inter_node_bytes;
  }
  EXPECT_EQ(wrong, 0u);
  const uint64_t S = 1 << 20;
  EXPECT_EQ(hier, 2 * S);          // both nodes: 2 x 2(N-1)/N S
  EXPECT_EQ(flat, 2 * S * 7 / 4);  // both boundary ranks: 2 x 2(n-1)/n S
}

TEST(HierarchicalAllReduce, IrregularNodesRunTheFlatRing) {
  uint64_t wrong = 0;
  const auto stats = RunAllReduce("hierarchical", {0, 0, 0, 1}, 1000, DataType::kF32,
                                  ReduceOp::kSum, false, &wrong);
  EXPECT_EQ(wrong, 0u);
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(stats[r].bytes, ModelSent(OpKind::kAllReduce, "ring", 1000, 4, 4, r).bytes);
  }
}

TEST(HierarchicalAllReduce, AutoPicksItOnlyAcrossNodes) {
  EXPECT_STREQ(SelectAuto(OpKind::kAllReduce, 1 << 20, 8, /*nodes=*/2).name, "hierarchical");
  EXPECT_STRNE(SelectAuto(OpKind::kAllReduce, 1 << 20, 8, /*nodes=*/1).name, "hierarchical");
  EXPECT_STRNE(SelectAuto(OpKind::kAllReduce, 1 << 10, 8, /*nodes=*/2).name, "hierarchical");
  EXPECT_STRNE(SelectAuto(OpKind::kAllReduce, 1 << 20, 2, /*nodes=*/2).name, "hierarchical");
}

}  // namespace
}  // namespace tpbench
