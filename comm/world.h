// comm/world.h: creates the world communicator of a backend by name.
//
//   Bootstrap::Init(&argc, &argv);
//   std::unique_ptr<Communicator> world = CreateWorld("ucx");   // or "mpi"
//
// Unknown names throw UsageError listing the backends built into this binary.
#ifndef TPBENCH_COMM_WORLD_H_
#define TPBENCH_COMM_WORLD_H_

#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"

namespace tpbench {

std::vector<std::string> BackendNames();
std::unique_ptr<Communicator> CreateWorld(const std::string& backend);

}  // namespace tpbench

#endif  // TPBENCH_COMM_WORLD_H_
