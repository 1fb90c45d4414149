// patterns/volume_test.cc: the bytes and messages every rank sends, counted by the
// ThreadTransport, equal the volume model (patterns/volume.h) for every registered algorithm,
// and the model equals the textbook closed forms where blocks divide evenly.
#include "patterns/volume.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "comm/coll.h"
#include "comm/error.h"
#include "patterns/registry.h"
#include "patterns/segments.h"
#include "patterns/testing/thread_transport.h"

namespace tpbench {
namespace {

// Runs one op with zero-filled buffers and returns what each rank sent; `nodes` places the
// ranks on emulated nodes (empty: one node).
std::vector<RankStats> Measure(const Algorithm& alg, int n, size_t count, DataType t, int root,
                               const std::vector<int>& nodes = {}) {
  ThreadTransportOptions opt;
  opt.nodes = nodes;
  const size_t es = DataTypeSize(t);
  std::vector<std::vector<char>> send(n), recv(n);
  for (int r = 0; r < n; ++r) {
    send[r].assign(count * n * es + 1, 0);
    recv[r].assign(count * n * es + 1, 0);
  }
  return RunRanks(
      n,
      [&](P2P& p) {
        CollArgs a;
        a.kind = alg.kind;
        a.send = send[p.rank()].data();
        a.recv = recv[p.rank()].data();
        a.count = count;
        a.dtype = t;
        a.root = root;
        a.rank = p.rank();
        a.size = n;
        alg.run(p, a);
      },
      opt);
}

TEST(Volume, MeasuredEqualsModelForEveryAlgorithm) {
  int checked = 0;
  for (const Algorithm& alg : AllAlgorithms()) {
    for (int n = 1; n <= 9; ++n) {
      for (size_t count :
           {size_t{0}, size_t{1}, size_t{5}, size_t{1001}, static_cast<size_t>(n) * 12}) {
        for (DataType t : {DataType::kF32, DataType::kI8}) {
          const int root = (n - 1) / 2;
          const auto stats = Measure(alg, n, count, t, root);
          for (int r = 0; r < n; ++r) {
            const VolumeModel m = ModelSent(alg.kind, alg.name, count, DataTypeSize(t), n, r, root);
            EXPECT_EQ(stats[r].bytes, m.bytes) << OpKindName(alg.kind) << "/" << alg.name
                                               << " n=" << n << " count=" << count << " rank=" << r;
            EXPECT_EQ(stats[r].msgs, m.msgs) << OpKindName(alg.kind) << "/" << alg.name
                                             << " n=" << n << " count=" << count << " rank=" << r;
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

// Several segments per block, so the segment arithmetic of the model is exercised.
TEST(Volume, MeasuredEqualsModelWithSegments) {
  for (const Algorithm& alg : AllAlgorithms()) {
    for (int n : {2, 3, 4}) {
      const size_t count = (kRingAllGatherSegmentBytes / 4) * 3 + 17;  // f32: several segments
      const auto stats = Measure(alg, n, count, DataType::kF32, 1);
      for (int r = 0; r < n; ++r) {
        const VolumeModel m = ModelSent(alg.kind, alg.name, count, 4, n, r, 1);
        EXPECT_EQ(stats[r].bytes, m.bytes) << alg.name << " n=" << n << " rank=" << r;
        EXPECT_EQ(stats[r].msgs, m.msgs) << alg.name << " n=" << n << " rank=" << r;
      }
    }
  }
}

// Across emulated nodes: every registered algorithm's bytes inside and across nodes equal
// ModelSentByNode, for node-major, strided and unequal placements (hierarchical ones run
// their two-level schedules on the regular ones, the flat ring on the others).
TEST(Volume, BytesAcrossNodesEqualModelForEveryAlgorithm) {
  const std::vector<std::vector<int>> placements = {
      {0, 0, 1, 1},       {0, 0, 0, 1, 1, 1},       {0, 0, 1, 1, 2, 2},
      {0, 1, 0, 1, 0, 1}, {0, 0, 0, 0, 1, 1, 1, 1}, {0, 0, 0, 1},
      {3, 3, 3},          {0, 1, 2, 3, 0, 1, 2}};
  int checked = 0, across = 0;
  for (const Algorithm& alg : AllAlgorithms()) {
    for (const std::vector<int>& nodes : placements) {
      const int n = static_cast<int>(nodes.size());
      for (size_t count : {size_t{0}, size_t{1}, size_t{1001}}) {
        const int root = (n - 1) / 2;
        const auto stats = Measure(alg, n, count, DataType::kF32, root, nodes);
        for (int r = 0; r < n; ++r) {
          const NodeSplit m = ModelSentByNode(alg.kind, alg.name, count, 4, nodes, r, root);
          const std::string where = std::string(OpKindName(alg.kind)) + "/" + alg.name +
                                    " n=" + std::to_string(n) + " count=" + std::to_string(count) +
                                    " rank=" + std::to_string(r);
          EXPECT_EQ(stats[r].bytes, m.intra + m.inter) << where;
          EXPECT_EQ(stats[r].inter_node_bytes, m.inter) << where;
          ++checked;
          across += m.inter > 0;
        }
      }
    }
  }
  EXPECT_GT(checked, 1000);
  EXPECT_GT(across, 300);  // the placements do send across nodes
}

// sendrecv as //bench:collectives runs it (ring shift to rank + 1): only the rank whose right
// neighbour is on another node sends across.
TEST(Volume, SendRecvSplitIsTheRingShift) {
  const std::vector<int> nodes = {0, 0, 1, 1};
  for (int r = 0; r < 4; ++r) {
    const NodeSplit m = ModelSentByNode(OpKind::kSendRecv, "auto", 10, 4, nodes, r);
    EXPECT_EQ(m.inter, (r == 1 || r == 3) ? 40u : 0u) << r;
    EXPECT_EQ(m.intra + m.inter, 40u) << r;
  }
}

// Closed forms, with S the op's byte count and n dividing the count.
TEST(Volume, ClosedFormsWhenBlocksDivideEvenly) {
  const size_t es = 4;
  for (int n = 2; n <= 9; ++n) {
    const size_t count = 720720;  // divisible by 1..9 and by 16
    const uint64_t S = count * es;
    int pof2 = 1;
    while (pof2 * 2 <= n) pof2 *= 2;
    const int rem = n - pof2;
    for (int r = 0; r < n; ++r) {
      const bool extra = r < 2 * rem && r % 2 == 0, proxy = r < 2 * rem && r % 2 == 1;
      int steps = 0;
      while ((1 << steps) < pof2) ++steps;
      // all_reduce ring: 2(n-1)/n S.
      EXPECT_EQ(ModelBytesSent(OpKind::kAllReduce, "ring", count, es, n, r), 2 * (n - 1) * S / n);
      // all_reduce rabenseifner: 2(p-1)/p S, plus S back to the extra rank; extras send S.
      EXPECT_EQ(ModelBytesSent(OpKind::kAllReduce, "rabenseifner", count, es, n, r),
                extra ? S : 2 * (pof2 - 1) * S / pof2 + (proxy ? S : 0));
      // all_reduce recursive doubling: log2(p) S (+S for a proxy); extras send S.
      EXPECT_EQ(ModelBytesSent(OpKind::kAllReduce, "recursive_doubling", count, es, n, r),
                extra ? S : steps * S + (proxy ? S : 0));
      // all_gather / reduce_scatter / all_to_all with per-rank count c: (n-1) c bytes.
      for (const char* a : {"ring", "bruck"}) {
        EXPECT_EQ(ModelBytesSent(OpKind::kAllGather, a, count, es, n, r), (n - 1) * S);
      }
      EXPECT_EQ(ModelBytesSent(OpKind::kReduceScatter, "ring", count, es, n, r), (n - 1) * S);
      EXPECT_EQ(ModelBytesSent(OpKind::kAllToAll, "pairwise", count, es, n, r), (n - 1) * S);
      // broadcast chain: S on every rank but the last of the chain (root 0: rank n-1).
      EXPECT_EQ(ModelBytesSent(OpKind::kBroadcast, "chain", count, es, n, r, 0),
                r == n - 1 ? 0 : S);
      // reduce: S from every rank but the root.
      EXPECT_EQ(ModelBytesSent(OpKind::kReduce, "binomial", count, es, n, r, 0), r == 0 ? 0 : S);
    }
    // broadcast scatter_allgather: the root sends (n-1)/n S in the scatter plus (n-1)/n S in
    // the ring; binomial: ceil(log2 n) S from the root.
    EXPECT_EQ(ModelBytesSent(OpKind::kBroadcast, "scatter_allgather", count, es, n, 0, 0),
              2 * (n - 1) * S / n);
    int ceil_log = 0;
    while ((1 << ceil_log) < n) ++ceil_log;
    EXPECT_EQ(ModelBytesSent(OpKind::kBroadcast, "binomial", count, es, n, 0, 0), ceil_log * S);
  }
}

TEST(Volume, AutoResolvesAndUnknownThrows) {
  EXPECT_EQ(ModelBytesSent(OpKind::kAllReduce, "auto", 1 << 24, 4, 2, 0),
            ModelBytesSent(OpKind::kAllReduce, SelectAuto(OpKind::kAllReduce, 4 << 24, 2).name,
                           1 << 24, 4, 2, 0));
  EXPECT_THROW(ModelSent(OpKind::kAllReduce, "nope", 8, 4, 2, 0), Error);
  EXPECT_EQ(ModelSentMax(OpKind::kBroadcast, "chain", 100, 4, 4, 0).bytes, 400u);
}

}  // namespace
}  // namespace tpbench
