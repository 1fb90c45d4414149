// comm/op_watch.h: the op a world (and its splits) is running, noted when it is slow and
// ended when it outlives a deadline its backend cannot enforce. CommBase uses it for every
// op and split of every backend; backends only tell it whom they are waiting for.
//
//   OpWatch watch;                                     // one per world, shared by its splits
//   {
//     OpWatch::Scope s(watch, comm, deadline, timeout);   // comm: the WatchedOp running it
//     ... run the op; a slow wait calls watch.NoteWaiting(comm, "rank 1 (world 1)") ...
//   }
//
// An op in flight is noted for the SIGTERM handler (SetInFlight in comm/bootstrap.h) as
// "<op>; waiting for <peers>" as soon as its transport reports a slow wait (NoteWaiting), so
// a launcher tear-down reports it. Then it depends on the backend:
//   - an op that enforces its own deadline (its transport throws TimeoutError naming the
//     missing peers, as ucx does) costs the watch nothing on the fast path: no lock, no
//     thread, one relaxed load when it ends;
//   - otherwise (a blocking MPI call cannot be cancelled) one thread, started by the first
//     such op, sleeps on a condition variable (no per-op hand-off, no spinning; it wakes
//     every kNotePeriod while an op runs), notes an op in flight longer than kNotePeriod, and
//     at the deadline ends the process with exit code 4 and
//     "tpbench: error: rank R: timeout after T s in <op>: <MissingNote()>".
#ifndef TPBENCH_COMM_OP_WATCH_H_
#define TPBENCH_COMM_OP_WATCH_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "comm/work.h"

namespace tpbench {

// The op being watched (CommBase implements it). Called from the watch's thread while the
// op runs: both must be thread-safe.
class WatchedOp {
 public:
  virtual const std::string& current_op() const = 0;
  // False: the watch ends the process at the deadline, saying MissingNote().
  virtual bool EnforcesDeadline() const = 0;
  virtual std::string MissingNote() const = 0;

 protected:
  ~WatchedOp() = default;
};

class OpWatch {
 public:
  static constexpr std::chrono::milliseconds kNotePeriod{500};

  OpWatch() = default;
  ~OpWatch();
  OpWatch(const OpWatch&) = delete;
  OpWatch& operator=(const OpWatch&) = delete;

  // Marks an op in flight for its lifetime. Reads no clock (the op start is deadline -
  // timeout) and wakes the thread only when it sleeps past this deadline.
  class Scope {
   public:
    Scope(OpWatch& w, const WatchedOp& op, Clock::time_point deadline,
          std::chrono::milliseconds timeout)
        : w_(w), watched_(!op.EnforcesDeadline()) {
      if (watched_) w_.Begin(op, deadline, timeout);
    }
    ~Scope() { watched_ ? w_.End() : w_.EndUnwatched(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    OpWatch& w_;
    bool watched_;
  };

  // The op in flight (`op`, inside a Scope) still waits for `peers`: noted now, with the op.
  void NoteWaiting(const WatchedOp& op, const std::string& peers);

 private:
  void Begin(const WatchedOp& op, Clock::time_point deadline, std::chrono::milliseconds timeout);
  void End();
  void EndUnwatched() {
    if (noted_.load(std::memory_order_relaxed)) End();
  }
  void Loop();
  void Note();  // caller holds mu_
  [[noreturn]] void Fire();

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  const WatchedOp* op_ = nullptr;  // the op in flight, or nullptr
  Clock::time_point begin_{}, deadline_{};
  Clock::time_point wake_at_ = Clock::time_point::max();
  std::chrono::milliseconds timeout_{0};
  std::atomic<bool> noted_{false};  // SetInFlight done for the op in flight
  std::string waiting_;
  std::thread thread_;
};

}  // namespace tpbench

#endif  // TPBENCH_COMM_OP_WATCH_H_
