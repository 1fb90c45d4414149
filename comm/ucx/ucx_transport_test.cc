// Unit test of the UCX tag layout (ucx_transport.h): fields never overlap, and tags of
// different communicators, ops, steps, sources and kinds (collective vs p2p) differ.
#include "comm/ucx/ucx_transport.h"

#include <gtest/gtest.h>

#include <set>

#include "comm/ucx/ucx_context.h"

namespace tpbench {
namespace {

using namespace ucx_tag;

uint64_t Coll(uint32_t ctx, uint32_t seq, int step, int src) {
  return Collective(ctx, seq) | (uint64_t(step) << kStepShift) | uint64_t(src);
}

TEST(UcxTagTest, FieldsAreDisjointAndFillTheTag) {
  const uint64_t ctx = Collective(kMaxContexts - 1, 0);
  const uint64_t seq = Collective(0, static_cast<uint32_t>(kSeqMask));
  const uint64_t step = kStepMask << kStepShift;
  const uint64_t src = (uint64_t{1} << kSrcBits) - 1;
  EXPECT_EQ(ctx & seq, 0u);
  EXPECT_EQ(seq & step, 0u);
  EXPECT_EQ(step & src, 0u);
  EXPECT_EQ(ctx | seq | step | src | kP2PFlag, ~uint64_t{0});
  EXPECT_EQ(PointToPoint(0), kP2PFlag);
  EXPECT_EQ(PointToPoint(kMaxContexts - 1) & ~kP2PFlag, ctx);
}

TEST(UcxTagTest, SequenceWraps) {
  EXPECT_EQ(Collective(3, static_cast<uint32_t>(kSeqMask) + 1), Collective(3, 0));
  EXPECT_EQ(Collective(3, 5) >> kCtxShift, 3u);
}

TEST(UcxTagTest, DistinctInputsGiveDistinctTags) {
  std::set<uint64_t> seen;
  int n = 0;
  for (uint32_t ctx : {0u, 1u, kMaxContexts - 1}) {
    for (uint32_t seq : {0u, 1u, static_cast<uint32_t>(kSeqMask)}) {
      for (int step : {0, 1, 4095}) {
        for (int src : {0, 1, kMaxGroupSize - 1}) {
          seen.insert(Coll(ctx, seq, step, src));
          ++n;
        }
      }
    }
    seen.insert(PointToPoint(ctx));
    ++n;
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(n));
}

TEST(UcxCheckTest, FailedCallNamesCallFileLineAndRank) {
  SetProcessRank(2);
  std::string what;
  try {
    UCX_CHECK(UCS_ERR_NO_MEMORY);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBackend);
    what = e.what();
  }
  EXPECT_NE(what.find("rank 2: ucx: UCS_ERR_NO_MEMORY failed at comm/ucx/ucx_transport_test.cc:"),
            std::string::npos)
      << what;
  EXPECT_NE(what.find(ucs_status_string(UCS_ERR_NO_MEMORY)), std::string::npos) << what;
  SetProcessRank(-1);
}

}  // namespace
}  // namespace tpbench
