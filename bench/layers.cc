// bench/layers.cc: //bench:layers, the tensor-parallel layers of every registered scheme
// (layers/scheme.h: 1d, 1d-sp, 2d, ...) as Google Benchmark cases, one per (scheme, case,
// dtype, shape, variant, overlap, backend), against the serial reference layer.
//
//   bazel run //bench:layers -- --np 2 --scheme 1d,1d-sp,serial --case block --batch 4
//       (continued:) --seq 512 --hidden 1024 --heads 16 --benchmark_out=layers.json
//   mpirun -np 2 bazel-bin/bench/layers --scheme all --case all
//
// See docs/layers_bench.md for every flag, the counters and how they are measured.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
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
#include "bench/npy.h"
#include "bench/output.h"
#include "bench/placement.h"
#include "comm/bootstrap.h"
#include "comm/communicator.h"
#include "comm/error.h"
#include "comm/world.h"
#include "layers/compute.h"
#include "layers/mesh.h"
#include "layers/plan_skeleton.h"
#include "layers/reference.h"
#include "layers/scheme.h"
#include "layers/tensor.h"

namespace tpbench {
namespace {

constexpr const char* kUsage = R"(usage: layers [--np N] [flags] [--benchmark_* flags]
  --scheme LIST      a registered scheme (1d, 1d-sp, 2d, ...), serial, a list, or all (every
                     scheme whose mesh fits the world size, and serial) (default 1d)
  --depth D          2.5d: the depth d of P = d*q^2 (default 1)
  --summa LIST       2d, 2.5d: bcast (q broadcasts per GEMM, double-buffered), allgather (one
                     all-gather of each panel), a list, or both (default bcast)
  --backend LIST     communication of the TP schemes: ucx (tpbench's ring collectives), mpi
                     (the MPI library's, the peer baseline), nccl (with --config=cuda and
                     --compute cuda), a list, or all (default ucx)
  --case LIST        linear, mlp, attention, block, a list, or all (default all)
  --batch B --seq S  samples and tokens per sample (default 2, 64)
  --hidden H         hidden size (default 256)
  --heads NH         attention heads (default 8)
  --ffn F            MLP width factor: fc1 is H -> F*H (default 4)
  --dtype LIST       f32, f64, f16, bf16 or a list (default f32); f16 and bf16 need
                     --compute cuda or cuda-tf32 (checked against the f64 host reference)
  --compute NAME     compute backend of the layers: host (OpenBLAS, default), cuda or
                     cuda-tf32 (cuBLAS + kernels; builds with --config=cuda; the TP schemes
                     then need --backend nccl, one GPU per rank); the check always uses a
                     host reference
  --dp D             D replicas of each scheme's mesh (a leading axis dp; P/D ranks each, the
                     same layer, nothing exchanged between them) (default 1)
  --inner-axes LIST  mesh axes placed last, so that their groups stay inside a node (ranks
                     numbered node by node); exit 2 when they do not fit one (default: the
                     mesh's own order; docs/multinode.md "Topology: placing mesh axes")
  --overlap MODE     on, off or both: async dX all-reduce during dW/db (default both)
  --causal           causal attention mask
  -n ITERS           timed steps per case (default 10)
  --rounds N         run all cases N times, interleaved (odd rounds in reverse order): N
                     results per case, same name; for A/B comparisons such as overlap on/off
  -w ITERS           warm-up steps, not timed (default 2)
  -c 0|1             check against the serial reference (default 1; 0 skips max_rel_err)
  -T SECONDS         deadline of every op; a hang exits 4 (default 300)
  --dump DIR         write inputs, parameters, outputs and gradients of one step (full,
                     gathered) of every case as DIR/<case name>/<tensor>.npy
  --debug-corrupt-rank R
                     test hook: rank R corrupts one element of its dX before the check
  --debug-drop-grad NAME
                     test hook: the TP schemes lose the gradient NAME (e.g. ln1.gamma,
                     mlp.fc2.b) before the check, as a scheme that stopped producing it
  --np N             launch N ranks under mpirun (when not started by a launcher)
  --fault-mode M     fast (default): no peer-failure support in UCX, a lost rank is named by
                     the --np launcher; detect: survivors report a lost peer within ~0.2 s, at
                     a cost in large-message bandwidth (docs/runtime.md); recorded as fault_mode
  --sweep FILE       run the 'layers' entries of a sweep file that list this world size
  --check-sweep FILE validate every entry of a sweep file for each of its world sizes; exit
  Google Benchmark flags pass through: --benchmark_out=FILE (written atomically), ...
Exit codes: 2 bad flag or shape, 4 timeout, 7 max_rel_err above tolerance.
)";

const char* const kCases[] = {"linear", "mlp", "attention", "block"};

bool IsHalf(DataType dt) { return dt == DataType::kF16 || dt == DataType::kBF16; }

struct Config {
  std::vector<std::string> schemes, cases, backends, summas;
  int64_t depth = 1;
  LayerConfig shape;
  std::vector<DataType> dtypes;
  std::vector<int> overlaps;
  long iters = 10;
  int warmup = 2, checks = 1;
  double timeout_s = 300;
  std::string dump;
  int corrupt_rank = -1;  // test hook: this rank corrupts dX[0] before the check
  std::string drop_grad;  // test hook: the TP result loses this gradient before the check
  int rounds = 1;
  std::string compute = "host";  // the layers' compute backend (CreateCompute)
  Placement place;               // --dp, --inner-axes
};

// --scheme: names of registered schemes or serial; "all" is every scheme whose mesh fits P
// ranks (with --depth), and serial.
std::vector<std::string> ParseSchemes(const std::string& value, int world, int64_t depth) {
  std::vector<std::string> valid = SchemeNames();
  valid.push_back("serial");
  if (value != "all") return ParseNames("--scheme", value, valid);
  std::vector<std::string> out;
  for (const TpScheme* s : AllSchemes()) {
    SchemeOptions opt;
    opt.depth = depth;
    try {
      s->MeshFor(world, opt);
    } catch (const Error&) {
      continue;  // P does not fit this scheme's mesh
    }
    out.push_back(s->name());
  }
  out.push_back("serial");
  return out;
}

// --compute against --backend: device compute needs a device communicator for the TP schemes,
// and the other way round; "--backend all" keeps the backends that fit.
void CheckComputeBackends(FlagParser& p, Config* c) {
  const bool tp = std::any_of(c->schemes.begin(), c->schemes.end(),
                              [](const std::string& s) { return s != "serial"; });
  if (p.Value("--backend", "ucx") == "all") {
    c->backends.erase(std::remove_if(c->backends.begin(), c->backends.end(),
                                     [&](const std::string& b) {
                                       return (b == "nccl") != (c->compute != "host");
                                     }),
                      c->backends.end());
  }
  for (const std::string& b : c->backends) {
    const bool device_backend = b == "nccl";
    if (tp && device_backend != (c->compute != "host")) {
      throw UsageError("--compute " + c->compute + " and --backend " + b +
                       ": the TP schemes need device memory on both (--compute cuda --backend "
                       "nccl) or host memory on both");
    }
  }
}

// The test hooks' flags (--debug-corrupt-rank, --debug-drop-grad).
void ParseHooks(FlagParser& p, Config* c) {
  c->corrupt_rank = static_cast<int>(
      ParseInt(p.Value("--debug-corrupt-rank", "-1"), "--debug-corrupt-rank", -1, 1 << 20));
  c->drop_grad = p.Value("--debug-drop-grad", "");
  if (c->drop_grad.empty()) return;
  std::string valid;
  LayerParams names;
  for (const auto& [n, t] : names.Named()) valid += (valid.empty() ? "" : ", ") + n;
  if ((", " + valid + ", ").find(", " + c->drop_grad + ", ") == std::string::npos) {
    throw UsageError("--debug-drop-grad: unknown gradient '" + c->drop_grad + "'; valid: " + valid);
  }
}

// Bad meshes, shapes and placements exit 2 before any traffic, with the scheme's message.
void ValidateSchemes(const Config& c, int world) {
  for (const std::string& s : c.schemes) {
    if (s == "serial") continue;
    SchemeOptions opt;
    opt.depth = c.depth;
    const TpScheme& scheme = FindScheme(s);
    const MeshShape axes = PlacedMeshFor(scheme, world, opt, c.place);
    scheme.Validate(c.shape, axes);
    CheckPlacement(axes, c.place, WorldNodes());
  }
}

Config ParseConfig(FlagParser& p, int world) {
  Config c;
  c.depth = ParseInt(p.Value("--depth", "1"), "--depth", 1, 1 << 20);
  c.place = ParsePlacement(p, world);
  c.schemes = ParseSchemes(p.Value("--scheme", "1d"), world / c.place.dp, c.depth);
  const std::string summa = p.Value("--summa", "bcast");
  c.summas = ParseNames("--summa", summa == "both" ? "all" : summa, {"bcast", "allgather"});
  c.cases = ParseNames("--case", p.Value("--case", "all"), {std::begin(kCases), std::end(kCases)});
  const std::vector<std::string> backends = BackendNames();
  c.backends = ParseNames("--backend", p.Value("--backend", "ucx"), backends);
  c.shape = ParseLayerShape(p);
  c.dtypes = ParseFloatTypes(p);
  const std::string ov = p.Value("--overlap", "both");
  if (ov == "both") {
    c.overlaps = {1, 0};
  } else if (ov == "on" || ov == "off") {
    c.overlaps = {ov == "on"};
  } else {
    throw UsageError("--overlap: '" + ov + "' is not on, off or both");
  }
  c.iters = ParseInt(p.Value("-n", "10"), "-n", 1, 100000000);
  c.warmup = static_cast<int>(ParseInt(p.Value("-w", "2"), "-w", 0, 1000000));
  c.checks = static_cast<int>(ParseInt(p.Value("-c", "1"), "-c", 0, 1));
  c.timeout_s = ParseDouble(p.Value("-T", "300"), "-T", 0, 1e6);
  c.dump = p.Value("--dump", "");
  c.rounds = static_cast<int>(ParseInt(p.Value("--rounds", "1"), "--rounds", 1, 10000));
  c.compute = ParseNames("--compute", p.Value("--compute", "host"), ComputeNames()).at(0);
  for (DataType dt : c.dtypes) {
    if (IsHalf(dt) && c.compute == "host") {
      throw UsageError(std::string("--dtype ") + DataTypeName(dt) +
                       ": the host compute runs f32 and f64 only; f16 and bf16 need --compute "
                       "cuda or cuda-tf32");
    }
  }
  CheckComputeBackends(p, &c);
  ParseHooks(p, &c);
  ValidateSchemes(c, world);
  return c;
}

struct Case {
  const Config* cfg = nullptr;
  std::string scheme, kind, name;
  std::string backend;  // of the TP schemes' communicator; empty for serial
  DataType dtype = DataType::kF32;
  DataType inputs_dtype = DataType::kF32;  // the dtype inputs are rounded to (= dtype but in
                                           // the f64 reference of a f16/bf16 case)
  bool overlap = false;
  SchemeOptions opt;  // overlap, depth, summa of the TP scheme
};

std::vector<Case> g_cases;
std::vector<std::string> g_failed;      // cases whose max_rel_err is above tolerance
std::unique_ptr<Communicator> g_world;  // ucx (BenchMain's)
// The other backends' worlds (mpi, nccl), created when a case uses them.
std::map<std::string, std::unique_ptr<Communicator>> g_other;
// One mesh per (backend, mesh shape, placement), its groups split once and shared by the cases.
std::map<std::string, std::unique_ptr<Mesh>> g_meshes;
std::set<std::string> g_spans_shown;  // case names whose groups' spans were printed

// The case's mesh, placed (--dp, --inner-axes); its plan's groups split, the nodes each spans
// checked against the placement and printed once per case name (rank 0).
Mesh* CaseMesh(const Case& c, Communicator* comm) {
  const TpScheme& scheme = FindScheme(c.scheme);
  const MeshShape axes = PlacedMeshFor(scheme, comm->size(), c.opt, c.cfg->place);
  const AxisOrder order = PlacedOrder(axes, c.cfg->place);
  std::string key = comm->backend() + MeshShapeString(axes);
  for (const std::string& a : order) key += "/" + a;
  std::unique_ptr<Mesh>& m = g_meshes[key];
  if (!m) m = std::make_unique<Mesh>(comm, axes, order);
  const std::string spans =
      CheckedSpans(*m, scheme.Plan(c.cfg->shape, c.kind, axes, c.opt), WorldNodes());
  if (g_spans_shown.insert(c.name).second && Bootstrap::rank() == 0) {
    std::printf("# %s: %s\n", c.name.c_str(), spans.c_str());
  }
  return m.get();
}

// f32 on TF32 tensor cores (--compute cuda-tf32) rounds GEMM inputs to 10 mantissa bits.
// f16 and bf16 (against the f64 reference on the same rounded inputs; docs/layers.md): every
// op's output is rounded to the dtype (unit roundoff f16 2^-11, bf16 2^-8), ~20 ops deep in a
// block's backward; chosen, not calibrated on a GPU.
double Tolerance(DataType dt, const std::string& compute) {
  if (dt == DataType::kF64) return 1e-9;
  if (dt == DataType::kF16) return 2e-2;
  if (dt == DataType::kBF16) return 1e-1;
  return compute == "cuda-tf32" ? 1e-2 : 1e-4;
}

// One case's tensors and its forward/backward on this rank. Parameters and gradients use
// LayerParams' structure with only the case's parts defined; the scheme's Region says which
// slice of every tensor this rank holds.
class Layer {
 public:
  // mesh is null for serial. compute: the backend's name (the case's, or "host" for the
  // reference of the check).
  Layer(const Case& c, Mesh* mesh, const std::string& compute)
      : c_(c), cfg_(c.cfg->shape), serial_(c.scheme == "serial"), compute_(CreateCompute(compute)) {
    if (!serial_) {
      scheme_ = &FindScheme(c.scheme);
      axes_ = mesh->shape();
      order_ = mesh->order();
      coords_ = mesh->coords();
      tp_ = scheme_->MakeCase(compute_.get(), mesh, cfg_, c.kind, c.opt);
    }
    // Only this rank's tensors stay allocated (its parameter shards and its slices of x and
    // dY, copies), so peak_mem_bytes_per_rank is what a rank of a real run would hold; the
    // full tensors are rebuilt from their seeds when needed (reference, dump).
    LayerParams mine = FullParams();
    if (!serial_) mine = ShardParams(*scheme_, cfg_, mine, axes_, coords_);
    // Keep only the case's parameters.
    if (c.kind == "linear" || c.kind == "mlp") p_.mlp = mine.mlp;
    if (c.kind == "attention") p_.attn = mine.attn;
    if (c.kind == "block") p_ = mine;
    // Into the compute backend's memory (no copy on the host).
    for (auto& nt : p_.Named()) *nt.second = nt.second->ToMemory(compute_->memory());
    x_in_ = Mine("x", FullInput(kXSeed)).ToMemory(compute_->memory());
    dy_in_ = Mine("x", FullInput(kDySeed)).ToMemory(compute_->memory());
  }

