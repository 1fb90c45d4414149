// patterns/p2p_communicator.h: the communicator that runs tpbench's own collective
// algorithms (the registry, "auto" selection) over any point-to-point transport (comm/p2p.h):
// UCX today, NCCL point-to-point and the in-process test transport alike.
//
//   std::unique_ptr<Communicator> world = CreateP2PWorld("ucx", CreateUcxTransport());
//   world->AllReduce(buf, buf, n, DataType::kF32, ReduceOp::kSum, {"ring"});
//   auto rows = world->Split(world->rank() / 2, world->rank());
//
// Collectives run the registry's algorithm over the transport; Barrier is a dissemination
// barrier; SendRecv/Send/Recv are one message each way (point-to-point order). Split
// all-gathers (color, key, next free context id) over the parent group, counted as kInternal,
// and gives the new group a transport with a context id free on every member. The
// "ucx" backend is registered here (p2p_backends.cc), so comm/ucx holds only its context and
// transport.
#ifndef TPBENCH_PATTERNS_P2P_COMMUNICATOR_H_
#define TPBENCH_PATTERNS_P2P_COMMUNICATOR_H_

#include <memory>
#include <string>
#include <vector>

#include "comm/comm_base.h"
#include "comm/p2p.h"

namespace tpbench {

// The world communicator over a world transport; `backend` is its name in results. Registers
// a Bootstrap progress hook that drives the transport while this rank waits outside ops.
std::unique_ptr<Communicator> CreateP2PWorld(const std::string& backend,
                                             std::shared_ptr<Transport> transport);

class P2PCommunicator final : public CommBase {
 public:
  P2PCommunicator(std::string backend, std::shared_ptr<Transport> transport, std::string name,
                  std::shared_ptr<Executor> executor);
  ~P2PCommunicator() override;

  std::string backend() const override { return backend_; }
  std::vector<std::string> Algorithms(OpKind k) const override;

 protected:
  void Execute(const CollArgs& a, const std::string& algo) override;
  void CheckAlgorithm(OpKind kind, const std::string& algo) const override;
  std::unique_ptr<CommBase> SplitGroup(int color, int key, std::string name) override;

 private:
  friend std::unique_ptr<Communicator> CreateP2PWorld(const std::string&,
                                                      std::shared_ptr<Transport>);
  void Begin(OpKind kind, bool point_to_point, Clock::time_point deadline);
  void DisseminationBarrier();
  void SendRecvOp(const CollArgs& a);

  std::string backend_;
  std::shared_ptr<Transport> transport_;
  int nodes_ = 1;           // nodes this group spans ("auto" goes hierarchical across nodes)
  int progress_hook_ = -1;  // world only: Bootstrap progress hook id
};

}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_P2P_COMMUNICATOR_H_
