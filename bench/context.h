// bench/context.h: what a results file says about where it was measured (result contract
// "context" keys): git sha, backend and library versions, CPU/GPU, machine_profile.
//
//   RunContext ctx = CollectContext();             // on every rank; cheap
//   AddContextToBenchmark(ctx, "ucx,mpi", world_size, "flat");
#ifndef TPBENCH_BENCH_CONTEXT_H_
#define TPBENCH_BENCH_CONTEXT_H_

#include <string>

namespace tpbench {

struct RunContext {
  std::string git_sha;  // "unknown" outside a git checkout
  std::string ucx_version;
  std::string mpi_version;
  std::string nccl_version;  // "none" when not built with CUDA
  std::string cuda_version;
  std::string driver_version;
  std::string cpu_model;
  std::string gpu_model;
  int cores = 0;
  long mem_gib = 0;
  // Stable fingerprint that picks CI baselines: arch, CPU model, cores, memory, GPU.
  std::string machine_profile;
};

RunContext CollectContext();

// Adds every key of ctx plus backend/world_size/mesh to Google Benchmark's JSON context.
void AddContextToBenchmark(const RunContext& ctx, const std::string& backends, int world_size,
                           const std::string& mesh);

}  // namespace tpbench

#endif  // TPBENCH_BENCH_CONTEXT_H_