  // Each returns when the step's work is done (Synchronize: a device queues it).
  void Forward() {
    ForwardQueued();
    compute_->Synchronize();
  }
  void Backward() {
    BackwardQueued();
    compute_->Synchronize();
  }
  void ForwardQueued() {
    if (tp_) {
      y_ = tp_->Forward(p_, x_in_);
      return;
    }
    const std::string& k = c_.kind;
    if (k == "linear") {
      h1_ = LinearForward(*compute_, p_.mlp.fc1, x_in_);
      y_ = LinearForward(*compute_, p_.mlp.fc2, h1_);
    } else if (k == "mlp") {
      y_ = MlpForward(*compute_, p_.mlp, x_in_, &mlp_);
    } else if (k == "attention") {
      y_ = AttentionForward(*compute_, AttnShape(), p_.attn, x_in_, &attn_);
    } else {
      y_ = ReferenceLayer(compute_.get(), cfg_).Forward(p_, x_in_, &block_cache_);
    }
  }
  void BackwardQueued() {
    if (tp_) {
      dx_ = tp_->Backward(p_, dy_in_, &g_);
      return;
    }
    const std::string& k = c_.kind;
    if (k == "linear") {
      Tensor dh1;
      LinearBackward(*compute_, p_.mlp.fc2, h1_, dy_in_, &dh1, &g_.mlp.fc2);
      LinearBackward(*compute_, p_.mlp.fc1, x_in_, dh1, &dx_, &g_.mlp.fc1);
    } else if (k == "mlp") {
      dx_ = MlpBackward(*compute_, p_.mlp, mlp_, dy_in_, &g_.mlp);
    } else if (k == "attention") {
      dx_ = AttentionBackward(*compute_, AttnShape(), p_.attn, attn_, dy_in_, &g_.attn);
    } else {
      dx_ = ReferenceLayer(compute_.get(), cfg_).Backward(p_, block_cache_, dy_in_, &g_);
    }
  }

