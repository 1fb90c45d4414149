#include "comm/work.h"

#include <cstdio>

#include "comm/error.h"

namespace tpbench {

Work::Work(std::function<std::string()> describe, std::chrono::milliseconds default_timeout)
    : describe_(std::move(describe)), default_timeout_(default_timeout) {}

bool Work::Test() {
  std::lock_guard<std::mutex> l(mu_);
  return done_;
}

void Work::Wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  if (!cv_.wait_for(l, timeout, [&] { return done_; })) {
    char secs[32];
    std::snprintf(secs, sizeof(secs), "%.1f", timeout.count() / 1000.0);
    throw TimeoutError("timeout after " + std::string(secs) + " s waiting for " + Describe() +
                       " (the op is still running)");
  }
  if (error_) std::rethrow_exception(error_);
}

bool Work::Ok() {
  std::lock_guard<std::mutex> l(mu_);
  return done_ && !error_;
}

double Work::DurationUs() {
  std::lock_guard<std::mutex> l(mu_);
  if (!done_) return 0;
  return std::chrono::duration<double, std::micro>(end_ - start_).count();
}

void Work::MarkStarted() {
  std::lock_guard<std::mutex> l(mu_);
  start_ = Clock::now();
}

void Work::MarkFinished(std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> l(mu_);
    end_ = Clock::now();
    error_ = error;
    done_ = true;
  }
  cv_.notify_all();
}

}  // namespace tpbench
