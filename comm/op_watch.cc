// comm/op_watch.cc: the watch thread, in-flight notes and the end of a late op.
#include "comm/op_watch.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "comm/bootstrap.h"
#include "comm/error.h"

namespace tpbench {

constexpr std::chrono::milliseconds OpWatch::kNotePeriod;

OpWatch::~OpWatch() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OpWatch::Begin(const WatchedOp& op, Clock::time_point deadline,
                    std::chrono::milliseconds timeout) {
  bool wake;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
    op_ = &op;
    noted_ = false;
    waiting_.clear();
    begin_ = deadline - timeout;
    deadline_ = deadline;
    timeout_ = timeout;
    // Only when the thread sleeps past this deadline (the first op after a shorter timeout).
    wake = deadline < wake_at_;
  }
  if (wake) cv_.notify_one();
}

void OpWatch::End() {
  std::lock_guard<std::mutex> l(mu_);
  op_ = nullptr;
  if (noted_) ClearInFlight();
  noted_ = false;
}

void OpWatch::NoteWaiting(const WatchedOp& op, const std::string& peers) {
  std::lock_guard<std::mutex> l(mu_);
  waiting_ = peers;
  SetInFlight(op.current_op() + "; waiting for " + peers);
  noted_ = true;
}

void OpWatch::Note() {
  const std::string& op = op_->current_op();
  SetInFlight(waiting_.empty() ? op : op + "; waiting for " + waiting_);
  noted_ = true;
}

void OpWatch::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    const Clock::time_point now = Clock::now();
    if (op_ && now >= deadline_ && !op_->EnforcesDeadline()) Fire();
    if (op_ && !noted_ && now - begin_ >= kNotePeriod) Note();
    wake_at_ = now + kNotePeriod;
    if (op_ && deadline_ > now) wake_at_ = std::min(wake_at_, deadline_);
    cv_.wait_until(l, wake_at_);
  }
}

void OpWatch::Fire() {
  std::fprintf(stderr, "tpbench: error: rank %d: timeout after %g s in %s: %s\n", Bootstrap::rank(),
               static_cast<double>(timeout_.count()) / 1000.0, op_->current_op().c_str(),
               op_->MissingNote().c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  _exit(static_cast<int>(ExitCode::kTimeout));
}

}  // namespace tpbench
