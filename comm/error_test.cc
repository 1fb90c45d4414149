// Unit test of comm/error.h: status-check failures and out-of-memory become BackendError
// (exit 3) naming the call or size, file:line and the rank; RunMain maps std::bad_alloc to 3.
#include "comm/error.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>

namespace tpbench {
namespace {

std::string Message(const std::function<void()>& fn, ExitCode* code) {
  try {
    fn();
  } catch (const Error& e) {
    *code = e.code();
    return e.what();
  }
  return "";
}

TEST(ErrorTest, BackendCallFailedNamesCallFileLineAndRank) {
  SetProcessRank(3);
  ExitCode code = ExitCode::kOk;
  const std::string m = Message(
      [] { BackendCallFailed("comm/x.cc", 12, "ucp_init(&p, c, &ctx)", "No such device"); }, &code);
  EXPECT_EQ(code, ExitCode::kBackend);
  EXPECT_EQ(m, "rank 3: ucp_init(&p, c, &ctx) failed at comm/x.cc:12: No such device");
  SetProcessRank(-1);
}

TEST(ErrorTest, OutOfMemoryNamesTheSize) {
  SetProcessRank(1);
  ExitCode code = ExitCode::kOk;
  const std::string m = Message([] { OutOfMemory(4096, "ucx scratch"); }, &code);
  EXPECT_EQ(code, ExitCode::kBackend);
  EXPECT_EQ(m, "rank 1: out of memory: cannot allocate 4096 bytes for ucx scratch");
  SetProcessRank(-1);
}

TEST(ErrorTest, FailedAlignedAllocIsOutOfMemory) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer aborts on an impossible allocation instead of failing it";
#endif
  ExitCode code = ExitCode::kOk;
  const size_t huge = std::numeric_limits<size_t>::max() / 2;
  const std::string m = Message([&] { AlignedAllocOrThrow(64, huge, "ucx scratch"); }, &code);
  EXPECT_EQ(code, ExitCode::kBackend);
  EXPECT_NE(m.find("out of memory: cannot allocate "), std::string::npos) << m;
  EXPECT_NE(m.find(" bytes for ucx scratch"), std::string::npos) << m;
}

TEST(ErrorTest, AlignedAllocRoundsUpAndAligns) {
  void* p = AlignedAllocOrThrow(64, 1, "test");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  std::free(p);
}

TEST(ErrorTest, RunMainMapsBadAllocToBackendExit) {
  EXPECT_EQ(RunMain([]() -> int { throw std::bad_alloc(); }), 3);
  EXPECT_EQ(RunMain([]() -> int { throw UsageError("x"); }), 2);
}

}  // namespace
}  // namespace tpbench