  // After a step: the serial reference on the full tensors; max rel error of this rank's
  // output, dX and gradients vs the reference's slices.
  double Error() {
    Case rc = c_;
    rc.scheme = "serial";
    // f16/bf16: the reference is f64 on the same (rounded) inputs and parameters.
    if (IsHalf(c_.dtype)) {
      rc.dtype = DataType::kF64;
      rc.inputs_dtype = c_.dtype;
    }
    Layer ref(rc, nullptr, "host");
    ref.Forward();
    ref.Backward();
    double e = std::max(SliceError(Host(y_), "x", ref.y_), SliceError(Host(dx_), "x", ref.dx_));
    auto got = g_.Named();
    auto want = ref.g_.Named();
    missing_.clear();
    for (size_t i = 0; i < got.size(); ++i) {
      if (!want[i].second->defined()) continue;
      if (!got[i].second->defined()) {
        // A gradient the reference has and this scheme lacks is wrong: as if it were all
        // zeros, relative error 1.
        missing_ += (missing_.empty() ? "" : ", ") + got[i].first;
        e = std::max(e, 1.0);
        continue;
      }
      e = std::max(e, SliceError(Host(*got[i].second), got[i].first, *want[i].second));
    }
    return e;
  }
  // Gradients the reference has and the last Error() found missing ("" if none).
  const std::string& missing() const { return missing_; }
  // Test hook: loses the gradient `name` (if this case has it), as a scheme that stopped
  // producing it.
  void DropGrad(const std::string& name) {
    for (auto& [n, t] : g_.Named()) {
      if (n == name) *t = Tensor();
    }
  }

