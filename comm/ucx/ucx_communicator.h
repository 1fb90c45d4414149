// comm/ucx/ucx_communicator.h: the `ucx` backend: tpbench's own collective algorithms
// (patterns/, chosen through the registry) over UCX tagged point-to-point messages.
//
//   Bootstrap::Init(&argc, &argv);
//   std::unique_ptr<Communicator> world = CreateUcxWorld();
//   world->AllReduce(buf, buf, n, DataType::kF32, ReduceOp::kSum, {"ring"});
//   auto rows = world->Split(world->rank() / 2, world->rank());
//
// One UcxContext (ucp context, worker, endpoints to every world rank) per process is shared
// by the world communicator and every communicator split from it; each communicator has its
// own context id in the message tags (see ucx_transport.h). Barrier is a dissemination
// barrier; send/recv use per-peer sequence numbers; everything else runs the registry's
// algorithm over a UcxTransport.
#ifndef TPBENCH_COMM_UCX_UCX_COMMUNICATOR_H_
#define TPBENCH_COMM_UCX_UCX_COMMUNICATOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "comm/comm_base.h"
#include "comm/communicator.h"

namespace tpbench {

class UcxContext;
class UcxTransport;

// The world communicator of the ucx backend. Collective over the job; after Bootstrap::Init.
std::unique_ptr<Communicator> CreateUcxWorld();

class UcxCommunicator final : public CommBase {
 public:
  UcxCommunicator(std::shared_ptr<UcxContext> ctx, uint32_t context_id, int rank, int size,
                  std::string name, std::vector<int> world_ranks,
                  std::shared_ptr<Executor> executor);
  ~UcxCommunicator() override;

  std::string backend() const override { return "ucx"; }
  std::unique_ptr<Communicator> Split(int color, int key) override;
  std::vector<std::string> Algorithms(OpKind k) const override;

  uint32_t context_id() const { return context_id_; }

 protected:
  void Execute(const CollArgs& a, const std::string& algo) override;
  void CheckAlgorithm(OpKind kind, const std::string& algo) const override;

 private:
  friend class UcxTransport;
  friend std::unique_ptr<Communicator> CreateUcxWorld();
  int progress_hook_ = -1;  // world only: Bootstrap progress hook id

  std::unique_ptr<Communicator> DoSplit(int color, int key);
  void DisseminationBarrier(UcxTransport& t);
  void SendRecvOp(UcxTransport& t, const CollArgs& a);
  uint32_t NextSeq() { return op_seq_++; }
  char* ScratchBuffer(size_t bytes, int slot);

  std::shared_ptr<UcxContext> ctx_;
  uint32_t context_id_;
  uint32_t op_seq_ = 0;                        // collective ops issued on this group (wraps)
  std::vector<uint32_t> send_seq_, recv_seq_;  // point-to-point messages per peer
  struct Buffer {
    char* data = nullptr;
    size_t capacity = 0;
  };
  static constexpr int kScratchSlots = 4;
  Buffer scratch_[kScratchSlots];
};

}  // namespace tpbench

#endif  // TPBENCH_COMM_UCX_UCX_COMMUNICATOR_H_
