// Unit test of P2PCommunicator over the in-process transport (no MPI, no UCX): every
// registered algorithm through Run() with exact data and exact counted volume, send/recv,
// barrier, async order, splits (names, order, context ids, color < 0) and deadlines that name
// the op, the group and the missing peer.
#include "patterns/p2p_communicator.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "comm/error.h"
#include "comm/verify.h"
#include "patterns/testing/thread_transport.h"
#include "patterns/volume.h"

namespace tpbench {
namespace {

constexpr int kSeed = 5;

// Runs a (out of place) on c and returns the wrong elements; checks the counted volume.
uint64_t RunChecked(Communicator& c, CollArgs a, const std::string& algo, const OpOptions& o = {}) {
  a.rank = c.rank();
  a.size = c.size();
  const size_t es = DataTypeSize(a.dtype);
  std::vector<char> send(SendElements(a) * es + 1), recv(RecvElements(a) * es + 1, 0x5A);
  FillInput(a, send.data(), kSeed);
  a.send = send.data();
  a.recv = recv.data();
  const OpCount before = c.counters().Get(a.kind);
  OpOptions opts = o;
  opts.algo = algo;
  c.Run(a, opts)->Wait();
  const OpCount after = c.counters().Get(a.kind);
  if (a.kind != OpKind::kSendRecv) {
    const VolumeModel m = ModelSent(a.kind, algo, a.count, es, a.size, a.rank, a.root);
    EXPECT_EQ(after.bytes - before.bytes, m.bytes) << OpKindName(a.kind) << "/" << algo;
    EXPECT_EQ(after.msgs - before.msgs, m.msgs) << OpKindName(a.kind) << "/" << algo;
  }
  return CountWrong(a, recv.data(), kSeed);
}

CollArgs Args(OpKind kind, size_t count, int root = 0) {
  CollArgs a;
  a.kind = kind;
  a.count = count;
  a.root = root;
  return a;
}

TEST(P2PCommunicatorTest, EveryAlgorithmExactWithExactVolume) {
  for (int n = 1; n <= 5; ++n) {
    RunCommunicators(n, [&](Communicator& c) {
      EXPECT_EQ(c.backend(), "thread");
      for (OpKind kind : AllCollectives()) {
        for (const std::string& algo : c.Algorithms(kind)) {
          for (size_t count : {size_t{0}, size_t{1}, size_t{33}, size_t{1001}}) {
            CollArgs a = Args(kind, count, n - 1);
            a.peer_send = kind == OpKind::kSendRecv ? (c.rank() + 1) % n : -1;
            a.peer_recv = kind == OpKind::kSendRecv ? (c.rank() + n - 1) % n : -1;
            EXPECT_EQ(RunChecked(c, a, algo), 0u)
                << OpKindName(kind) << "/" << algo << " n=" << n << " count=" << count;
          }
        }
      }
    });
  }
}

TEST(P2PCommunicatorTest, SendRecvAndBarrierAreCounted) {
  RunCommunicators(4, [](Communicator& c) {
    CollArgs a = Args(OpKind::kSendRecv, 100);
    a.peer_send = (c.rank() + 1) % 4;
    a.peer_recv = (c.rank() + 3) % 4;
    EXPECT_EQ(RunChecked(c, a, "auto"), 0u);
    EXPECT_EQ(c.counters().Get(OpKind::kSendRecv).bytes, 400u);
    EXPECT_EQ(c.counters().Get(OpKind::kSendRecv).msgs, 1u);
    c.Barrier();
    EXPECT_EQ(c.counters().Get(OpKind::kBarrier).msgs, 2u);  // dissemination: log2(4) rounds
  });
}

TEST(P2PCommunicatorTest, AsyncOpsRunInIssueOrder) {
  RunCommunicators(3, [](Communicator& c) {
    std::vector<float> x(1000, 1.0f), y(1000, 2.0f);
    const OpOptions async{"ring", Stream::Async()};
    WorkPtr w1 = c.AllReduce(x.data(), x.data(), x.size(), DataType::kF32, ReduceOp::kSum, async);
    WorkPtr w2 = c.AllReduce(y.data(), y.data(), y.size(), DataType::kF32, ReduceOp::kAvg, async);
    w2->Wait();
    w1->Wait();
    EXPECT_TRUE(w1->Ok() && w2->Ok());
    EXPECT_EQ(x[999], 3.0f);
    EXPECT_EQ(y[0], 2.0f);
  });
}

TEST(P2PCommunicatorTest, SplitNamesOrdersAndSeparatesGroups) {
  RunCommunicators(5, [](Communicator& world) {
    const int me = world.rank();
    auto half = world.Split(me % 2, -me);  // by parity, descending world rank
    ASSERT_NE(half, nullptr);
    std::vector<int> want;
    for (int r = 4; r >= 0; --r) {
      if (r % 2 == me % 2) want.push_back(r);
    }
    EXPECT_EQ(half->world_ranks(), want);
    EXPECT_EQ(half->name(), "world/split(color=" + std::to_string(me % 2) + ")");
    EXPECT_GT(world.counters().Get(OpKind::kInternal).msgs, 0u);
    EXPECT_EQ(half->counters().Total().msgs, 0u);
    // Ops on the groups and the world interleave without mixing their messages.
    EXPECT_EQ(RunChecked(*half, Args(OpKind::kAllReduce, 77), "ring"), 0u);
    EXPECT_EQ(RunChecked(world, Args(OpKind::kAllReduce, 77), "ring"), 0u);
    auto none = half->Split(half->rank() == 0 ? -1 : 0, 0);
    EXPECT_EQ(none == nullptr, half->rank() == 0);
    if (none) {
      EXPECT_EQ(none->name(), half->name() + "/split(color=0)");
      EXPECT_EQ(RunChecked(*none, Args(OpKind::kAllGather, 9), "auto"), 0u);
    }
  });
}

TEST(P2PCommunicatorTest, DeadlineNamesOpGroupAndMissingPeer) {
  ThreadTransportOptions o;
  o.timeout = std::chrono::milliseconds(300);
  std::mutex mu;
  std::string message;
  RunCommunicators(
      2,
      [&](Communicator& c) {
        if (c.rank() == 1) return;  // never joins
        std::vector<float> x(8, 1.0f);
        try {
          c.AllReduce(x.data(), x.data(), 8, DataType::kF32, ReduceOp::kSum, {"ring"});
        } catch (const Error& e) {
          std::lock_guard<std::mutex> l(mu);
          if (e.code() == ExitCode::kTimeout) message = e.what();
        }
      },
      o);
  EXPECT_NE(message.find("timeout after 300 ms in all_reduce/ring of 8 x f32 on group 'world' "
                         "(2 ranks, this is rank 0)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("recv from rank 1"), std::string::npos) << message;
}

}  // namespace
}  // namespace tpbench
