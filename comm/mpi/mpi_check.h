// comm/mpi/mpi_check.h: the status check of every MPI call tpbench makes (the mpi backend
// and the bootstrap): a failed call becomes a BackendError (exit 3) naming the call, its
// file:line, this process's rank and MPI's error string.
//
//   MPI_CHECK(MPI_Comm_split(comm, color, key, &sub));
//   // -> "rank 3: MPI_Comm_split(comm, color, key, &sub) failed at comm/mpi/...cc:120: ..."
#ifndef TPBENCH_COMM_MPI_MPI_CHECK_H_
#define TPBENCH_COMM_MPI_MPI_CHECK_H_

#include <mpi.h>

#include <string>

#include "comm/error.h"

namespace tpbench {

inline std::string MpiErrorString(int rc) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, buf, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(rc);
  return std::string(buf, static_cast<size_t>(len));
}

}  // namespace tpbench

#define MPI_CHECK(call)                                                       \
  do {                                                                        \
    const int mpi_check_rc_ = (call);                                         \
    if (mpi_check_rc_ != MPI_SUCCESS) {                                       \
      ::tpbench::BackendCallFailed(__FILE__, __LINE__, #call,                 \
                                   ::tpbench::MpiErrorString(mpi_check_rc_)); \
    }                                                                         \
  } while (0)

#endif  // TPBENCH_COMM_MPI_MPI_CHECK_H_
