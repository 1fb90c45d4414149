// bench/patterns.cc: //bench:patterns, the communication skeleton of the 1D and 1D-SP layers
// (bench/tp1d_skeleton.h: the same collectives on the same shapes as //bench:layers, no
// compute), so that communication cost can be separated from compute.
//
//   bazel run //bench:patterns -- --np 2 --scheme 1d,1d-sp --case block --batch 4 --seq 512
//       (continued:) --hidden 1024 --heads 16
//
// Names: comm/tp1d/<case>/<dtype>/<shape>/ranks:N (comm/tp1d-sp/...); counters as
// //bench:layers' (fwd_ms, bwd_ms, step_ms of the skeleton, comm_bytes_per_rank measured,
// comm_bytes_model, flops 0, comm_frac 1). docs/layers_bench.md, "//bench:patterns".
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/flags.h"
#include "bench/harness.h"
#include "bench/layer_flags.h"
#include "bench/tp1d_skeleton.h"
#include "comm/bootstrap.h"
#include "comm/error.h"
#include "layers/tp1d/tp1d.h"

namespace tpbench {
namespace {

constexpr const char* kUsage = R"(usage: patterns [--np N] [flags] [--benchmark_* flags]
  --scheme LIST      1d, 1d-sp, a list, or all (default all)
  --case LIST        linear, mlp, attention, block, a list, or all (default block)
  --batch --seq --hidden --heads --ffn --causal --dtype   the shape, as //bench:layers
  -n ITERS, -w ITERS timed and warm-up steps (default 20, 2)
  -T SECONDS         deadline of every op; a hang exits 4 (default 300)
  --np N, --sweep FILE, --check-sweep FILE, --benchmark_* as //bench:layers
)";

struct Config {
  std::vector<std::string> schemes, cases;
  LayerConfig shape;
  std::vector<DataType> dtypes;
  long iters = 20;
  int warmup = 2;
  double timeout_s = 300;
};

Config ParseConfig(FlagParser& p, int world) {
  Config c;
  c.schemes = ParseNames("--scheme", p.Value("--scheme", "all"), {"1d", "1d-sp"});
  c.cases =
      ParseNames("--case", p.Value("--case", "block"), {"linear", "mlp", "attention", "block"});
  c.shape = ParseLayerShape(p);
  c.dtypes = ParseFloatTypes(p);
  c.iters = ParseInt(p.Value("-n", "20"), "-n", 1, 100000000);
  c.warmup = static_cast<int>(ParseInt(p.Value("-w", "2"), "-w", 0, 1000000));
  c.timeout_s = ParseDouble(p.Value("-T", "300"), "-T", 0, 1e6);
  for (const std::string& s : c.schemes) ValidateTp1d(c.shape, world, s == "1d-sp");
  return c;
}

struct Case {
  LayerConfig shape;
  std::string kind, name;
  bool sp = false;
  DataType dtype = DataType::kF32;
  int warmup = 0;
};
std::vector<Case> g_cases;
std::unique_ptr<Communicator> g_world;

void RunCase(benchmark::State& st, size_t index) {
  const Case& c = g_cases[index];
  Communicator& comm = *g_world;
  Tp1dSkeleton skel(&comm, c.shape, c.kind, c.sp, c.dtype);
  comm.ResetCounters();
  skel.Step();
  const double bytes = Bootstrap::MaxOverRanks(static_cast<double>(comm.counters().Total().bytes));
  for (int i = 0; i < c.warmup; ++i) skel.Step();
  Bootstrap::Barrier();
  double fwd = 0, bwd = 0;
  const double step = TimedLoop(st, [&] {
    auto t0 = Now();
    skel.Run(0, skel.forward_ops());
    const double f = SecondsSince(t0);
    auto t1 = Now();
    skel.Run(skel.forward_ops(), skel.ops().size());
    const double b = SecondsSince(t1);
    fwd += Bootstrap::MaxOverRanks(f);
    bwd += Bootstrap::MaxOverRanks(b);
    return f + b;
  });
  const double n = static_cast<double>(std::max<int64_t>(st.iterations(), 1));
  st.counters["fwd_ms"] = fwd / n * 1e3;
  st.counters["bwd_ms"] = bwd / n * 1e3;
  st.counters["step_ms"] = step * 1e3;
  st.counters["comm_bytes_per_rank"] = bytes;
  st.counters["comm_bytes_model"] = static_cast<double>(skel.ModelBytesPerRank());
  st.counters["flops_per_rank"] = 0;
  st.counters["tflops"] = 0;
  st.counters["comm_exposed_ms"] = step * 1e3;  // nothing hides it
  st.counters["comm_frac"] = 1;
  st.counters["peak_mem_bytes_per_rank"] = 0;
  st.counters["ranks"] = comm.size();
}

int Main(int argc, char** argv) {
  auto add = [](std::vector<SweepEntry<Config>>* entries, int world,
                std::vector<std::string>* names, std::vector<long>* iters) {
    for (const SweepEntry<Config>& e : *entries) {
      for (const std::string& s : e.cfg.schemes) {
        for (const std::string& k : e.cfg.cases) {
          for (DataType dt : e.cfg.dtypes) {
            Case c{e.cfg.shape, k, "", s == "1d-sp", dt, e.cfg.warmup};
            c.name = "comm/" + std::string(c.sp ? "tp1d-sp" : "tp1d") + "/" + k + "/" +
                     DataTypeName(dt) + "/" + ShapeName(c.shape) +
                     "/ranks:" + std::to_string(world);
            if (std::find(names->begin(), names->end(), c.name) != names->end()) continue;
            names->push_back(c.name);
            iters->push_back(e.cfg.iters);
            g_cases.push_back(c);
          }
        }
      }
    }
  };
  return BenchMain<Config>(
      argc, argv, kUsage, "patterns", ParseConfig, {"--causal"}, add,
      [](benchmark::State& st, size_t i) { RunCase(st, i); }, &g_world, [] { return 0; });
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  return tpbench::RunMain([&] { return tpbench::Main(argc, argv); });
}
