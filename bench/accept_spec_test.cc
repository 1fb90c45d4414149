// bench/accept_spec_test.cc: the spec parser accepts the documented format (and every shipped
// spec) and rejects bad files with exit 2 naming FILE:LINE: unknown words and keys, missing or
// wrong units, impossible values.
#include "bench/accept_spec.h"

#include <gtest/gtest.h>

#include <string>

#include "comm/error.h"

namespace tpbench {
namespace {

const char* kGood = R"(# a spec
profile x86_64-test
source measured here, 3 runs
mesh 2x2
link latency size=8B max=60us tol=50%
link bandwidth size=1MiB min=0.8GB/s tol=50%
collective all_reduce size=4MiB min_busbw=500MB/s tol=30% groups=world,rows,cols
gemm n=256 min=5GFLOP/s
copy size=16MiB min=2GB/s tol=40%
straggler size=64KiB max_wait=2ms
)";

TEST(AcceptSpec, ParsesTheDocumentedFormat) {
  AcceptSpec s = ParseAcceptSpec(kGood, "t.spec");
  EXPECT_EQ(s.profile, "x86_64-test");
  EXPECT_EQ(s.source, "measured here, 3 runs");
  EXPECT_EQ(s.mesh_rows, 2);
  ASSERT_EQ(s.checks.size(), 6u);
  EXPECT_EQ(s.checks[0].op, "latency");
  EXPECT_TRUE(s.checks[0].is_max);
  EXPECT_DOUBLE_EQ(s.checks[0].limit, 60e-6);
  EXPECT_DOUBLE_EQ(s.checks[0].bound(), 90e-6);
  EXPECT_TRUE(s.checks[0].Passes(80e-6));
  EXPECT_FALSE(s.checks[0].Passes(100e-6));
  EXPECT_DOUBLE_EQ(s.checks[1].size, 1048576);
  EXPECT_DOUBLE_EQ(s.checks[2].limit, 5e8);
  EXPECT_EQ(s.checks[2].groups.size(), 3u);
  EXPECT_FALSE(s.checks[2].Passes(0.3e9));
  EXPECT_TRUE(s.checks[2].Passes(0.36e9));
  EXPECT_DOUBLE_EQ(s.checks[3].size, 256);
  EXPECT_EQ(s.checks[5].origin, "t.spec:10");
  EXPECT_EQ(s.fault_mode, "detect");  // acceptance's default
  EXPECT_EQ(ParseAcceptSpec(std::string(kGood) + "fault_mode fast\n", "t").fault_mode, "fast");
}

void ExpectError(const std::string& line, const std::string& message) {
  const std::string text = "profile p\n" + line + "\n";
  try {
    ParseAcceptSpec(text, "bad.spec");
    ADD_FAILURE() << "accepted: " << line;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << line << " -> " << e.what();
  }
}

TEST(AcceptSpec, RejectsBadLinesNamingThem) {
  ExpectError("link latency size=8B max=60", "bad.spec:2: max: '60' needs a unit: us, ns, ms, s");
  ExpectError("link latency size=8 max=60us", "bad.spec:2: size: '8' needs a unit: B, KiB");
  ExpectError("link bandwidth size=1MiB min=0.8GB", "needs a unit: GB/s, MB/s");
  ExpectError("link bandwidth size=1MiB mn=0.8GB/s",
              "bad.spec:2: unknown key 'mn' for link bandwidth");
  ExpectError("link jitter size=8B max=1us", "bad.spec:2: unknown check 'link jitter'");
  ExpectError("colective all_reduce size=1MiB min_busbw=1GB/s", "unknown check 'colective'");
  ExpectError("collective allreduce size=1MiB min_busbw=1GB/s", "unknown collective 'allreduce'");
  ExpectError("copy size=-16MiB min=2GB/s", "must be a positive number");
  ExpectError("copy size=16MiB min=0GB/s", "must be a positive number");
  ExpectError("copy size=16MiB min=2GB/s tol=150%", "a minimum's tolerance must be below 100%");
  ExpectError("link latency size=8B max=1us tol=2000%", "tol: '2000%' must be at most 1000%");
  ExpectError("copy size=16MiB", "copy needs its figure");
  ExpectError("gemm n=0 min=1GFLOP/s", "n: '0' is not a size");
  ExpectError("collective all_gather size=1MiB min_busbw=1GB/s groups=world,diag",
              "unknown group 'diag'");
  ExpectError("mesh 2by2", "mesh '2by2' is not RxC");
  ExpectError("fault_mode careful", "bad.spec:2: fault_mode takes fast or detect");
}

TEST(AcceptSpec, NeedsProfileAndChecks) {
  EXPECT_THROW(ParseAcceptSpec("copy size=1MiB min=1GB/s\n", "x"), Error);
  EXPECT_THROW(ParseAcceptSpec("profile p\n", "x"), Error);
  EXPECT_THROW(ReadAcceptSpec("/nonexistent.spec"), Error);
}

}  // namespace
}  // namespace tpbench