  // Writes the full inputs, parameters, outputs and gradients of the last step (rank 0),
  // under the same names for every scheme.
  void Dump(const std::string& dir) {
    const Tensor x = FullInput(kXSeed);
    std::vector<std::pair<std::string, Tensor>> files = {{"x", x},
                                                         {"dy", FullInput(kDySeed)},
                                                         {"out", Full("x", Host(y_), x.shape())},
                                                         {"dx", Full("x", Host(dx_), x.shape())}};
    auto params = p_.Named();
    auto grads = g_.Named();
    LayerParams full = FullParams();
    auto fulls = full.Named();
    for (size_t i = 0; i < params.size(); ++i) {
      if (!params[i].second->defined()) continue;
      const Tensor& f = *fulls[i].second;
      files.push_back({"param." + params[i].first, f});
      files.push_back(
          {"grad." + params[i].first, Full(params[i].first, Host(*grads[i].second), f.shape())});
    }
    if (Bootstrap::rank() != 0) return;
    for (auto& f : files) {  // .npy holds f32/f64: halves are written widened to f32
      WriteNpy(dir + "/" + f.first + ".npy",
               IsHalf(f.second.dtype()) ? f.second.To(DataType::kF32) : f.second);
    }
  }

  LayerConfig config() const { return cfg_; }
  Compute& compute() { return *compute_; }
  // Exposed communication of the TP layer since the last reset (0 for serial).
  double exposed_comm_s() const { return tp_ ? tp_->exposed_comm_s() : 0; }
  void ResetCommClock() {
    if (tp_) tp_->ResetCommClock();
  }
  // Test hook: makes this rank's dX wrong by more than any tolerance.
  void CorruptDx() {
    Tensor h = Host(dx_).Clone();
    double m = 0;
    for (int64_t i = 0; i < h.numel(); ++i) m = std::max(m, std::fabs(h.Get(i)));
    h.Set(0, h.Get(0) + m + 1);
    dx_.CopyFrom(h);
  }

