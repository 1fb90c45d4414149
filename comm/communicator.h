// comm/communicator.h: the one interface every backend (ucx, mpi, nccl) implements.
//
//   std::unique_ptr<Communicator> world = CreateWorld("ucx");       // after Bootstrap::Init
//   auto row = world->Split(/*color=*/world->rank() / 2, /*key=*/world->rank());
//   WorkPtr w = row->AllReduce(buf, buf, n, DataType::kF32, ReduceOp::kSum);  // inline: done
//   WorkPtr a = row->AllReduce(buf, buf, n, DataType::kF32, ReduceOp::kSum,
//                              OpOptions{"ring", Stream::Async()});
//   a->Wait();
//   uint64_t sent = row->counters().Get(OpKind::kAllReduce).bytes;
//
// Every op is asynchronous and returns a Work. Ops of one communicator (and of every
// communicator split from it) execute in issue order, which must be the same on all ranks of
// the group. A backend that lacks an op or an algorithm throws UsageError naming it.
#ifndef TPBENCH_COMM_COMMUNICATOR_H_
#define TPBENCH_COMM_COMMUNICATOR_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "comm/coll.h"
#include "comm/types.h"
#include "comm/work.h"

namespace tpbench {

// Where an op runs. Host backends: kInline executes in the caller's thread before returning;
// kAsync queues on the progress thread. Device backends: kDevice enqueues on `handle`
// (a cudaStream_t) and returns at once.
struct Stream {
  enum class Kind { kInline, kAsync, kDevice };
  Kind kind = Kind::kInline;
  void* handle = nullptr;
  static Stream Inline() { return Stream{}; }
  static Stream Async() { return Stream{Kind::kAsync, nullptr}; }
  static Stream Device(void* h) { return Stream{Kind::kDevice, h}; }
};

struct OpOptions {
  std::string algo = "auto";  // algorithm name from the registry (ucx) or "auto"/"native"
  Stream stream;
};

// Bytes and messages this rank sent, per op kind (measured in the transport, not modelled),
// and of those bytes the ones sent to ranks on other nodes (P2P::node).
struct OpCount {
  uint64_t bytes = 0;
  uint64_t msgs = 0;
  uint64_t inter_node_bytes = 0;
};
class Counters {
 public:
  void Add(OpKind k, uint64_t bytes, bool inter_node = false) {
    auto& c = by_op_[static_cast<int>(k)];
    c.bytes += bytes;
    c.msgs += 1;
    if (inter_node) c.inter_node_bytes += bytes;
  }
  OpCount Get(OpKind k) const { return by_op_[static_cast<int>(k)]; }
  OpCount Total() const;  // all kinds except kInternal
  // Zeroes the counts; `measured` and `inter_node_measured` are the backend's and stay.
  void Reset() {
    for (OpCount& c : by_op_) c = OpCount();
  }
  // False when the backend cannot observe its traffic (then every count reads 0).
  bool measured = true;
  // True when the backend also tells which bytes leave the node (tpbench's own algorithms
  // over a transport that knows the nodes); otherwise inter_node_bytes reads 0 and means
  // "not measured", never "none".
  bool inter_node_measured = false;

 private:
  OpCount by_op_[kNumOpKinds];
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;
  // "world", or e.g. "world/split(color=1)"; used in messages.
  virtual std::string name() const = 0;
  // World rank of each group rank.
  virtual const std::vector<int>& world_ranks() const = 0;

  // Collective over this communicator. Ranks with the same color form a group ordered by
  // (key, old rank); color < 0 returns nullptr for that rank.
  virtual std::unique_ptr<Communicator> Split(int color, int key) = 0;

  virtual WorkPtr AllReduce(const void* send, void* recv, size_t count, DataType t, ReduceOp op,
                            const OpOptions& o = {}) = 0;
  virtual WorkPtr AllGather(const void* send, void* recv, size_t count, DataType t,
                            const OpOptions& o = {}) = 0;
  virtual WorkPtr ReduceScatter(const void* send, void* recv, size_t count, DataType t, ReduceOp op,
                                const OpOptions& o = {}) = 0;
  virtual WorkPtr Broadcast(const void* send, void* recv, size_t count, DataType t, int root,
                            const OpOptions& o = {}) = 0;
  virtual WorkPtr Reduce(const void* send, void* recv, size_t count, DataType t, ReduceOp op,
                         int root, const OpOptions& o = {}) = 0;
  virtual WorkPtr AllToAll(const void* send, void* recv, size_t count, DataType t,
                           const OpOptions& o = {}) = 0;
  // Sends count elements to peer_send and receives count elements from peer_recv.
  virtual WorkPtr SendRecv(const void* send, int peer_send, void* recv, int peer_recv, size_t count,
                           DataType t, const OpOptions& o = {}) = 0;
  virtual WorkPtr Send(const void* buf, size_t count, DataType t, int peer,
                       const OpOptions& o = {}) = 0;
  virtual WorkPtr Recv(void* buf, size_t count, DataType t, int peer, const OpOptions& o = {}) = 0;
  virtual WorkPtr Barrier(const OpOptions& o = {}) = 0;

  // The generic entry used by benchmarks: runs the op described by a (kind, buffers, ...).
  virtual WorkPtr Run(const CollArgs& a, const OpOptions& o = {}) = 0;

  virtual const Counters& counters() const = 0;
  virtual void ResetCounters() = 0;

  // Deadline of every op (and the default of Work::Wait). Default: TPBENCH_TIMEOUT_S or 300 s.
  virtual void set_timeout(std::chrono::milliseconds t) = 0;
  virtual std::chrono::milliseconds timeout() const = 0;

  // Algorithms this backend offers for an op kind (for --list and validation).
  virtual std::vector<std::string> Algorithms(OpKind k) const = 0;

  // True when the op buffers must be device memory (nccl: CUDA memory of this rank's GPU).
  virtual bool device_memory() const { return false; }
};

// Default op deadline: $TPBENCH_TIMEOUT_S seconds if set, else 300 s.
std::chrono::milliseconds DefaultTimeout();

}  // namespace tpbench

#endif  // TPBENCH_COMM_COMMUNICATOR_H_
