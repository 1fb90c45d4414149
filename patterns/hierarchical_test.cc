// patterns/hierarchical_test.cc: the "hierarchical" all_reduce, all_gather and reduce_scatter
// on emulated nodes (the in-process transport's `nodes`): exact results for every layout,
// dtype, reduction, size and in place; bytes per rank inside and across nodes equal
// ModelSentByNode exactly, for them and for the flat ring; the network carries less than the
// flat ring's; irregular nodes fall back to the ring; "auto" picks them only for a group that
// spans nodes; and a wrong schedule with the right results and total bytes (every rank
// sending across nodes) is caught by the split bytes check.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "comm/coll.h"
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

// ---- all_gather and reduce_scatter ----------------------------------------------------------

// Runs fn (an algorithm, or a schedule under test) for `kind` on ranks placed by `nodes`, on
// exactly checkable data; returns per-rank stats; counts wrong elements.
std::vector<RankStats> RunOp(OpKind kind, AlgorithmFn fn, const std::vector<int>& nodes,
                             size_t count, DataType t, ReduceOp op, bool in_place,
                             uint64_t* wrong) {
  ThreadTransportOptions opt;
  opt.nodes = nodes;
  opt.rendezvous = in_place;  // both send modes, so a buffer reused too early shows
  const int n = static_cast<int>(nodes.size());
  std::vector<uint64_t> w(nodes.size(), 0);
  auto stats = RunRanks(
      n,
      [&](P2P& p) {
        CollArgs a;
        a.kind = kind, a.dtype = t, a.op = op, a.count = count, a.rank = p.rank(), a.size = n;
        const size_t es = DataTypeSize(t), blk = count * es;
        std::vector<char> send(n * blk + 1), recv(n * blk + 1);
        a.send = send.data();
        a.recv = recv.data();
        if (in_place && kind == OpKind::kAllGather) a.send = recv.data() + p.rank() * blk;
        if (in_place && kind == OpKind::kReduceScatter) a.recv = send.data() + p.rank() * blk;
        FillInput(a, const_cast<void*>(a.send), 5);
        fn(p, a);
        w[p.rank()] = CountWrong(a, a.recv, 5);
      },
      opt);
  *wrong = 0;
  for (uint64_t x : w) *wrong += x;
  return stats;
}

// The split bytes check: every rank's bytes inside and across nodes against ModelSentByNode
// of `model_algo`; returns one line per mismatch.
std::vector<std::string> SplitMismatches(OpKind kind, const std::string& model_algo,
                                         const std::vector<int>& nodes, size_t count, size_t es,
                                         const std::vector<RankStats>& stats) {
  std::vector<std::string> out;
  for (int r = 0; r < static_cast<int>(nodes.size()); ++r) {
    const NodeSplit m = ModelSentByNode(kind, model_algo, count, es, nodes, r);
    const uint64_t intra = stats[r].bytes - stats[r].inter_node_bytes;
    if (intra != m.intra || stats[r].inter_node_bytes != m.inter) {
      out.push_back("rank " + std::to_string(r) + ": inside " + std::to_string(intra) + " across " +
                    std::to_string(stats[r].inter_node_bytes) + ", model " +
                    std::to_string(m.intra) + " / " + std::to_string(m.inter));
    }
  }
  return out;
}

// Rank r on node r % nodes: a strided (not node-major) placement.
std::vector<int> Strided(int nodes, int per_node) {
  std::vector<int> v;
  for (int r = 0; r < nodes * per_node; ++r) v.push_back(r % nodes);
  return v;
}

void CheckGatherScatter(OpKind kind, const std::vector<int>& nodes, const std::string& where,
                        size_t count, DataType t, ReduceOp op) {
  for (bool in_place : {false, true}) {
    for (const char* algo : {"hierarchical", "ring"}) {
      uint64_t wrong = 0;
      const auto stats =
          RunOp(kind, FindAlgorithm(kind, algo)->run, nodes, count, t, op, in_place, &wrong);
      const std::string w = std::string(OpKindName(kind)) + "/" + algo + " " + where + " count " +
                            std::to_string(count) + " " + DataTypeName(t) + " " + ReduceOpName(op) +
                            (in_place ? " in place" : "");
      EXPECT_EQ(wrong, 0u) << w;
      for (const std::string& m :
           SplitMismatches(kind, algo, nodes, count, DataTypeSize(t), stats)) {
        ADD_FAILURE() << w << ": " << m;
      }
    }
  }
}

TEST(HierarchicalGatherScatter, ExactWithBytesByNodeAsModelled) {
  const std::vector<std::pair<int, int>> layouts = {{2, 2}, {2, 3}, {3, 2}, {4, 2}, {2, 4}};
  for (auto [nodes, per_node] : layouts) {
    for (const auto& [placement, name] :
         {std::make_pair(NodeMajor(nodes, per_node), std::string("node-major ")),
          std::make_pair(Strided(nodes, per_node), std::string("strided "))}) {
      const std::string where = name + std::to_string(nodes) + "x" + std::to_string(per_node);
      for (DataType t : AllDataTypes()) {
        for (size_t count : {0, 1, 7, 1000}) {
          CheckGatherScatter(OpKind::kAllGather, placement, where, count, t, ReduceOp::kSum);
          for (ReduceOp op : AllReduceOps()) {
            if (op == ReduceOp::kAvg) continue;  // never reaches an algorithm (CommBase)
            CheckGatherScatter(OpKind::kReduceScatter, placement, where, count, t, op);
          }
        }
      }
      // Several segments per piece (1 MiB all-gather, 256 KiB reduce-scatter segments).
      for (OpKind kind : {OpKind::kAllGather, OpKind::kReduceScatter}) {
        if (name == "strided ") continue;  // the placement is covered above; time is not free
        CheckGatherScatter(kind, placement, where, 300007, DataType::kF32, ReduceOp::kSum);
      }
    }
  }
}

