// comm/fault_test.cc: one rank fails in the middle of a job; the others must not hang.
//
//   fault_test --np 2 --backend ucx --mode kill   # rank 1 dies (SIGKILL) while the others
//                                                 # wait in an all_reduce: the launcher tears
//                                                 # the job down, each survivor reports the op
//                                                 # and the peers it was waiting for, exit 4
//   fault_test --np 3 --backend mpi --mode hang   # rank 1 never joins: the others time out
//                                                 # (-T seconds) and exit 4 naming the op
//   fault_test --np 4 --mode kill-large --fault-mode detect
//       # every rank loops 64 MiB all_reduces (rendezvous/CMA); rank 1 is SIGKILLed 2 s in
//   fault_test --np 4 --mode kill-small    # the same with 8-float all_reduces (eager)
//   fault_test --np 4 --mode exit          # rank 1 calls exit(1) 2 s into small all_reduces
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
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
    else if (f != "--fault-mode")  // Bootstrap's
      throw UsageError("unknown flag '" + f +
                       "'; valid: --np, --backend, --mode, -T, --fault-mode");
  }
  if (mode != "kill" && mode != "hang" && mode != "kill-large" && mode != "kill-small" &&
      mode != "exit") {
    throw UsageError("--mode: valid: kill, hang, kill-large, kill-small, exit");
  }
  auto world = CreateWorld(backend);
  world->set_timeout(std::chrono::milliseconds(static_cast<long>(timeout_s * 1000)));
  std::vector<float> x(1024, 1.0f);
  world->AllReduce(x.data(), x.data(), x.size(), DataType::kF32, ReduceOp::kSum)->Wait();
  if (mode == "kill-large" || mode == "kill-small" || mode == "exit") {
    // Rank 1 dies from another thread while every rank is inside a stream of all_reduces.
    std::vector<float> y(mode == "kill-large" ? (64u << 20) / sizeof(float) : 8, 1.0f);
    if (world->rank() == 1) {
      std::thread([mode] {
        sleep(2);
        std::fprintf(stderr, "fault_test: rank 1 %s\n",
                     mode == "exit" ? "exits with code 1" : "kills itself");
        if (mode == "exit") std::_Exit(1);
        raise(SIGKILL);
      }).detach();
    }
    OpOptions o;
    o.algo = backend == "ucx" ? "ring" : "auto";
    for (auto end = Clock::now() + std::chrono::seconds(60); Clock::now() < end;) {
      world->AllReduce(y.data(), y.data(), y.size(), DataType::kF32, ReduceOp::kSum, o)->Wait();
    }
    std::fprintf(stderr, "fault_test: rank %d finished an all_reduce without rank 1\n",
                 world->rank());
    return 0;
  }
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