 private:
  static constexpr uint64_t kXSeed = 21, kDySeed = 23;
  static Tensor Host(const Tensor& t) { return t.ToMemory(MemoryType::kHost); }
  AttentionShape AttnShape() const { return {cfg_.batch, cfg_.seq, cfg_.heads, cfg_.causal}; }
  // The full parameters and inputs, identical on every rank (seeded).
  // (An f64 reference of a half case: rounded to inputs_dtype, held in f64.)
  LayerParams FullParams() const {
    LayerParams p = LayerParams::Init(cfg_, DataType::kF64, /*seed=*/11);
    if (c_.inputs_dtype != c_.dtype) p = p.To(c_.inputs_dtype);
    return p.To(c_.dtype);
  }
  Tensor FullInput(uint64_t seed) const {
    Tensor x({cfg_.tokens(), cfg_.hidden}, c_.inputs_dtype);
    x.FillUniform(seed, -1, 1);
    return x.dtype() == c_.dtype ? x : x.To(c_.dtype);
  }
  // The error of this rank's slice `got` of tensor `name` against the reference's full
  // tensor: max |got - slice| over the largest magnitude of the whole reference (MaxRelError
  // of the whole tensor, restricted to the slice), so that a slice whose reference is zero up
  // to rounding (e.g. only key biases, whose gradient vanishes) is not a failure.
  double SliceError(const Tensor& got, const std::string& name, const Tensor& full) const {
    const Tensor want = Mine(name, full);
    if (got.numel() != want.numel()) return 1.0;
    return MaxAbsError(got, want) / std::max(MaxAbs(full), 1e-300);
  }
  static double MaxAbs(const Tensor& t) {
    double m = 0;
    for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(t.Get(i)));
    return m;
  }
  // This rank's slice (a copy) of the full tensor `name`; serial: the tensor itself.
  Tensor Mine(const std::string& name, const Tensor& full) const {
    return serial_ ? full : SliceOf(*scheme_, name, full, cfg_, axes_, coords_);
  }
  // The full tensor `name` (shape full) from every rank's slice (collective): gathered in
  // world-rank order, put in mesh-rank order (the placement's) for AssembleFull.
  Tensor Full(const std::string& name, const Tensor& mine, const Shape& full) const {
    if (serial_) return mine;
    const size_t n = static_cast<size_t>(Bootstrap::size()), b = mine.bytes();
    std::vector<char> all(b * n), by_mesh(b * n);
    Bootstrap::AllGather(mine.data(), b, all.data());
    for (size_t w = 0; w < n; ++w) {
      const auto m = static_cast<size_t>(
          MeshRank(axes_, PlacedCoords(axes_, order_, static_cast<int64_t>(w))));
      std::memcpy(by_mesh.data() + m * b, all.data() + w * b, b);
    }
    return AssembleFull(*scheme_, name, mine, by_mesh.data(), full, cfg_, axes_);
  }

