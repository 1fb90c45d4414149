// comm/comm_base.h: what every host backend shares: argument checks, avg, the ordered
// executor (inline or on a progress thread), counters, timeouts, split naming and the watch
// over the op in flight (comm/op_watch.h). A backend implements three hooks:
//
//   class MyComm final : public CommBase {
//     void Execute(const CollArgs& a, const std::string& algo) override;  // one op, to the end
//     void CheckAlgorithm(OpKind kind, const std::string& algo) const override;
//     std::unique_ptr<CommBase> SplitGroup(int color, int key, std::string name) override;
//     ~MyComm() override { DrainOps(); ... }  // before the backend's own members go
//   };
//
// Execute and SplitGroup run on the executor, watched by the world's OpWatch with deadline()
// (now + timeout() when the op or split starts); a backend whose ops cannot stop at their
// deadline says so (EnforcesDeadline() false) and the watch ends the process (exit 4).
#ifndef TPBENCH_COMM_COMM_BASE_H_
#define TPBENCH_COMM_COMM_BASE_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "comm/communicator.h"
#include "comm/op_watch.h"
#include "comm/p2p.h"

namespace tpbench {

// Runs ops in issue order: inline ops in the caller's thread once everything queued before
// them has finished, async ops on one progress thread. Shared by a world communicator and
// all communicators split from it, so all of them keep one order.
class Executor {
 public:
  ~Executor();
  void RunInline(const std::function<void()>& fn);
  void Enqueue(std::function<void()> fn);
  // Runs fn now if nothing is running or queued (returns false otherwise, without waiting).
  bool TryRunIdle(const std::function<void()>& fn);
  // Watches the op in flight of the communicators sharing this executor.
  OpWatch& watch() { return watch_; }

 private:
  void Loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread worker_;
  OpWatch watch_;
};

class CommBase : public Communicator, public TransportOwner, public WatchedOp {
 public:
  CommBase(int rank, int size, std::string name, std::vector<int> world_ranks,
           std::shared_ptr<Executor> executor);

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return name_; }
  const std::vector<int>& world_ranks() const override { return world_ranks_; }

  // Agrees on the group through SplitGroup, in issue order with queued async ops, watched
  // with a deadline; names the child "<name>/split(color=C)" and gives it this timeout.
  std::unique_ptr<Communicator> Split(int color, int key) final;

  WorkPtr AllReduce(const void* send, void* recv, size_t count, DataType t, ReduceOp op,
                    const OpOptions& o = {}) override;
  WorkPtr AllGather(const void* send, void* recv, size_t count, DataType t,
                    const OpOptions& o = {}) override;
  WorkPtr ReduceScatter(const void* send, void* recv, size_t count, DataType t, ReduceOp op,
                        const OpOptions& o = {}) override;
  WorkPtr Broadcast(const void* send, void* recv, size_t count, DataType t, int root,
                    const OpOptions& o = {}) override;
  WorkPtr Reduce(const void* send, void* recv, size_t count, DataType t, ReduceOp op, int root,
                 const OpOptions& o = {}) override;
  WorkPtr AllToAll(const void* send, void* recv, size_t count, DataType t,
                   const OpOptions& o = {}) override;
  WorkPtr SendRecv(const void* send, int peer_send, void* recv, int peer_recv, size_t count,
                   DataType t, const OpOptions& o = {}) override;
  WorkPtr Send(const void* buf, size_t count, DataType t, int peer,
               const OpOptions& o = {}) override;
  WorkPtr Recv(void* buf, size_t count, DataType t, int peer, const OpOptions& o = {}) override;
  WorkPtr Barrier(const OpOptions& o = {}) override;
  WorkPtr Run(const CollArgs& a, const OpOptions& o = {}) override;

  const Counters& counters() const override { return counters_; }
  void ResetCounters() override { counters_.Reset(); }
  void set_timeout(std::chrono::milliseconds t) override { timeout_ = t; }
  std::chrono::milliseconds timeout() const override { return timeout_; }

  // TransportOwner (what a transport running this communicator's ops reports to).
  Counters& op_counters() override { return counters_; }
  // "all_reduce/ring of 4096 x f32 on group 'world' (4 ranks, this is rank 0)", or the
  // split in progress. Formatted on first use during an op (issuing an op formats nothing);
  // safe to call from another thread (the watch) while the op runs.
  const std::string& current_op() const override;
  // Formats "ranks 2, 3 (world ranks 6, 7)".
  std::string DescribePeers(const std::vector<int>& group_ranks) const override;
  std::chrono::milliseconds op_timeout() const override { return timeout_; }
  void NoteWaiting(const std::string& peers) override;

  // WatchedOp: by default Execute throws TimeoutError at deadline() itself.
  bool EnforcesDeadline() const override { return true; }
  std::string MissingNote() const override { return ""; }

 protected:
  // Runs one op to completion. a.op is never kAvg (CommBase reduces with kSum and divides).
  // Must throw TimeoutError (naming the op, group and missing peers) once deadline() passes,
  // unless EnforcesDeadline() is false (then the watch ends the process at the deadline).
  virtual void Execute(const CollArgs& a, const std::string& algo) = 0;
  // Throws UsageError if this backend has no such algorithm for a.kind.
  virtual void CheckAlgorithm(OpKind kind, const std::string& algo) const = 0;
  // Collective over this group: the communicator of this rank's new group (ranks of one
  // color, ordered by (key, rank)), named `name`; nullptr when color < 0. Runs under
  // deadline() like an op; current_op() names the split.
  virtual std::unique_ptr<CommBase> SplitGroup(int color, int key, std::string name) = 0;

  // Waits for every queued op to finish. Backends call it first in their destructor: their
  // members (transport, MPI communicator) go before this base class.
  void DrainOps() {
    executor_->RunInline([] {});
  }

  Clock::time_point deadline() const { return deadline_; }
  std::shared_ptr<Executor> executor() const { return executor_; }
  Counters counters_;

 private:
  std::string Describe(const CollArgs& a, const std::string& algo) const;
  void Validate(const CollArgs& a) const;
  void RunTask(const CollArgs& a, const std::string& algo, bool avg, Work& work);

  int rank_, size_;
  std::string name_;
  std::vector<int> world_ranks_;
  std::shared_ptr<Executor> executor_;
  std::chrono::milliseconds timeout_;
  Clock::time_point deadline_{};
  CollArgs current_args_;
  std::string current_algo_;
  mutable std::mutex current_mu_;
  mutable std::string current_op_;
  mutable bool current_op_ready_ = false;
};

}  // namespace tpbench

#endif  // TPBENCH_COMM_COMM_BASE_H_
