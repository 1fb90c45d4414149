#include "comm/world.h"

#include "comm/error.h"
#include "comm/mpi/mpi_communicator.h"
#include "comm/ucx/ucx_communicator.h"

namespace tpbench {

std::vector<std::string> BackendNames() { return {"ucx", "mpi"}; }

std::unique_ptr<Communicator> CreateWorld(const std::string& backend) {
  if (backend == "ucx") return CreateUcxWorld();
  if (backend == "mpi") return CreateMpiWorld();
  if (backend == "nccl") {
    throw UsageError("backend 'nccl' is not built into this binary yet; valid: ucx, mpi");
  }
  throw UsageError("unknown backend '" + backend + "'; valid: ucx, mpi");
}

}  // namespace tpbench
