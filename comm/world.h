// comm/world.h: the world communicator of a backend, by name, from the backends linked in.
//
//   Bootstrap::Init(&argc, &argv);
//   std::unique_ptr<Communicator> world = CreateWorld("ucx");   // or "mpi"
//
//   // a backend registers itself (static initializer; its library is alwayslink):
//   TPBENCH_REGISTER_BACKEND("mpi", /*order=*/1, CreateMpiWorld);
//
// The registry lives here, below every backend, so that backends at any level register into
// it: comm/mpi (the MPI library's collectives) and patterns/ (tpbench's algorithms over a
// comm/ transport: "ucx"). //patterns:backends links all of them. Unknown names throw
// UsageError listing the backends built into this binary, in registration order.
#ifndef TPBENCH_COMM_WORLD_H_
#define TPBENCH_COMM_WORLD_H_

#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"

namespace tpbench {

using WorldFactory = std::unique_ptr<Communicator> (*)();

// Names of the registered backends, sorted by their order.
std::vector<std::string> BackendNames();
std::unique_ptr<Communicator> CreateWorld(const std::string& backend);

bool RegisterBackend(const char* name, int order, WorldFactory create);

}  // namespace tpbench

#define TPBENCH_REGISTER_BACKEND(name, order, fn) \
  static const bool tpbench_registered_backend_##fn = ::tpbench::RegisterBackend(name, order, fn)

#endif  // TPBENCH_COMM_WORLD_H_
