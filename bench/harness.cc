// bench/harness.cc: see harness.h.
#include "bench/harness.h"

#include "bench/sweep_file.h"
#include "comm/world.h"

namespace tpbench {
namespace {

class NullReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

void RegisterCases(const std::vector<std::string>& names, std::vector<long>* iters,
                   const std::function<void(benchmark::State&, size_t)>& run) {
  if (!iters->empty()) Bootstrap::Broadcast(iters->data(), iters->size() * sizeof(long), 0);
  for (size_t i = 0; i < names.size(); ++i) {
    benchmark::RegisterBenchmark(names[i].c_str(), [i, run](benchmark::State& st) { run(st, i); })
        ->Iterations((*iters)[i])
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
}

std::vector<SweepArgs> SweepEntries(const std::string& path, const std::string& binary, int world) {
  std::vector<SweepArgs> out;
  for (const SweepLine& line : ReadSweepFile(path)) {
    if (line.binary != binary) continue;
    for (int n : line.ranks) {
      if (world >= 0 && n != world) continue;
      SweepArgs a;
      a.argv = {binary};
      a.argv.insert(a.argv.end(), line.args.begin(), line.args.end());
      a.world = n;
      a.origin = line.origin;
      out.push_back(a);
    }
  }
  return out;
}

std::unique_ptr<Communicator> CreateWorldWithTimeout(double timeout_s) {
  std::unique_ptr<Communicator> w = CreateWorld("ucx");
  if (timeout_s > 0) w->set_timeout(std::chrono::milliseconds(static_cast<long>(timeout_s * 1e3)));
  return w;
}

std::map<std::string, BenchFields> FieldsByName(const std::vector<std::string>& names,
                                                const std::function<BenchFields(size_t)>& fields) {
  std::map<std::string, BenchFields> out;
  for (size_t i = 0; i < names.size(); ++i) out[names[i]] = fields(i);
  return out;
}

void RunAndCommit(const RunInfo& info, std::vector<std::string>* passthrough, ResultsOutput* out) {
  RunContext ctx = CollectContext();
  AddContextToBenchmark(ctx, info.backends, info.world_size, info.mesh);
  benchmark::AddCustomContext("tpbench_schema", kResultsSchema);
  if (Bootstrap::rank() == 0) {
    std::printf("# tpbench %s: %d ranks, backends %s, %s, %zu cases\n", info.binary.c_str(),
                info.world_size, info.backends.c_str(), info.mesh.c_str(), info.cases);
    std::printf("# machine_profile %s, git %s, %s, %s\n", ctx.machine_profile.c_str(),
                ctx.git_sha.c_str(), ctx.ucx_version.c_str(), ctx.mpi_version.c_str());
    std::fflush(stdout);
  }
  RunBenchmarks(passthrough, info.reporter);
  out->Commit();
  if (Bootstrap::rank() == 0 && !out->path().empty()) {
    std::printf("# results: %s\n", out->path().c_str());
  }
}

void RunBenchmarks(std::vector<std::string>* passthrough, benchmark::BenchmarkReporter* reporter) {
  std::vector<char*> bargv;
  for (std::string& s : *passthrough) bargv.push_back(&s[0]);
  int bargc = static_cast<int>(bargv.size());
  benchmark::Initialize(&bargc, bargv.data());
  if (benchmark::ReportUnrecognizedArguments(bargc, bargv.data())) {
    throw UsageError("unknown Google Benchmark flag (see --help)");
  }
  NullReporter quiet;
  if (Bootstrap::rank() != 0) {
    benchmark::RunSpecifiedBenchmarks(&quiet);
  } else if (reporter) {
    benchmark::RunSpecifiedBenchmarks(reporter);
  } else {
    benchmark::RunSpecifiedBenchmarks();
  }
}

}  // namespace tpbench
