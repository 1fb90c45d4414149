// comm/fault_test.cc: one rank fails in the middle of a job; the others must not hang.
//
//   fault_test --np 2 --backend ucx --mode kill   # rank 1 dies (SIGKILL) while the others
//                                                 # wait in an all_reduce: the launcher tears
//                                                 # the job down, each survivor reports the op
//                                                 # and the peers it was waiting for, exit 4
//   fault_test --np 3 --backend mpi --mode hang   # rank 1 never joins: the others time out
//                                                 # (-T seconds) and exit 4 naming the op
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "comm/bootstrap.h"
#include "comm/communicator.h"
#include "comm/error.h"
#include "comm/world.h"

namespace tpbench {
namespace {

int Main(int argc, char** argv) {
  if (int rc = MaybeRelaunch(argc, argv); rc >= 0) return rc;
  Bootstrap::Init(&argc, &argv);
  std::string backend = "ucx", mode = "kill";
  double timeout_s = 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i], v = argv[i + 1];
    if (f == "--backend")
      backend = v;
    else if (f == "--mode")
      mode = v;
    else if (f == "-T")
      timeout_s = std::stod(v);
    else
      throw UsageError("unknown flag '" + f + "'; valid: --np, --backend, --mode, -T");
  }
  if (mode != "kill" && mode != "hang") throw UsageError("--mode: valid: kill, hang");
  auto world = CreateWorld(backend);
  world->set_timeout(std::chrono::milliseconds(static_cast<long>(timeout_s * 1000)));
  std::vector<float> x(1024, 1.0f);
  world->AllReduce(x.data(), x.data(), x.size(), DataType::kF32, ReduceOp::kSum)->Wait();
  if (world->rank() == 1) {
    if (mode == "kill") {
      sleep(2);  // the others are waiting in the next all_reduce by now
      std::fprintf(stderr, "fault_test: rank 1 kills itself\n");
      raise(SIGKILL);
    }
    std::fprintf(stderr, "fault_test: rank 1 hangs\n");
    sleep(3600);
  }
  OpOptions o;
  o.algo = backend == "ucx" ? "ring" : "auto";
  world->AllReduce(x.data(), x.data(), x.size(), DataType::kF32, ReduceOp::kSum, o)->Wait();
  std::fprintf(stderr, "fault_test: rank %d finished an all_reduce without rank 1\n",
               world->rank());
  return 0;
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  return tpbench::RunMain([&] { return tpbench::Main(argc, argv); });
}