  Case c_;
  LayerConfig cfg_;
  bool serial_;
  const TpScheme* scheme_ = nullptr;
  MeshShape axes_;
  AxisOrder order_;  // the placement: world rank <-> coords_
  std::vector<int64_t> coords_;
  std::unique_ptr<Compute> compute_;
  std::unique_ptr<TpCase> tp_;
  LayerParams p_;
  LayerGrads g_;
  Tensor x_in_, dy_in_, h1_, y_, dx_;
  std::string missing_;
  MlpCache mlp_;
  AttentionCache attn_;
  LayerCache block_cache_;
};

double PeakRssBytes() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) * 1024.0;
}

// Bytes this rank sent in the mesh's groups since their last reset (all op kinds).
uint64_t MeshBytes(Mesh& mesh) {
  uint64_t b = mesh.comm().counters().Total().bytes;
  for (Communicator* g : mesh.groups()) b += g->counters().Total().bytes;
  return b;
}

// One step outside the timed loop: traffic, flops, tensor memory, correctness (after the
// test hooks), dump.
struct UntimedStep {
  double bytes = 0, flops = 0, peak_mem = 0, err = 0;
};
UntimedStep RunUntimed(const Case& c, Mesh* mesh, Layer* layer) {
  const Config& cfg = *c.cfg;
  UntimedStep u;
  if (mesh) mesh->ResetCounters();
  layer->compute().ResetFlops();
  TensorMemory::ResetPeak();
  layer->Forward();
  layer->Backward();
  u.bytes = static_cast<double>(mesh ? MeshBytes(*mesh) : 0);
  u.flops = static_cast<double>(layer->compute().flops().total());
  u.peak_mem = static_cast<double>(TensorMemory::PeakBytes());
  if (cfg.corrupt_rank == Bootstrap::rank()) layer->CorruptDx();
  if (!cfg.drop_grad.empty() && mesh) layer->DropGrad(cfg.drop_grad);
  u.err = cfg.checks > 0 ? layer->Error() : 0;
  if (!cfg.dump.empty()) {
    std::string dir = c.name;
    for (char& ch : dir) {
      if (ch == '/' || ch == ':' || ch == ',') ch = '_';
    }
    layer->Dump(cfg.dump + "/" + dir);
  }
  return u;
}

// max_rel_err over the ranks; a case above its tolerance is listed for the exit code (7).
double CheckedError(const Case& c, const Config& cfg, double err, const Layer& layer) {
  err = Bootstrap::MaxOverRanks(err);
  if (!(err <= Tolerance(c.dtype, cfg.compute))) {
    const std::string& missing = layer.missing();
    g_failed.push_back(c.name + " (" + std::to_string(err) +
                       (missing.empty() ? "" : "; missing gradients: " + missing) + ")");
  }
  return err;
}

// The scheme's model of peak_mem_bytes_per_rank (layers/scheme.h MemoryModel); -1 when the
// scheme has none for the case (serial, linear, mlp).
double PeakMemModel(const Case& c, const Layer& layer, const Mesh* mesh) {
  if (c.scheme == "serial") return -1;
  const MemoryModel m = FindScheme(c.scheme).Memory(layer.config(), c.kind, mesh->shape(), c.opt);
  return m.terms.empty() ? -1 : static_cast<double>(MemoryModelBytes(m, c.dtype));
}

