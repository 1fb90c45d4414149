// comm/nccl/nccl_transport.h: the comm/p2p.h Transport over NCCL point-to-point, so that
// tpbench's own algorithms (ring, recursive doubling, ...) run on GPUs next to NCCL's native
// collectives (`--backend nccl --algo ring`). CUDA builds only; used by the nccl communicator.
//
//   NcclTransport t(group_comm, rank, size, world_ranks, op_stream);  // collective, once
//   t.BeginOp(op);
//   FindAlgorithm(OpKind::kAllReduce, "ring")->run(t, args);           // device buffers
//   t.EndOp();  // op_stream now waits for every message of the op
//
// Nothing blocks the host: every call enqueues GPU work and returns.
// - Messages: one 2-rank NCCL communicator and one stream per ordered pair (a -> b), created
//   together (ids all-gathered over the group's communicator, ncclCommInitRankConfig in one
//   group, at most 2 CTAs each). Isend(b) is an ncclSend on edge (me -> b)'s stream after an
//   event of the op stream (the data is ready), Irecv(a) an ncclRecv on edge (a -> me)'s
//   stream; the request is the event recorded after it. WaitAll makes the op stream wait for
//   those events. Each edge progresses on its own, so an algorithm that completes with
//   nonblocking sends and receives (UCX, the thread transport) completes here: no grouping of
//   steps has to match between peers (grouping sends and receives at WaitAll would: the
//   pipelined ring's first wait covers all of step 0's sends but only the first receives).
// - Matching: per ordered pair in posting order; tags are ignored (p2p.h's rule for one tag
//   holds; every registered algorithm posts a pair's messages in the same order on both
//   sides). Sizes must match exactly, as NCCL requires.
// - Messages to this rank itself are device copies on the op stream (staged when the send
//   comes first).
// - Reduce (comm/cuda/device_reduce.h) and Copy (cudaMemcpyAsync) run on the op stream;
//   Scratch is device memory.
// - Counters: every byte sent to another rank, under the op's kind: these are tpbench's own
//   messages, so they are measured, as on the host transports.
// - Deadlines: the communicator's Work polls the op's end event and aborts every
//   communicator here (comms()) at the deadline.
// Builds and links; never ran on a GPU.
#ifndef TPBENCH_COMM_NCCL_NCCL_TRANSPORT_H_
#define TPBENCH_COMM_NCCL_NCCL_TRANSPORT_H_

#include <cuda_runtime.h>
#include <nccl.h>

#include <deque>
#include <memory>
#include <vector>

#include "comm/p2p.h"

namespace tpbench {

class NcclTransport final : public Transport {
 public:
  // Collective over `group` (every member calls it for the same op).
  NcclTransport(ncclComm_t group, int rank, int size, std::vector<int> world_ranks,
                cudaStream_t op_stream);
  ~NcclTransport() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  Request Isend(const void* buf, size_t bytes, int peer, int tag) override;
  Request Irecv(void* buf, size_t bytes, int peer, int tag) override;
  void WaitAll(Request* reqs, int n) override;
  char* Scratch(size_t bytes, int slot = 0) override;
  void Reduce(void* out, const void* a, const void* b, size_t count, DataType t, ReduceOp op,
              bool streaming = false) override;
  void Copy(void* dst, const void* src, size_t bytes) override;

  void BeginOp(const TransportOp& op) override;
  // Makes the op stream wait for every message of the op (waited for or not); throws
  // BackendError if a message to this rank itself was never matched.
  void EndOp();

  const std::vector<int>& world_ranks() const override { return world_ranks_; }
  // Groups are split by the communicator (ncclCommSplit), which makes a new transport.
  uint32_t next_free_context_id() const override { return 0; }
  uint32_t max_context_ids() const override { return 1; }
  std::unique_ptr<Transport> Split(uint32_t context_id, const std::vector<int>& members) override;

  // The pair communicators (to abort at a deadline). After Abandon() the destructor leaves
  // them alone (they were aborted).
  std::vector<ncclComm_t> comms() const;
  void Abandon() { abandoned_ = true; }

 private:
  struct Edge {
    ncclComm_t comm = nullptr;
    cudaStream_t stream = nullptr;
    bool used = false;  // in the current op
  };
  struct SelfMsg {
    void* buf = nullptr;  // the receive buffer, or the staged copy of a send
    size_t bytes = 0;
    bool staged = false;
  };
  void CreateEdges(ncclComm_t group);
  cudaEvent_t NewEvent();
  Request Post(Edge& e, bool send, void* buf, size_t bytes, int peer);
  void SelfSend(const void* buf, size_t bytes);
  void SelfRecv(void* buf, size_t bytes);

  int rank_, size_;
  std::vector<int> world_ranks_;
  cudaStream_t op_stream_;
  std::vector<Edge> out_, in_;  // by peer: edge (me -> peer), edge (peer -> me)
  std::deque<SelfMsg> self_sends_, self_recvs_;
  std::vector<cudaEvent_t> free_events_, op_events_;
  char* scratch_[kScratchSlots] = {};
  size_t scratch_bytes_[kScratchSlots] = {};
  TransportOp op_;
  bool abandoned_ = false;
};

}  // namespace tpbench

#endif  // TPBENCH_COMM_NCCL_NCCL_TRANSPORT_H_
