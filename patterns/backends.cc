// patterns/backends.cc: the backends whose collectives are tpbench's own algorithms,
// registered into comm/world.h: "ucx" = P2PCommunicator over comm/ucx's transport. (The
// "mpi" backend registers itself in comm/mpi; this target links it too.)
#include "comm/ucx/ucx_transport.h"
#include "comm/world.h"
#include "patterns/p2p_communicator.h"

namespace tpbench {
namespace {

std::unique_ptr<Communicator> CreateUcxWorld() {
  return CreateP2PWorld("ucx", CreateUcxTransport());
}

TPBENCH_REGISTER_BACKEND("ucx", /*order=*/0, CreateUcxWorld);

}  // namespace
}  // namespace tpbench