void RunCase(benchmark::State& st, size_t index) {
  const Case& c = g_cases[index];
  const Config& cfg = *c.cfg;
  const bool serial = c.scheme == "serial";
  Communicator& comm = c.backend == "ucx" || serial ? *g_world : *g_other.at(c.backend);
  Mesh* mesh = serial ? nullptr : CaseMesh(c, &comm);
  Layer layer(c, mesh, cfg.compute);
  const UntimedStep u = RunUntimed(c, mesh, &layer);
  const double bytes = u.bytes, flops = u.flops, peak_mem = u.peak_mem;
  double err = u.err;
  for (int i = 0; i < cfg.warmup; ++i) {
    layer.Forward();
    layer.Backward();
  }
  Bootstrap::Barrier();
  layer.ResetCommClock();
  double fwd = 0, bwd = 0;
  const double step = TimedLoop(st, [&] {
    auto t0 = Now();
    layer.Forward();
    const double f = SecondsSince(t0);
    auto t1 = Now();
    layer.Backward();
    const double b = SecondsSince(t1);
    fwd += Bootstrap::MaxOverRanks(f);
    bwd += Bootstrap::MaxOverRanks(b);
    return f + b;
  });
  const double n = static_cast<double>(std::max<int64_t>(st.iterations(), 1));
  const double exposed = Bootstrap::MaxOverRanks(layer.exposed_comm_s()) / n;
  // The communication skeleton alone (same collectives and sizes, no compute).
  double comm_s = 0, model = 0;
  // The skeleton's buffers are in the communicator's memory (device memory on nccl).
  if (!serial) {
    const TpScheme& scheme = FindScheme(c.scheme);
    PlanSkeleton skel(mesh, scheme.Plan(layer.config(), c.kind, mesh->shape(), c.opt), c.dtype);
    model = static_cast<double>(skel.ModelBytesPerRank());
    comm_s = skel.Time(cfg.warmup, st.iterations());
  }
  err = CheckedError(c, cfg, err, layer);
  st.counters["fwd_ms"] = fwd / n * 1e3;
  st.counters["bwd_ms"] = bwd / n * 1e3;
  st.counters["step_ms"] = step * 1e3;
  // The mpi backend cannot count the bytes its library sends (docs/runtime.md): left out.
  if (comm.counters().measured) st.counters["comm_bytes_per_rank"] = Bootstrap::MaxOverRanks(bytes);
  st.counters["comm_bytes_model"] = model;
  st.counters["comm_ms"] = comm_s * 1e3;
  st.counters["comm_exposed_ms"] = exposed * 1e3;
  st.counters["comm_frac"] = step > 0 ? exposed / step : 0;
  st.counters["flops_per_rank"] = Bootstrap::MaxOverRanks(flops);
  st.counters["tflops"] = step > 0 ? Bootstrap::MaxOverRanks(flops) / step / 1e12 : 0;
  if (cfg.checks > 0) st.counters["max_rel_err"] = err;
  st.counters["peak_mem_bytes_per_rank"] = Bootstrap::MaxOverRanks(peak_mem);
  const double mem_model = PeakMemModel(c, layer, mesh);
  if (mem_model >= 0) st.counters["peak_mem_model_bytes_per_rank"] = mem_model;
  st.counters["peak_rss_bytes"] = Bootstrap::MaxOverRanks(PeakRssBytes());
  st.counters["ranks"] = serial ? 1 : comm.size();
}

// The scheme options of a scheme's cases: one per --summa value for SUMMA schemes.
std::vector<SchemeOptions> Variants(const Config& cfg, const std::string& scheme) {
  const bool summa = scheme != "serial" && FindScheme(scheme).has_summa();
  std::vector<SchemeOptions> out;
  for (const std::string& s : summa ? cfg.summas : std::vector<std::string>{"bcast"}) {
    SchemeOptions o;
    o.depth = cfg.depth;
    o.summa = s;
    out.push_back(o);
  }
  return out;
}

// <prefix>/<case>/<dtype>/<shape>[/<scheme tag>][/dp:D][/inner:AXES]/overlap:on|off[/backend:B]
// /ranks:N.
std::string CaseName(const Case& c, int world) {
  const bool serial = c.scheme == "serial";
  const std::string prefix = serial ? "serial" : FindScheme(c.scheme).prefix();
  const std::string tag = serial ? "" : FindScheme(c.scheme).NameTag(c.opt);
  return prefix + "/" + c.kind + "/" + DataTypeName(c.dtype) + "/" + ShapeName(c.cfg->shape) +
         (tag.empty() ? "" : "/" + tag) + (serial ? "" : PlacementTag(c.cfg->place)) +
         "/overlap:" + (c.overlap ? "on" : "off") + (serial ? "" : "/backend:" + c.backend) +
         (c.cfg->compute == "host" ? "" : "/compute:" + c.cfg->compute) +
         "/ranks:" + std::to_string(serial ? 1 : world);
}

// The case's results fields (py/tpbench/schema.py): what its name says, as fields.
BenchFields FieldsOf(const Case& c) {
  const bool serial = c.scheme == "serial";
  const LayerConfig& s = c.cfg->shape;
  BenchFields f = {{"kind", "layer"},
                   {"scheme", serial ? "serial" : FindScheme(c.scheme).prefix()},
                   {"case", c.kind},
                   {"dtype", DataTypeName(c.dtype)},
                   {"batch", std::to_string(s.batch)},
                   {"seq", std::to_string(s.seq)},
                   {"hidden", std::to_string(s.hidden)},
                   {"heads", std::to_string(s.heads)},
                   {"overlap", c.overlap ? "on" : "off"},
                   {"backend", c.backend},
                   {"ranks", std::to_string(serial ? 1 : Bootstrap::size())}};
  if (serial) return f;
  const TpScheme& scheme = FindScheme(c.scheme);
  for (const auto& [k, v] : scheme.VariantFields(c.opt)) f[k] = v;
  // Where the mesh sits: every plan group's size and the nodes it spans.
  const MeshShape axes = PlacedMeshFor(scheme, Bootstrap::size(), c.opt, c.cfg->place);
  AddPlacementFields(scheme.Plan(s, c.kind, axes, c.opt), axes, PlacedOrder(axes, c.cfg->place),
                     c.cfg->place, WorldNodes(), &f);
  return f;
}

