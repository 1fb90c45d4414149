// comm/ucx/ucx_transport.h: the `ucx` transport (comm/p2p.h): tagged sends and receives of
// one group over the process's UCX worker. tpbench's algorithms run over it through the
// transport-agnostic communicator (patterns/p2p_communicator.h), which names the backend "ucx".
//
//   std::shared_ptr<Transport> world = CreateUcxTransport();   // after Bootstrap::Init
//   world->BeginOp({OpKind::kAllReduce, /*point_to_point=*/false, deadline, owner});
//   ResolveAlgorithm(kind, algo, bytes, world->size()).run(*world, args);
//
// One UcxContext (ucp context, worker, endpoints to every world rank) per process is shared
// by the world transport and every transport split from it; each group has its own context id
// in the message tags.
//
// Tag layout (64 bits; receives use a full mask, so every field must match exactly):
//
//   bit  63       P: 0 = collective op, 1 = point-to-point (send/recv)
//   bits 47..62   context id (16 bits): one per communicator, agreed at Split; world = 0
//   P = 0:
//     bits 27..46 op sequence number (20 bits, wraps), the same on every rank of the group
//     bits 15..26 step tag (12 bits, 0..4095) chosen by the algorithm
//   P = 1:
//     bits 15..46 message sequence number of this (sender, receiver) pair (32 bits, wraps);
//                 point-to-point ops involve only two ranks, so they cannot use the group's
//                 op sequence number; the algorithm's tag is ignored there
//   bits 0..14    source group rank (15 bits: groups up to 32768 ranks)
//
// UCX has no source filter on receives: the source rank in the tag is what makes a receive
// match one peer only. Messages of one pair with equal tags match in posting order (UCX
// keeps the order of one endpoint).
#ifndef TPBENCH_COMM_UCX_UCX_TRANSPORT_H_
#define TPBENCH_COMM_UCX_UCX_TRANSPORT_H_

#include <ucp/api/ucp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "comm/error.h"
#include "comm/p2p.h"
#include "comm/types.h"
#include "comm/work.h"

namespace tpbench {

class UcxContext;

namespace ucx_tag {
constexpr int kSrcBits = 15, kStepBits = 12, kSeqBits = 20, kP2PSeqBits = 32, kCtxBits = 16;
constexpr int kStepShift = kSrcBits;               // 15
constexpr int kSeqShift = kStepShift + kStepBits;  // 27
constexpr int kCtxShift = kSeqShift + kSeqBits;    // 47
constexpr int kP2PSeqShift = kSrcBits;             // 15
constexpr uint64_t kP2PFlag = uint64_t{1} << 63;
constexpr uint64_t kSeqMask = (uint64_t{1} << kSeqBits) - 1;
constexpr uint64_t kStepMask = (uint64_t{1} << kStepBits) - 1;
constexpr uint64_t kP2PSeqMask = (uint64_t{1} << kP2PSeqBits) - 1;
constexpr uint32_t kMaxContexts = uint32_t{1} << kCtxBits;
constexpr int kMaxGroupSize = 1 << kSrcBits;
constexpr uint64_t kFullMask = ~uint64_t{0};
static_assert(kCtxShift + kCtxBits == 63, "tag fields must fill bits 0..62");
static_assert(kP2PSeqShift + kP2PSeqBits == kCtxShift, "p2p fields must fill bits 0..46");
static_assert(kStepMask == static_cast<uint64_t>(kMaxTag), "step tags are the P2P tags 0..kMaxTag");

inline uint64_t Collective(uint32_t ctx, uint32_t seq) {
  return (uint64_t{ctx} << kCtxShift) | ((uint64_t{seq} & kSeqMask) << kSeqShift);
}
inline uint64_t PointToPoint(uint32_t ctx) { return kP2PFlag | (uint64_t{ctx} << kCtxShift); }
}  // namespace ucx_tag

// The world's transport (context id 0). Collective over the job; after Bootstrap::Init.
std::unique_ptr<Transport> CreateUcxTransport();

class UcxTransport final : public Transport {
 public:
  UcxTransport(std::shared_ptr<UcxContext> ctx, uint32_t context_id, int rank,
               std::vector<int> world_ranks);
  ~UcxTransport() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  Request Isend(const void* buf, size_t bytes, int peer, int tag) override;
  Request Irecv(void* buf, size_t bytes, int peer, int tag) override;
  void WaitAll(Request* reqs, int n) override;
  char* Scratch(size_t bytes, int slot = 0) override;

  void BeginOp(const TransportOp& op) override;
  const std::vector<int>& world_ranks() const override { return world_ranks_; }
  int node(int r) const override;  // by hostname (Bootstrap::node_of)
  bool counts_inter_node() const override { return true; }
  uint32_t next_free_context_id() const override;
  uint32_t max_context_ids() const override { return ucx_tag::kMaxContexts; }
  std::unique_ptr<Transport> Split(uint32_t context_id, const std::vector<int>& members) override;
  void ProgressIdle() override;

 private:
  uint64_t TagFor(int src, int peer, int tag, bool send);
  [[noreturn]] void Fail(Request* reqs, int n, const Error& e);
  [[noreturn]] void Failed(int line, const std::string& what, ucs_status_t s);
  // "no message from rank 1 (world 1), sends to ... not completed" (timeout messages).
  std::string Missing(Request* reqs, int n) const;
  // Fault mode detect: the context lost a peer during this wait; prints the error naming it
  // and exits 4 at once.
  [[noreturn]] void LostPeer(Request* reqs, int n);
  // "ranks 1, 3 (world 1, 3)": peers of the requests still pending (in-flight note).
  std::string Pending(Request* reqs, int n) const;
  void CancelAll(Request* reqs, int n);
  const std::string& op() const { return op_.owner->current_op(); }

  std::shared_ptr<UcxContext> ctx_;
  uint32_t context_id_;
  int rank_, size_;
  std::vector<int> world_ranks_;
  std::vector<char> remote_;  // remote_[r]: group rank r is on another node (sent bytes count
                              // as inter-node)
  ucp_request_param_t param_;
  // The op in progress (BeginOp): its counter, tag base and deadline.
  TransportOp op_;
  uint64_t base_ = 0;
  uint32_t op_seq_ = 0;                        // collective ops issued on this group (wraps)
  std::vector<uint32_t> send_seq_, recv_seq_;  // point-to-point messages per peer
  struct Buffer {
    char* data = nullptr;
    size_t capacity = 0;
  };
  Buffer scratch_[kScratchSlots];
};

}  // namespace tpbench

#endif  // TPBENCH_COMM_UCX_UCX_TRANSPORT_H_
