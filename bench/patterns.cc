// bench/patterns.cc: //bench:patterns, the communication skeleton of every registered TP
// scheme's layers (layers/plan_skeleton.h: the scheme's plan, the same collectives on the same
// shapes as //bench:layers, no compute), so that communication cost can be separated from
// compute. The groups of a mesh run concurrently (every ROW group at once, ...).
//
//   bazel run //bench:patterns -- --np 2 --scheme 1d,1d-sp --case block --batch 4 --seq 512
//       (continued:) --hidden 1024 --heads 16
//
// Names: comm/<prefix>/<case>/<dtype>/<shape>[/<tag>][/dp:D][/inner:AXES]/ranks:N (comm/tp1d/...,
// comm/tp2d/... /summa:bcast, ...); counters as
// //bench:layers' (fwd_ms, bwd_ms, step_ms of the skeleton, comm_bytes_per_rank measured,
// comm_bytes_model, flops 0, comm_frac 1). docs/layers_bench.md, "//bench:patterns".
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "bench/flags.h"
#include "bench/harness.h"
#include "bench/layer_flags.h"
#include "bench/placement.h"
#include "comm/bootstrap.h"
#include "comm/error.h"
#include "layers/mesh.h"
#include "layers/plan_skeleton.h"
#include "layers/scheme.h"