void AddCases(const Config& cfg, int world, std::vector<std::string>* names,
              std::vector<long>* iters) {
  std::vector<Case> mine;
  auto add = [&](Case c) {
    c.name = CaseName(c, world);
    // Once per name (serial has no overlap; an earlier entry may have it already).
    if (std::find(names->begin(), names->end(), c.name) != names->end() ||
        std::any_of(mine.begin(), mine.end(), [&](const Case& m) { return m.name == c.name; })) {
      return;
    }
    mine.push_back(c);
  };
  for (const std::string& scheme : cfg.schemes) {
    const bool serial = scheme == "serial";
    for (const SchemeOptions& opt : Variants(cfg, scheme)) {
      for (const std::string& backend : serial ? std::vector<std::string>{""} : cfg.backends) {
        for (const std::string& kind : cfg.cases) {
          for (DataType dt : cfg.dtypes) {
            for (int ov : cfg.overlaps) {
              Case c;
              c.cfg = &cfg;
              c.scheme = scheme;
              c.backend = backend;
              c.kind = kind;
              c.dtype = dt;
              c.inputs_dtype = dt;
              c.overlap = ov && !serial;
              c.opt = opt;
              c.opt.overlap = c.overlap;
              add(c);
            }
          }
        }
      }
    }
  }
  // --rounds N: the entry's cases N times, round-robin, so that slow drift of the machine
  // hits every case alike (Google Benchmark's repetitions run one case's back to back).
  // Odd rounds run the cases in reverse order, so no case always follows the same one.
  for (int r = 0; r < cfg.rounds; ++r) {
    for (size_t i = 0; i < mine.size(); ++i) {
      const Case& c = mine[r % 2 ? mine.size() - 1 - i : i];
      names->push_back(c.name);
      iters->push_back(cfg.iters);
      g_cases.push_back(c);
    }
  }
}

int Main(int argc, char** argv) {
  auto add = [](std::vector<SweepEntry<Config>>* entries, int world,
                std::vector<std::string>* names, std::vector<long>* iters) {
    for (SweepEntry<Config>& e : *entries) {
      if (!e.cfg.dump.empty()) e.cfg.dump = ResolveUserPath(e.cfg.dump);
      AddCases(e.cfg, world, names, iters);
      // The other backends' worlds, once each, on every rank alike (the case lists are the
      // same everywhere).
      for (const Case& c : g_cases) {
        if (c.backend.empty() || c.backend == "ucx" || g_other.count(c.backend)) continue;
        std::unique_ptr<Communicator>& w = g_other[c.backend];
        w = CreateWorld(c.backend);
        if (e.cfg.timeout_s > 0) {
          w->set_timeout(std::chrono::milliseconds(static_cast<long>(e.cfg.timeout_s * 1e3)));
        }
      }
    }
  };
  auto backends = [] {
    std::string s;
    for (const char* b : {"ucx", "mpi", "nccl"}) {
      if (std::any_of(g_cases.begin(), g_cases.end(),
                      [&](const Case& c) { return c.backend == b; })) {
        s += (s.empty() ? "" : ",") + std::string(b);
      }
    }
    return s.empty() ? std::string("none") : s;
  };
  auto verdict = [] {
    g_meshes.clear();  // their groups before the worlds they were split from
    g_other.clear();   // before BenchMain finalizes MPI
    if (g_failed.empty()) return 0;
    for (const std::string& f : g_failed) {
      if (Bootstrap::rank() == 0) {
        std::fprintf(stderr, "tpbench: error: max_rel_err above tolerance: %s\n", f.c_str());
      }
    }
    return static_cast<int>(ExitCode::kWrong);
  };
  return BenchMain<Config>(
      argc, argv, kUsage, "layers", ParseConfig, {"--causal"}, add,
      [](benchmark::State& st, size_t i) { RunCase(st, i); }, &g_world, verdict, backends,
      [](size_t i) { return FieldsOf(g_cases[i]); });
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  return tpbench::RunMain([&] { return tpbench::Main(argc, argv); });
}
