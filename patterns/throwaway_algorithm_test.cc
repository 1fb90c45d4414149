// patterns/throwaway_algorithm_test.cc: docs/architecture.md's "Adding an algorithm", tried for
// real. patterns/allreduce_throwaway_star.cc is one new file and one BUILD line; with
// nothing else edited it is registered, listed, resolvable by name, runs exactly under the
// transport-agnostic communicator on 1..8 ranks, and sends what its header says. The one
// step the walk-through still asks for, an entry in patterns/volume.cc, shows as ModelSent
// refusing the name (so //patterns:volume_test would fail until it is written).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "comm/error.h"
#include "comm/verify.h"
#include "patterns/registry.h"
#include "patterns/testing/thread_transport.h"
#include "patterns/volume.h"

namespace tpbench {
namespace {

constexpr const char* kName = "throwaway_star";

TEST(ThrowawayAlgorithm, IsRegisteredListedAndResolvable) {
  const std::vector<std::string> names = AlgorithmNames(OpKind::kAllReduce);
  EXPECT_NE(std::find(names.begin(), names.end(), kName), names.end());
  ASSERT_NE(FindAlgorithm(OpKind::kAllReduce, kName), nullptr);
  EXPECT_STREQ(ResolveAlgorithm(OpKind::kAllReduce, kName, 4096, 4).name, kName);
  for (size_t bytes : {8, 1 << 20, 64 << 20}) {
    EXPECT_STRNE(SelectAuto(OpKind::kAllReduce, bytes, 4).name, kName);  // auto never picks it
  }
}

TEST(ThrowawayAlgorithm, ExactOnOneToEightRanksWithItsStatedVolume) {
  for (int n = 1; n <= 8; ++n) {
    for (DataType t : {DataType::kF32, DataType::kBF16, DataType::kI32}) {
      for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMax}) {
        for (size_t count : {0, 1, 7, 1000}) {
          for (bool rendezvous : {false, true}) {
            std::vector<uint64_t> wrong(static_cast<size_t>(n), 0);
            ThreadTransportOptions opt;
            opt.rendezvous = rendezvous;
            const std::vector<RankStats> sent = RunCommunicators(
                n,
                [&](Communicator& c) {
                  CollArgs a;
                  a.kind = OpKind::kAllReduce;
                  a.dtype = t;
                  a.op = op;
                  a.count = count;
                  a.rank = c.rank();
                  a.size = c.size();
                  std::vector<char> send(count * DataTypeSize(t) + 1), recv(send.size());
                  FillInput(a, send.data(), 3);
                  c.AllReduce(send.data(), recv.data(), count, t, op, {kName, {}})->Wait();
                  wrong[c.rank()] = CountWrong(a, recv.data(), 3);
                },
                opt);
            const uint64_t s = count * DataTypeSize(t);
            for (int r = 0; r < n; ++r) {
              EXPECT_EQ(wrong[r], 0u) << "n=" << n << " rank " << r << " count " << count;
              const uint64_t want = n == 1 ? 0 : (r == 0 ? (n - 1) * s : s);
              EXPECT_EQ(sent[r].bytes, want) << "n=" << n << " rank " << r;
            }
          }
        }
      }
    }
  }
}

TEST(ThrowawayAlgorithm, VolumeModelIsTheStepLeft) {
  try {
    ModelSent(OpKind::kAllReduce, kName, 1024, 4, 4, 0);
    ADD_FAILURE() << "patterns/volume.cc models " << kName << ": update docs/architecture.md";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(kName), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tpbench
