// comm/nccl/nccl_communicator.h: the `nccl` backend: the Communicator interface on CUDA device
// memory with NCCL's collectives (built with --config=cuda; registered as "nccl" where linked).
//
//   Bootstrap::Init(&argc, &argv);
//   std::unique_ptr<Communicator> world = CreateWorld("nccl");    // one GPU per rank
//   WorkPtr w = world->AllReduce(d_buf, d_buf, n, DataType::kF32, ReduceOp::kSum,
//                                OpOptions{"auto", compute.CommStream(false)});
//   w->Wait();   // or keep computing on the same stream: it is ordered after the op
//
// - The world: rank 0's ncclUniqueId goes to every rank through the bootstrap (MPI); rank r
//   uses GPU (local rank mod device count). NCCL refuses two ranks on one GPU: multi-rank runs
//   need a machine with one GPU per rank (docs/gpu.md).
// - Split(color, key) is ncclCommSplit; the group's world ranks are exchanged with a small
//   ncclAllGather.
// - One CUDA stream per communicator (non-blocking: legacy-stream work never waits for it).
//   An op on Stream::Device(s) waits for the work queued on s before it (an event), runs on
//   the communicator's stream between two timing events, and makes s wait for its end; an
//   Inline/Async op (host callers) waits for the legacy stream the same way, and the host
//   waits for it. Overlap is the caller's choice of s: CudaCompute::CommStream(true) is a
//   side stream, so the compute stream does not wait for the op (layers/cuda/cuda_compute.h).
//   Work::DurationUs is the CUDA-event time of the op.
// - Collectives map to NCCL (avg is ncclAvg); send/recv and sendrecv are ncclSend/ncclRecv in
//   one group; all_to_all is a group of sends and receives; barrier is a one-element
//   all-reduce.
// - Counters: the payload bytes and calls this rank handed to NCCL per op kind; NCCL's wire
//   bytes (its ring/tree algorithms) are not observable, so counters().measured is false.
// - Deadline: Wait polls the op's end event; past the deadline it calls ncclCommAbort and
//   throws TimeoutError naming the op, the group and its world ranks (exit 4).
// - Algorithms(kind) is {"auto", "native"} (NCCL's own choice), plus tpbench's own algorithms
//   once patterns/ has registered them (RegisterNcclP2PAlgorithms; //patterns:backends does
//   under --config=cuda). Such an op runs the algorithm over NCCL point-to-point
//   (nccl_transport.h; the transport is made on the group's first such op) on the
//   communicator's stream, reductions and copies in device kernels; avg is sum, then a
//   device division. Its counters are the bytes this rank sent (measured). counters().measured
//   says what the last op was: true after one of tpbench's algorithms, false after a native
//   NCCL op (whose counts are only the payload handed to NCCL). device_memory() is true.
// Builds and links; never ran on a GPU.
#ifndef TPBENCH_COMM_NCCL_NCCL_COMMUNICATOR_H_
#define TPBENCH_COMM_NCCL_NCCL_COMMUNICATOR_H_

#include <memory>
#include <string>
#include <vector>

#include "comm/coll.h"
#include "comm/communicator.h"
#include "comm/p2p.h"

namespace tpbench {

// The world communicator of the nccl backend (after Bootstrap::Init). Throws BackendError
// without a usable GPU.
std::unique_ptr<Communicator> CreateNcclWorld();

// tpbench's algorithms, supplied from above comm/ (patterns/nccl_algorithms.cc): the names
// offered for a kind (without "auto"), and running one by name over a P2P.
struct NcclP2PAlgorithms {
  std::vector<std::string> (*names)(OpKind kind) = nullptr;
  void (*run)(P2P& p, const CollArgs& a, const std::string& algo) = nullptr;
};
// Replaces the registered set (call before creating communicators). CUDA builds only.
void RegisterNcclP2PAlgorithms(const NcclP2PAlgorithms& algorithms);

}  // namespace tpbench

#endif  // TPBENCH_COMM_NCCL_NCCL_COMMUNICATOR_H_
