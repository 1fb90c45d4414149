// comm/comm_base.h: what every host backend shares: argument checks, avg, the ordered
// executor (inline or on a progress thread), counters and timeouts. A backend implements
// Execute() (run one op to completion, synchronously, honouring deadline()) and DoSplit().
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

 private:
  void Loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread worker_;
};

class CommBase : public Communicator {
 public:
  CommBase(int rank, int size, std::string name, std::vector<int> world_ranks,
           std::shared_ptr<Executor> executor);

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return name_; }
  const std::vector<int>& world_ranks() const override { return world_ranks_; }

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

 protected:
  // Runs one op to completion. a.op is never kAvg (CommBase reduces with kSum and divides).
  // Must throw TimeoutError (naming the op, group and missing peers) once deadline() passes.
  virtual void Execute(const CollArgs& a, const std::string& algo) = 0;
  // Throws UsageError if this backend has no such algorithm for a.kind.
  virtual void CheckAlgorithm(OpKind kind, const std::string& algo) const = 0;

  Clock::time_point deadline() const { return deadline_; }
  // "all_reduce/ring of 4096 x f32 on group 'world' (4 ranks, this is rank 0)", for
  // messages. Formatted on first use during an op (issuing an op formats nothing); safe to
  // call from another thread (a watchdog) while the op runs.
  const std::string& current_op() const;
  // Formats "ranks 2, 3 (world ranks 6, 7)".
  std::string DescribePeers(const std::vector<int>& group_ranks) const;

  std::shared_ptr<Executor> executor() const { return executor_; }
  Counters counters_;

 private:
  std::string Describe(const CollArgs& a, const std::string& algo) const;
  void Validate(const CollArgs& a) const;

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
