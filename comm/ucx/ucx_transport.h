// comm/ucx/ucx_transport.h: the P2P view (patterns/p2p.h) of one op of a UCX communicator:
// tagged sends and receives over the process's worker, counted under the op's kind.
//
//   UcxTransport t(comm, OpKind::kAllReduce, UcxTransport::CollectiveTagBase(ctx_id, seq));
//   ResolveAlgorithm(kind, algo, bytes, size).run(t, args);
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
#include <string>
#include <vector>

#include "comm/error.h"
#include "comm/types.h"
#include "comm/work.h"
#include "patterns/p2p.h"

namespace tpbench {

class UcxCommunicator;

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

inline uint64_t Collective(uint32_t ctx, uint32_t seq) {
  return (uint64_t{ctx} << kCtxShift) | ((uint64_t{seq} & kSeqMask) << kSeqShift);
}
inline uint64_t PointToPoint(uint32_t ctx) { return kP2PFlag | (uint64_t{ctx} << kCtxShift); }
}  // namespace ucx_tag

class UcxTransport final : public P2P {
 public:
  // base: ucx_tag::Collective(...) or ucx_tag::PointToPoint(...); `kind` is the counter the
  // sends are counted under. deadline / op describe the op for waits and messages.
  // Without `op`, messages describe the communicator's current op (formatted only when a
  // message is needed, so the fast path formats nothing).
  UcxTransport(UcxCommunicator& comm, OpKind kind, uint64_t base, Clock::time_point deadline,
               const std::string& op);
  UcxTransport(UcxCommunicator& comm, OpKind kind, uint64_t base, Clock::time_point deadline);

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  Request Isend(const void* buf, size_t bytes, int peer, int tag) override;
  Request Irecv(void* buf, size_t bytes, int peer, int tag) override;
  void WaitAll(Request* reqs, int n) override;
  char* Scratch(size_t bytes, int slot = 0) override;

 private:
  uint64_t TagFor(int src, int peer, int tag, bool send);
  [[noreturn]] void Fail(Request* reqs, int n, const Error& e);
  // "no message from rank 1 (world 1), sends to ... not completed" (timeout messages).
  std::string Missing(Request* reqs, int n) const;
  // "ranks 1, 3 (world 1, 3)": peers of the requests still pending (in-flight note).
  std::string Pending(Request* reqs, int n) const;
  void CancelAll(Request* reqs, int n);

  UcxCommunicator& comm_;
  OpKind kind_;
  uint64_t base_;
  bool p2p_;
  int rank_, size_;
  Clock::time_point deadline_;
  UcxTransport(UcxCommunicator& comm, OpKind kind, uint64_t base, Clock::time_point deadline,
               const std::string* op);
  const std::string& op() const;
  const std::string* op_;  // nullptr: the communicator's current op
  ucp_request_param_t param_;
};

}  // namespace tpbench

#endif  // TPBENCH_COMM_UCX_UCX_TRANSPORT_H_
