// comm/mpi/mpi_communicator.h: the `mpi` backend, the peer baseline every host number is
// compared with. Every op is the MPI library's own blocking collective (Open MPI: coll/tuned),
// with nothing else on the hot path.
//
//   Bootstrap::Init(&argc, &argv);                 // MPI_Init_thread(SERIALIZED)
//   std::unique_ptr<Communicator> world = CreateWorld("mpi");  // comm/world.h; or CreateMpiWorld()
//   world->AllReduce(x, x, n, DataType::kBF16, ReduceOp::kSum);   // MPI_Allreduce(MPI_IN_PLACE)
//
// Mapping (NCCL in-place conventions of comm/coll.h):
//   all_reduce      MPI_Allreduce            (MPI_IN_PLACE when send == recv)
//   all_gather      MPI_Allgather            (MPI_IN_PLACE when send == recv + rank*count)
//   reduce_scatter  MPI_Reduce_scatter_block (in place: MPI_IN_PLACE, then the rank's block is
//                                             moved from the front of the buffer to its slot)
//   broadcast       MPI_Bcast                (out of place: root copies send -> recv first)
//   reduce          MPI_Reduce               (MPI_IN_PLACE on root when send == recv)
//   all_to_all      MPI_Alltoall             (MPI_IN_PLACE when send == recv)
//   sendrecv        MPI_Sendrecv / MPI_Sendrecv_replace (send == recv) / MPI_Send / MPI_Recv
//   barrier         MPI_Barrier
// Types: MPI_FLOAT, MPI_DOUBLE, MPI_INT8_T, MPI_UINT8_T, MPI_INT32_T, MPI_INT64_T; f16 and bf16
// are 2-byte contiguous types with user-defined commutative ops (comm/reduce.h's ReduceInto).
// Counts above INT_MAX elements are a UsageError (no op is split into pieces).
//
// Algorithms: "auto" and "native" (both: the library's own choice); anything else is a
// UsageError listing them.
//
// Hang detection: a blocking MPI call cannot be cancelled, so the op watch every backend
// shares (comm/op_watch.h, through CommBase) ends the process with exit code 4 and a message
// naming the op and the group's world ranks when an op outlives its deadline
// (Communicator::timeout()). Status checks (MPI_CHECK) report the call, file:line and rank.
//
// Counters: counters().measured is false and every count reads 0. Open MPI 4.1.4's monitoring
// PML does intercept the traffic when enabled (OMPI_MCA_pml_monitoring_enable=1), but its MPI_T
// performance variables (pml_monitoring_messages_count/_size) are invalidated when the PML
// framework closes the unselected component, and the counts it keeps are not exported, so no
// measured per-op byte count can be read back. Modelled numbers are never reported as measured.
#ifndef TPBENCH_COMM_MPI_MPI_COMMUNICATOR_H_
#define TPBENCH_COMM_MPI_MPI_COMMUNICATOR_H_

#include <memory>

#include "comm/communicator.h"

namespace tpbench {

// The world communicator (an MPI_Comm_dup of MPI_COMM_WORLD). Call after Bootstrap::Init and
// destroy (with every communicator split from it) before Bootstrap::Finalize.
std::unique_ptr<Communicator> CreateMpiWorld();

}  // namespace tpbench

#endif  // TPBENCH_COMM_MPI_MPI_COMMUNICATOR_H_