namespace tpbench {
namespace {

constexpr const char* kUsage = R"(usage: patterns [--np N] [flags] [--benchmark_* flags]
  --scheme LIST      a registered scheme (1d, 1d-sp, 2d, ...), a list, or all (every scheme
                     whose mesh fits the world size) (default all)
  --depth D          2.5d: the depth d of P = d*q^2 (default 1)
  --summa LIST       2d, 2.5d: bcast, allgather, a list, or both (default both)
  --case LIST        linear, mlp, attention, block, a list, or all (default block)
  --batch --seq --hidden --heads --ffn --causal --dtype   the shape, as //bench:layers
  --dp D, --inner-axes LIST   where the mesh sits on the nodes, as //bench:layers
  -n ITERS, -w ITERS timed and warm-up steps (default 20, 2)
  -T SECONDS         deadline of every op; a hang exits 4 (default 300)
  --np N, --fault-mode M, --sweep FILE, --check-sweep FILE, --benchmark_* as //bench:layers
)";

struct Config {
  std::vector<std::string> schemes, cases, summas;
  int64_t depth = 1;
  LayerConfig shape;
  std::vector<DataType> dtypes;
  long iters = 20;
  int warmup = 2;
  double timeout_s = 300;
  Placement place;  // --dp, --inner-axes
};

Config ParseConfig(FlagParser& p, int world) {
  Config c;
  c.depth = ParseInt(p.Value("--depth", "1"), "--depth", 1, 1 << 20);
  c.place = ParsePlacement(p, world);
  const std::string schemes = p.Value("--scheme", "all");
  if (schemes == "all") {
    for (const TpScheme* s : AllSchemes()) {
      SchemeOptions opt;
      opt.depth = c.depth;
      try {
        s->MeshFor(world / c.place.dp, opt);
      } catch (const Error&) {
        continue;  // P does not fit this scheme's mesh
      }
      c.schemes.push_back(s->name());
    }
  } else {
    c.schemes = ParseNames("--scheme", schemes, SchemeNames());
  }
  const std::string summa = p.Value("--summa", "both");
  c.summas = ParseNames("--summa", summa == "both" ? "all" : summa, {"bcast", "allgather"});
  c.cases =
      ParseNames("--case", p.Value("--case", "block"), {"linear", "mlp", "attention", "block"});
  c.shape = ParseLayerShape(p);
  c.dtypes = ParseFloatTypes(p);
  c.iters = ParseInt(p.Value("-n", "20"), "-n", 1, 100000000);
  c.warmup = static_cast<int>(ParseInt(p.Value("-w", "2"), "-w", 0, 1000000));
  c.timeout_s = ParseDouble(p.Value("-T", "300"), "-T", 0, 1e6);
  for (const std::string& s : c.schemes) {
    SchemeOptions opt;
    opt.depth = c.depth;
    const TpScheme& scheme = FindScheme(s);
    const MeshShape axes = PlacedMeshFor(scheme, world, opt, c.place);
    scheme.Validate(c.shape, axes);
    CheckPlacement(axes, c.place, WorldNodes());
  }
  return c;
}

struct Case {
  LayerConfig shape;
  std::string scheme, kind, name;
  SchemeOptions opt;
  DataType dtype = DataType::kF32;
  int warmup = 0;
  Placement place;
};
std::vector<Case> g_cases;
std::unique_ptr<Communicator> g_world;
// Per mesh shape and placement, groups split once.
std::map<std::string, std::unique_ptr<Mesh>> g_meshes;
std::set<std::string> g_spans_shown;  // case names whose groups' spans were printed

// The case's results fields (py/tpbench/schema.py). A skeleton runs over the ucx world and has
// no compute to overlap with: backend "ucx", overlap "".
BenchFields FieldsOf(const Case& c) {
  const TpScheme& scheme = FindScheme(c.scheme);
  BenchFields f = {{"kind", "pattern"},
                   {"scheme", scheme.prefix()},
                   {"case", c.kind},
                   {"dtype", DataTypeName(c.dtype)},
                   {"batch", std::to_string(c.shape.batch)},
                   {"seq", std::to_string(c.shape.seq)},
                   {"hidden", std::to_string(c.shape.hidden)},
                   {"heads", std::to_string(c.shape.heads)},
                   {"overlap", ""},
                   {"backend", "ucx"},
                   {"ranks", std::to_string(Bootstrap::size())}};
  for (const auto& [k, v] : scheme.VariantFields(c.opt)) f[k] = v;
  const MeshShape axes = PlacedMeshFor(scheme, Bootstrap::size(), c.opt, c.place);
  AddPlacementFields(scheme.Plan(c.shape, c.kind, axes, c.opt), axes, PlacedOrder(axes, c.place),
                     c.place, WorldNodes(), &f);
  return f;
}

uint64_t MeshBytes(Mesh& mesh) {
  uint64_t b = mesh.comm().counters().Total().bytes;
  for (Communicator* g : mesh.groups()) b += g->counters().Total().bytes;
  return b;
}

void RunCase(benchmark::State& st, size_t index) {
  const Case& c = g_cases[index];
  Communicator& comm = *g_world;
  const TpScheme& scheme = FindScheme(c.scheme);
  const MeshShape axes = PlacedMeshFor(scheme, comm.size(), c.opt, c.place);
  const AxisOrder order = PlacedOrder(axes, c.place);
  std::unique_ptr<Mesh>& mesh = g_meshes[MeshShapeString(axes) + PlacementTag(c.place)];
  if (!mesh) mesh = std::make_unique<Mesh>(&comm, axes, order);
  const CommPlan plan = scheme.Plan(c.shape, c.kind, axes, c.opt);
  // The groups' spans checked against the placement, printed once per case (rank 0).
  const std::string spans = CheckedSpans(*mesh, plan, WorldNodes());
  if (g_spans_shown.insert(c.name).second && Bootstrap::rank() == 0) {
    std::printf("# %s: %s\n", c.name.c_str(), spans.c_str());
  }
  PlanSkeleton skel(mesh.get(), plan, c.dtype);
  mesh->ResetCounters();
  skel.Step();
  const double bytes = Bootstrap::MaxOverRanks(static_cast<double>(MeshBytes(*mesh)));
  for (int i = 0; i < c.warmup; ++i) skel.Step();
  Bootstrap::Barrier();
  double fwd = 0, bwd = 0;
  const double step = TimedLoop(st, [&] {
    auto t0 = Now();
    skel.Run(0, skel.forward_ops());
    const double f = SecondsSince(t0);
    auto t1 = Now();
    skel.Run(skel.forward_ops(), skel.num_ops());
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
        const TpScheme& scheme = FindScheme(s);
        for (const std::string& summa :
             scheme.has_summa() ? e.cfg.summas : std::vector<std::string>{"bcast"}) {
          for (const std::string& k : e.cfg.cases) {
            for (DataType dt : e.cfg.dtypes) {
              Case c{e.cfg.shape, s, k, "", SchemeOptions(), dt, e.cfg.warmup, e.cfg.place};
              c.opt.depth = e.cfg.depth;
              c.opt.summa = summa;
              const std::string tag = scheme.NameTag(c.opt);
              c.name = "comm/" + scheme.prefix() + "/" + k + "/" + DataTypeName(dt) + "/" +
                       ShapeName(c.shape) + (tag.empty() ? "" : "/" + tag) + PlacementTag(c.place) +
                       "/ranks:" + std::to_string(world);
              if (std::find(names->begin(), names->end(), c.name) != names->end()) continue;
              names->push_back(c.name);
              iters->push_back(e.cfg.iters);
              g_cases.push_back(c);
            }
          }
        }
      }
    }
  };
  return BenchMain<Config>(
      argc, argv, kUsage, "patterns", ParseConfig, {"--causal"}, add,
      [](benchmark::State& st, size_t i) { RunCase(st, i); }, &g_world,
      [] {
        g_meshes.clear();  // their groups before the world
        return 0;
      },
      nullptr, [](size_t i) { return FieldsOf(g_cases[i]); });
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  return tpbench::RunMain([&] { return tpbench::Main(argc, argv); });
}
