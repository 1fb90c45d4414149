// comm/work.h: the asynchronous handle every communicator op returns.
//
//   WorkPtr w = comm.AllReduce(x, x, n, DataType::kF32, ReduceOp::kSum, {.stream =
//   Stream::Async()});
//   ... compute ...
//   w->Wait();                  // throws Error (exit code 4 on timeout, 3 on transport failure)
//   double us = w->DurationUs();
//
// Contract (as PyTorch c10d Work): Test() never blocks and is true once the op has finished,
// successfully or not; Wait() blocks until it finishes or the deadline passes, and rethrows the
// op's error. A Work may be waited on from one thread at a time. Host backends finish inline ops
// before returning them; async ops run in issue order on the communicator's progress thread.
#ifndef TPBENCH_COMM_WORK_H_
#define TPBENCH_COMM_WORK_H_

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace tpbench {

using Clock = std::chrono::steady_clock;

class Work {
 public:
  // describe: formats the op, its group and size for messages; called only when needed (a
  // timeout), so issuing an op costs no string formatting.
  Work(std::function<std::string()> describe, std::chrono::milliseconds default_timeout);
  virtual ~Work() = default;
  Work(const Work&) = delete;
  Work& operator=(const Work&) = delete;

  virtual bool Test();
  void Wait() { Wait(default_timeout_); }
  virtual void Wait(std::chrono::milliseconds timeout);

  // True once finished without error.
  bool Ok();
  // Microseconds from the op's start of execution to its completion (0 until finished).
  virtual double DurationUs();
  std::string Describe() const { return describe_ ? describe_() : std::string("op"); }

  // Called by the backend that executes the op.
  void MarkStarted();
  void MarkFinished(std::exception_ptr error = nullptr);

 protected:
  std::function<std::string()> describe_;
  std::chrono::milliseconds default_timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::exception_ptr error_;
  Clock::time_point start_{}, end_{};
};

using WorkPtr = std::shared_ptr<Work>;

}  // namespace tpbench

#endif  // TPBENCH_COMM_WORK_H_