// 2 nodes x 4 ranks, blocks of B = 64 KiB: out of each node the hierarchical ones send
// L(N-1) B = 4 B (one block from each rank), the flat ring (n-1) B = 7 B (all from the node's
// last rank).
TEST(HierarchicalGatherScatter, SendLessAcrossNodesThanTheFlatRing) {
  for (OpKind kind : {OpKind::kAllGather, OpKind::kReduceScatter}) {
    uint64_t wrong = 0, hier = 0, flat = 0;
    for (const RankStats& s : RunOp(kind, FindAlgorithm(kind, "hierarchical")->run, NodeMajor(2, 4),
                                    1 << 14, DataType::kF32, ReduceOp::kSum, false, &wrong)) {
      hier += s.inter_node_bytes;
    }
    EXPECT_EQ(wrong, 0u);
    for (const RankStats& s : RunOp(kind, FindAlgorithm(kind, "ring")->run, NodeMajor(2, 4),
                                    1 << 14, DataType::kF32, ReduceOp::kSum, false, &wrong)) {
      flat += s.inter_node_bytes;
    }
    EXPECT_EQ(wrong, 0u);
    const uint64_t B = 1 << 16;
    EXPECT_EQ(hier, 2 * 4 * B) << OpKindName(kind);  // both nodes
    EXPECT_EQ(flat, 2 * 7 * B) << OpKindName(kind);  // both boundary ranks
  }
}

TEST(HierarchicalGatherScatter, IrregularNodesAndOneRankPerNodeRunTheFlatRing) {
  for (OpKind kind : {OpKind::kAllGather, OpKind::kReduceScatter}) {
    for (const std::vector<int>& nodes : {std::vector<int>{0, 0, 0, 1}, {0, 1, 2}, {4, 4, 4}}) {
      uint64_t wrong = 0;
      const auto stats = RunOp(kind, FindAlgorithm(kind, "hierarchical")->run, nodes, 1000,
                               DataType::kF32, ReduceOp::kSum, false, &wrong);
      EXPECT_EQ(wrong, 0u);
      const int n = static_cast<int>(nodes.size());
      for (int r = 0; r < n; ++r) {
        EXPECT_EQ(stats[r].bytes, ModelSent(kind, "ring", 1000, 4, n, r).bytes);
        const NodeSplit flat = ModelSentByNode(kind, "ring", 1000, 4, nodes, r);
        EXPECT_EQ(stats[r].inter_node_bytes, flat.inter) << OpKindName(kind) << " rank " << r;
      }
    }
  }
}

TEST(HierarchicalGatherScatter, AutoPicksThemOnlyAcrossNodes) {
  for (OpKind kind : {OpKind::kAllGather, OpKind::kReduceScatter}) {
    EXPECT_STREQ(SelectAuto(kind, 1 << 20, 8, /*nodes=*/2).name, "hierarchical");
    EXPECT_STRNE(SelectAuto(kind, 1 << 20, 8, /*nodes=*/1).name, "hierarchical");
    EXPECT_STRNE(SelectAuto(kind, 1 << 10, 8, /*nodes=*/2).name, "hierarchical");
    EXPECT_STRNE(SelectAuto(kind, 1 << 20, 2, /*nodes=*/2).name, "hierarchical");
  }
}

// A wrong schedule: every rank sends its block straight to every other rank. The result is
// right and each rank sends (n-1) B as the model says, but (N-1) L B of it across nodes
// instead of (N-1) B: only the split check sees it.
void AllGatherEveryRankAcross(P2P& p, const CollArgs& a) {
  const size_t blk = a.count * a.elem_size();
  char* recv = static_cast<char*>(a.recv);
  std::memcpy(recv + p.rank() * blk, a.send, blk);
  std::vector<Request> reqs;
  for (int q = 0; q < p.size(); ++q) {
    if (q == p.rank()) continue;
    reqs.push_back(p.Irecv(recv + q * blk, blk, q, 0));
    reqs.push_back(p.Isend(a.send, blk, q, 0));
  }
  p.WaitAll(reqs.data(), static_cast<int>(reqs.size()));
}

TEST(HierarchicalGatherScatter, SplitCheckCatchesEveryRankSendingAcrossNodes) {
  const std::vector<int> nodes = NodeMajor(2, 3);
  uint64_t wrong = 0;
  const auto stats = RunOp(OpKind::kAllGather, AllGatherEveryRankAcross, nodes, 1000,
                           DataType::kF32, ReduceOp::kSum, false, &wrong);
  EXPECT_EQ(wrong, 0u);          // the results are right...
  for (int r = 0; r < 6; ++r) {  // ...and so are the total bytes...
    EXPECT_EQ(stats[r].bytes, ModelSent(OpKind::kAllGather, "hierarchical", 1000, 4, 6, r).bytes);
  }
  // ...but every rank sent 3 blocks across nodes instead of 1.
  EXPECT_EQ(SplitMismatches(OpKind::kAllGather, "hierarchical", nodes, 1000, 4, stats).size(), 6u);
}

}  // namespace
}  // namespace tpbench
