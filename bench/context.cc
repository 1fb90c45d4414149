#include "bench/context.h"

#include <benchmark/benchmark.h>
#include <mpi.h>
#include <ucp/api/ucp.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "comm/bootstrap.h"
#include "comm/cuda/cuda_device.h"

namespace tpbench {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::string RunCommand(const std::string& cmd) {
  std::string out;
  if (FILE* f = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (fgets(buf, sizeof(buf), f)) out += buf;
    pclose(f);
  }
  return Trim(out);
}

std::string Slug(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string GitSha() {
  // bazel run: the user's checkout is BUILD_WORKSPACE_DIRECTORY; otherwise the cwd.
  std::string dir = ".";
  if (const char* w = std::getenv("BUILD_WORKSPACE_DIRECTORY")) dir = w;
  if (const char* s = std::getenv("TPBENCH_GIT_SHA")) return s;
  std::string sha = RunCommand("git -C '" + dir + "' rev-parse --short=12 HEAD 2>/dev/null");
  if (sha.empty()) return "unknown";
  std::string dirty = RunCommand("git -C '" + dir + "' status --porcelain -uno 2>/dev/null");
  return dirty.empty() ? sha : sha + "-dirty";
}

}  // namespace

RunContext CollectContext() {
  RunContext c;
  c.git_sha = GitSha();
  c.ucx_version = ucp_get_version_string();
  char lib[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(lib, &len);
  std::string mpi = Trim(std::string(lib, len));
  c.mpi_version = mpi.substr(0, mpi.find(','));
  // CUDA, driver and NCCL versions and the GPU model (builds with --config=cuda; "none"
  // otherwise, and for what a machine without a GPU or driver lacks).
  const CudaInfo cuda = QueryCuda();
  auto or_none = [](const std::string& v) { return v.empty() ? std::string("none") : v; };
  c.nccl_version = or_none(NcclVersionString(cuda.nccl_version));
  c.cuda_version = or_none(CudaVersionString(cuda.runtime_version));
  c.driver_version = or_none(CudaVersionString(cuda.driver_version));
  c.gpu_model = or_none(cuda.gpu_model);
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      c.cpu_model = Trim(line.substr(line.find(':') + 1));
      break;
    }
  }
  if (c.cpu_model.empty()) c.cpu_model = "unknown-cpu";
  c.cores = static_cast<int>(std::thread::hardware_concurrency());
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  c.mem_gib = (pages * page + (1l << 29)) >> 30;
  c.machine_profile = "x86_64-" + Slug(c.cpu_model) + "-" + std::to_string(c.cores) + "c-" +
                      std::to_string(c.mem_gib) + "g" +
                      (c.gpu_model == "none" ? std::string() : "-" + Slug(c.gpu_model));
  if (const char* p = std::getenv("TPBENCH_MACHINE_PROFILE")) c.machine_profile = p;
  return c;
}

void AddContextToBenchmark(const RunContext& c, const std::string& backends, int world_size,
                           const std::string& mesh) {
  benchmark::AddCustomContext("tpbench_version", c.git_sha);
  benchmark::AddCustomContext("backend", backends);
  benchmark::AddCustomContext("world_size", std::to_string(world_size));
  benchmark::AddCustomContext("mesh", mesh);
  // fast or detect (comm/bootstrap.h): detect mode costs large-message bandwidth, so the
  // gate and the report never compare results of different modes unawares.
  benchmark::AddCustomContext("fault_mode", FaultModeName(CurrentFaultMode()));
  // Topology: nodes (by hostname) and ranks on each, e.g. "2" and "node0:2,node1:2".
  std::string per_node;
  for (int node = 0; node < Bootstrap::num_nodes(); ++node) {
    int ranks = 0;
    std::string host;
    for (int r = 0; r < Bootstrap::size(); ++r) {
      if (Bootstrap::node_of(r) != node) continue;
      if (ranks++ == 0) host = Bootstrap::hostname_of(r);
    }
    per_node += (per_node.empty() ? "" : ",") + host + ":" + std::to_string(ranks);
  }
  benchmark::AddCustomContext("nodes", std::to_string(Bootstrap::num_nodes()));
  benchmark::AddCustomContext("ranks_per_node", per_node);
  benchmark::AddCustomContext("ucx_version", c.ucx_version);
  benchmark::AddCustomContext("mpi_version", c.mpi_version);
  benchmark::AddCustomContext("nccl_version", c.nccl_version);
  benchmark::AddCustomContext("cuda_version", c.cuda_version);
  benchmark::AddCustomContext("driver_version", c.driver_version);
  benchmark::AddCustomContext("cpu_model", c.cpu_model);
  benchmark::AddCustomContext("gpu_model", c.gpu_model);
  benchmark::AddCustomContext("machine_profile", c.machine_profile);
}

}  // namespace tpbench
