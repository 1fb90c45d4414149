// comm/p2p.h: the point-to-point interface that tpbench's collective algorithms run on (P2P)
// and the per-group transport a backend provides for it (Transport).
//
//   void AllReduceRing(P2P& p, const CollArgs& a) {
//     Request r[2] = {p.Irecv(tmp, bytes, left, step), p.Isend(blk, bytes, right, step)};
//     p.WaitAll(r, 2);  // throws TimeoutError naming the peers that never arrived
//   }
//
//   // patterns/p2p_communicator.cc, once per op (ops of one group never overlap):
//   transport->BeginOp({OpKind::kAllReduce, /*point_to_point=*/false, deadline, this});
//   FindAlgorithm(OpKind::kAllReduce, "ring")->run(*transport, args);
//
// Ranks are group-local. A backend (comm/ucx; the in-process transport of
// patterns/testing) implements Transport; the communicator that runs algorithms over any
// Transport is patterns/p2p_communicator.h. A transport counts every byte it sends under the
// op's kind, and when counts_inter_node() flags the bytes sent to a rank on another node()
// (Counters::Add's inter_node). Rules every algorithm can rely on:
//   - zero-byte sends and receives are no-ops on both sides (not sent, not counted);
//   - messages between one pair with the same tag are matched in the order they were posted;
//   - tags are small integers (0..kMaxTag) local to the op; use them to separate steps;
//   - messages of different ops, and of different groups, never match each other.
// Algorithms touch buffer contents only through Reduce and Copy (never memcpy or
// comm/reduce.h directly): a host transport keeps the defaults (host memory), a device
// transport (comm/nccl) runs them on its memory, ordered after the receives waited for.
#ifndef TPBENCH_COMM_P2P_H_
#define TPBENCH_COMM_P2P_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "comm/reduce.h"
#include "comm/types.h"
#include "comm/work.h"

namespace tpbench {

constexpr int kMaxTag = 4095;
constexpr int kScratchSlots = 4;

struct Request {
  void* handle = nullptr;  // transport-owned; nullptr = already complete
  int peer = -1;
  bool is_send = false;
};

class P2P {
 public:
  virtual ~P2P() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  virtual Request Isend(const void* buf, size_t bytes, int peer, int tag) = 0;
  virtual Request Irecv(void* buf, size_t bytes, int peer, int tag) = 0;
  // Completes all n requests (null handles are skipped). Throws TimeoutError when the op's
  // deadline passes, naming the peers whose requests did not complete.
  virtual void WaitAll(Request* reqs, int n) = 0;

  // A buffer of at least `bytes` that lives as long as the transport; slot selects one of
  // kScratchSlots independent buffers. Contents are undefined on entry.
  virtual char* Scratch(size_t bytes, int slot = 0) = 0;
  // The node (host) of group rank r: ranks of one node share memory, the others talk over
  // the network. Hierarchical algorithms split the group by it. Default: one node.
  virtual int node(int r) const {
    (void)r;
    return 0;
  }

  // out = a (op) b element-wise over count elements (out may alias a or b); `streaming`:
  // out is final and will not be read again soon (ReduceIntoStreaming on the host). Default:
  // the host reduction of comm/reduce.h.
  virtual void Reduce(void* out, const void* a, const void* b, size_t count, DataType t,
                      ReduceOp op, bool streaming = false) {
    if (streaming) {
      ReduceIntoStreaming(out, a, b, count, t, op);
    } else {
      ReduceInto(out, a, b, count, t, op);
    }
  }
  // Copies bytes from src to dst (non-overlapping, or the same pointer: then nothing).
  // Default: memcpy.
  virtual void Copy(void* dst, const void* src, size_t bytes) {
    if (bytes > 0 && dst != src) std::memcpy(dst, src, bytes);
  }

  // Conveniences built on the above.
  void Wait(Request& r) { WaitAll(&r, 1); }
  void Send(const void* buf, size_t bytes, int peer, int tag) {
    Request r = Isend(buf, bytes, peer, tag);
    WaitAll(&r, 1);
  }
  void Recv(void* buf, size_t bytes, int peer, int tag) {
    Request r = Irecv(buf, bytes, peer, tag);
    WaitAll(&r, 1);
  }
  void SendRecv(const void* sbuf, size_t sbytes, int dst, void* rbuf, size_t rbytes, int src,
                int tag) {
    Request r[2] = {Irecv(rbuf, rbytes, src, tag), Isend(sbuf, sbytes, dst, tag)};
    WaitAll(r, 2);
  }
};

// The communicator a transport works for (CommBase implements it): where sends are counted,
// and what messages and in-flight notes say. Valid for the whole op.
class TransportOwner {
 public:
  virtual Counters& op_counters() = 0;
  // "all_reduce/ring of 4096 x f32 on group 'world' (4 ranks, this is rank 0)"; formatted
  // only when called (slow paths), never while the op runs normally.
  virtual const std::string& current_op() const = 0;
  // "ranks 2, 3 (world ranks 6, 7)" for group ranks.
  virtual std::string DescribePeers(const std::vector<int>& group_ranks) const = 0;
  virtual std::chrono::milliseconds op_timeout() const = 0;
  // A wait of the op is slow: `peers` (DescribePeers) are the ones it still waits for. Noted
  // for the SIGTERM handler (comm/bootstrap.h) until the op ends.
  virtual void NoteWaiting(const std::string& peers) = 0;

 protected:
  ~TransportOwner() = default;
};

// What a communicator tells its transport before each op.
struct TransportOp {
  OpKind kind = OpKind::kInternal;  // sends are counted under this kind
  // Send/recv: only two ranks take part, so messages are ordered per (sender, receiver)
  // pair and tags are ignored; otherwise a collective of the whole group (every rank issues
  // the group's collectives in the same order).
  bool point_to_point = false;
  Clock::time_point deadline{};     // waits throw TimeoutError once it passes
  TransportOwner* owner = nullptr;  // counters and messages
};

// One group's point-to-point transport. Owned by one communicator, which runs one op at a
// time over it (its Executor keeps ops in order), so implementations need no locking.
class Transport : public P2P {
 public:
  // Starts an op; the sends and waits that follow belong to it.
  virtual void BeginOp(const TransportOp& op) = 0;

  // World rank of each group rank.
  virtual const std::vector<int>& world_ranks() const = 0;

  // Context ids keep the messages of different groups apart: the world's is 0. A split
  // agrees on the maximum of next_free_context_id() over the parent group (every member of
  // a new group took part in creating every group it belongs to, so that id is free for
  // all of them), then calls Split with it; ids must stay below max_context_ids().
  virtual uint32_t next_free_context_id() const = 0;
  virtual uint32_t max_context_ids() const = 0;
  // The transport of a new group; members[i] is the rank in this group of new rank i (this
  // rank among them). Empty members: this rank is in no new group (returns nullptr); the
  // context id is taken either way.
  virtual std::unique_ptr<Transport> Split(uint32_t context_id,
                                           const std::vector<int>& members) = 0;

  // True when every send is counted with inter_node = (node(peer) != node(rank())).
  virtual bool counts_inter_node() const { return false; }

  // Drives pending work (acknowledgements a peer still needs) while this rank waits outside
  // any op (Bootstrap agreements). Never called while an op runs.
  virtual void ProgressIdle() {}
};

}  // namespace tpbench

#endif  // TPBENCH_COMM_P2P_H_
