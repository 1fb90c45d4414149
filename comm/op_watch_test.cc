// Unit test of comm/op_watch.h: an op whose backend cannot enforce its deadline ends the
// process with exit code 4 and the message naming the op; one that enforces it is left alone.
#include "comm/op_watch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

namespace tpbench {
namespace {

class FakeOp : public WatchedOp {
 public:
  explicit FakeOp(bool enforces) : enforces_(enforces) {}
  const std::string& current_op() const override { return name_; }
  bool EnforcesDeadline() const override { return enforces_; }
  std::string MissingNote() const override { return "the group holds world ranks 0, 1"; }

 private:
  bool enforces_;
  std::string name_ = "all_reduce/auto of 4 x f32 on group 'world'";
};

void RunLate(bool enforces) {
  OpWatch watch;
  FakeOp op(enforces);
  const auto timeout = std::chrono::milliseconds(100);
  OpWatch::Scope s(watch, op, Clock::now() + timeout, timeout);
  watch.NoteWaiting(op, "rank 1 (world 1)");
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
}

TEST(OpWatchDeathTest, UnenforcedDeadlineEndsTheProcessWithExit4) {
  EXPECT_EXIT(RunLate(/*enforces=*/false), ::testing::ExitedWithCode(4),
              "timeout after 0.1 s in all_reduce/auto of 4 x f32 on group 'world': the group "
              "holds world ranks 0, 1");
}

TEST(OpWatchTest, EnforcedDeadlineIsLeftToTheBackend) {
  RunLate(/*enforces=*/true);  // returns: the watch never ends the process
  SUCCEED();
}

TEST(OpWatchTest, ShortOpsNeedNoWakeUp) {
  OpWatch watch;
  for (bool enforces : {false, true}) {
    FakeOp op(enforces);
    for (int i = 0; i < 100000; ++i) {
      OpWatch::Scope s(watch, op, Clock::now() + std::chrono::seconds(60),
                       std::chrono::seconds(60));
    }
  }
  SUCCEED();
}

}  // namespace
}  // namespace tpbench
