// layers/tp1d/tp1d_multirank_test.cc: 1D tensor-parallel layers on t ranks (the whole world)
// against the serial reference, and their measured traffic against TP_SCHEMES.md section 6.
//
//   tp1d_multirank_test --np 4 [--backend ucx] [--batch 2 --seq 6 --hidden 24 --heads 12
//                                                --ffn 4]
//
// Every rank builds the full X, parameters and dY from one seed, takes its slices, runs the
// distributed forward/backward (column linear, row linear, MLP, attention, block; f64 and
// f32; overlap on and off; causal and not; without and with sequence parallelism) and compares its
// Y, dX, dW, db and LN gradients with the slice of the serial reference (max rel error < 1e-10 in
// f64, < 1e-5 in f32). The bytes each rank sent per op kind (ring all-reduce / all-gather /
// reduce-scatter) must equal the formula exactly, and no other op may send. Exits 0 when all pass,
// 7 otherwise, 2 on a bad shape (UsageError naming the dimension and the divisor t).
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "comm/bootstrap.h"
#include "comm/communicator.h"
#include "comm/error.h"
#include "comm/world.h"
#include "layers/host_compute.h"
#include "layers/reference.h"
#include "layers/scheme.h"
#include "layers/tensor.h"
#include "layers/tp1d/tp1d.h"
#include "patterns/volume.h"

namespace tpbench {
namespace {

struct Options {
  std::string backend = "ucx";
  LayerConfig cfg{/*batch=*/2, /*seq=*/6, /*hidden=*/24, /*heads=*/12};
};

Options Parse(const std::vector<char*>& args) {
  Options o;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw UsageError(a + " needs a value");
      return args[++i];
    };
    if (a == "--backend") {
      o.backend = value();
    } else if (a == "--batch") {
      o.cfg.batch = std::stoll(value());
    } else if (a == "--seq") {
      o.cfg.seq = std::stoll(value());
    } else if (a == "--hidden") {
      o.cfg.hidden = std::stoll(value());
    } else if (a == "--heads") {
      o.cfg.heads = std::stoll(value());
    } else if (a == "--ffn") {
      o.cfg.ffn_factor = std::stoll(value());
    } else {
      throw UsageError("unknown flag '" + a +
                       "'; valid: --np, --backend, --batch, --seq, --hidden, --heads, --ffn");
    }
  }
  return o;
}

// Bytes one rank sent, by op kind.
struct Bytes {
  uint64_t ar = 0, ag = 0, rs = 0;
  uint64_t total() const { return ar + ag + rs; }
  bool operator==(const Bytes& o) const { return ar == o.ar && ag == o.ag && rs == o.rs; }
  Bytes operator+(const Bytes& o) const { return {ar + o.ar, ag + o.ag, rs + o.rs}; }
  std::string str() const {
    return "all_reduce " + std::to_string(ar) + " B, all_gather " + std::to_string(ag) +
           " B, reduce_scatter " + std::to_string(rs) + " B";
  }
};

class Checker {
 public:
  Checker(Communicator* comm, DataType dtype, std::string ctx, bool quiet = false)
      : comm_(comm),
        tol_(dtype == DataType::kF64 ? 1e-10 : 1e-5),
        ctx_(std::move(ctx)),
        quiet_(quiet) {}

  void Close(const std::string& what, const Tensor& got, const Tensor& want) {
    ++checks_;
    if (got.numel() != want.numel()) {
      Fail(what + ": shape " + ShapeString(got.shape()) + ", expected " +
           ShapeString(want.shape()));
      return;
    }
    double e = MaxRelError(got, want);
    if (!(e < tol_)) Fail(what + ": max rel error " + std::to_string(e));
  }
  // The scheme's plan (layers/scheme.h) of `kind` must send the formula's bytes too.
  void Plan(const std::string& scheme, const std::string& kind, const LayerConfig& cfg, DataType dt,
            const Bytes& want) {
    ++checks_;
    const MeshShape axes{{"tp", comm_->size()}};
    const uint64_t plan =
        PlanBytesPerRank(FindScheme(scheme).Plan(cfg, kind, axes, SchemeOptions()), axes, dt);
    if (plan != want.total()) {
      Fail(scheme + " plan of " + kind + ": " + std::to_string(plan) + " B, formula " +
           std::to_string(want.total()) + " B");
    }
  }
  // Bytes this rank sent since the last ResetCounters, per op kind, vs the formula (want)
  // and patterns/volume.h's model; nothing else may have been sent.
  void Volume(const std::string& what, const Bytes& want, const Bytes& model) {
    const Counters& c = comm_->counters();
    if (!c.measured) return;  // the mpi backend cannot count: no check made
    ++checks_;
    Bytes got{c.Get(OpKind::kAllReduce).bytes, c.Get(OpKind::kAllGather).bytes,
              c.Get(OpKind::kReduceScatter).bytes};
    const uint64_t total = c.Total().bytes;
    if (!(got == want) || !(model == want) || total != want.total()) {
      Fail(what + ": sent " + got.str() + " (total " + std::to_string(total) + "); formula " +
           want.str() + ", model " + model.str());
    } else if (comm_->rank() == 0) {
      std::printf("  %-48s sent per rank %s = formula\n", (ctx_ + " " + what).c_str(),
                  got.str().c_str());
    }
  }
  // A condition that must hold.
  void Expect(bool ok, const std::string& what) {
    ++checks_;
    if (!ok) Fail(what);
  }
  uint64_t failures() const { return failures_; }
  uint64_t checks() const { return checks_; }

 private:
  void Fail(const std::string& m) {
    ++failures_;
    if (!quiet_)
      std::fprintf(stderr, "rank %d: FAIL %s %s\n", comm_->rank(), ctx_.c_str(), m.c_str());
  }
  Communicator* comm_;
  double tol_;
  std::string ctx_;
  bool quiet_;
  uint64_t failures_ = 0, checks_ = 0;
};

// TP_SCHEMES.md section 0, ring model, per rank, in bytes (n = whole tensor, divisible by t):
// all-reduce 2(t-1)/t*n, all-gather to n and reduce-scatter of n (t-1)/t*n.
uint64_t Ring(int factor, int64_t n, int64_t t, DataType dt) {
  TP_CHECK(n % t == 0);
  return static_cast<uint64_t>(factor) * static_cast<uint64_t>(t - 1) *
         static_cast<uint64_t>(n / t) * DataTypeSize(dt);
}
Bytes FormulaAr(int k, int64_t n, int64_t t, DataType dt) { return {Ring(2 * k, n, t, dt), 0, 0}; }
Bytes FormulaAg(int k, int64_t n, int64_t t, DataType dt) { return {0, Ring(k, n, t, dt), 0}; }
Bytes FormulaRs(int k, int64_t n, int64_t t, DataType dt) { return {0, 0, Ring(k, n, t, dt)}; }
// The same from patterns/volume.h (counts in comm/coll.h's conventions).
uint64_t Model(OpKind kind, int k, int64_t n, const Communicator& comm, DataType dt) {
  const size_t count =
      kind == OpKind::kAllReduce ? static_cast<size_t>(n) : static_cast<size_t>(n / comm.size());
  return k * ModelBytesSent(kind, "ring", count, DataTypeSize(dt), comm.size(), comm.rank());
}
Bytes ModelAr(int k, int64_t n, const Communicator& c, DataType dt) {
  return {Model(OpKind::kAllReduce, k, n, c, dt), 0, 0};
}
Bytes ModelAg(int k, int64_t n, const Communicator& c, DataType dt) {
  return {0, Model(OpKind::kAllGather, k, n, c, dt), 0};
}
Bytes ModelRs(int k, int64_t n, const Communicator& c, DataType dt) {
  return {0, 0, Model(OpKind::kReduceScatter, k, n, c, dt)};
}

void CheckLayerGrads(Checker* ck, const std::string& prefix, LayerParams got, LayerParams want) {
  auto g = got.Named();
  auto w = want.Named();
  for (size_t i = 0; i < g.size(); ++i) {
    if (!w[i].second->defined()) continue;
    // A gradient the reference has and the scheme does not produce is a failure.
    ck->Expect(g[i].second->defined(), prefix + "d" + g[i].first + ": missing");
    if (g[i].second->defined()) ck->Close(prefix + "d" + g[i].first, *g[i].second, *w[i].second);
  }
}

// The gradient check itself must fail on what it exists to catch: a LayerNorm or bias gradient
// the scheme stopped producing, or a wrong one. Returns the failures (0 when it caught both).
uint64_t SelfCheckGradCheck(Communicator* comm) {
  LayerParams want, missing, wrong;
  want.ln1.gamma = Tensor({4}, DataType::kF64);
  want.mlp.fc2.b = Tensor({4}, DataType::kF64);
  want.ln1.gamma.Set(0, 1.0);
  missing.mlp.fc2.b = want.mlp.fc2.b;             // ln1.gamma missing
  wrong.ln1.gamma = Tensor({4}, DataType::kF64);  // all zero: wrong
  wrong.mlp.fc2.b = want.mlp.fc2.b;
  Checker ck_missing(comm, DataType::kF64, "self-check (expected to fail)", /*quiet=*/true);
  Checker ck_wrong(comm, DataType::kF64, "self-check (expected to fail)", /*quiet=*/true);
  CheckLayerGrads(&ck_missing, "", missing, want);
  CheckLayerGrads(&ck_wrong, "", wrong, want);
  uint64_t failures = 0;
  for (const Checker* ck : {&ck_missing, &ck_wrong}) {
    if (ck->failures() == 0) {
      std::fprintf(stderr, "rank %d: FAIL the gradient check accepted a %s gradient\n",
                   comm->rank(), ck == &ck_missing ? "missing" : "wrong");
      ++failures;
    }
  }
  return failures;
}

uint64_t RunCase(Communicator& comm, const LayerConfig& cfg, DataType dt, bool overlap, bool sp,
                 uint64_t* checks) {
  const int64_t t = comm.size(), r = comm.rank();
  const int64_t B = cfg.tokens(), h = cfg.hidden, f = cfg.ffn_hidden();
  HostCompute c;
  Tp1dOptions opt;
  opt.algo = Tp1dAlgorithm(comm);
  opt.overlap = overlap;
  opt.sequence_parallel = sp;
  Tp1d tp(&c, &comm, opt);
  Checker ck(&comm, dt,
             std::string(DataTypeName(dt)) + (sp ? " sp" : "") +
                 (overlap ? " overlap" : " no-overlap") + (cfg.causal ? " causal" : "") +
                 " t=" + std::to_string(t));
  // Activations outside the TP region: replicated, or this rank's rows with SP.
  auto outside = [&](const Tensor& full) { return sp ? full.RowChunk(t, r) : full; };

  LayerParams full = LayerParams::Init(cfg, DataType::kF64, /*seed=*/11).To(dt);
  Tensor x({B, h}, dt), x4({B, f}, dt), dy({B, h}, dt), dy4({B, f}, dt);
  x.FillUniform(21, -1, 1);
  x4.FillUniform(22, -1, 1);
  dy.FillUniform(23, -1, 1);
  dy4.FillUniform(24, -1, 1);

  {  // Column-parallel linear (fc1: h -> f). SP: 3(t-1)/t N_X.
    const LinearParams& pf = full.mlp.fc1;
    Tensor y_ref = LinearForward(c, pf, x);
    Tensor dx_ref;
    LinearParams g_ref;
    LinearBackward(c, pf, x, dy4, &dx_ref, &g_ref);
    LinearParams p = ShardColumn(pf, t, r);
    comm.ResetCounters();
    Tensor y = tp.ColumnForward(p, outside(x));
    Tensor dx;
    LinearParams g;
    tp.ColumnBackward(p, outside(x), dy4.ColChunk(t, r), &dx, &g);
    ck.Close("column Y", y, y_ref.ColChunk(t, r));
    ck.Close("column dX", dx, outside(dx_ref));
    ck.Close("column dW", g.w, g_ref.w.ColChunk(t, r));
    ck.Close("column db", g.b, g_ref.b.ColChunk(t, r));
    if (sp) {
      ck.Volume("column linear fwd+bwd", FormulaAg(2, B * h, t, dt) + FormulaRs(1, B * h, t, dt),
                ModelAg(2, B * h, comm, dt) + ModelRs(1, B * h, comm, dt));
    } else {
      ck.Volume("column linear fwd+bwd", FormulaAr(1, B * h, t, dt), ModelAr(1, B * h, comm, dt));
    }
  }
  {  // Row-parallel linear (fc2: f -> h). SP: 2(t-1)/t N_Y + the bias-gradient all-reduce.
    const LinearParams& pf = full.mlp.fc2;
    Tensor y_ref = LinearForward(c, pf, x4);
    Tensor dx_ref;
    LinearParams g_ref;
    LinearBackward(c, pf, x4, dy, &dx_ref, &g_ref);
    LinearParams p = ShardRow(pf, t, r);
    Tensor x_r = x4.ColChunk(t, r);
    comm.ResetCounters();
    Tensor y = tp.RowForward(p, x_r);
    Tensor dx;
    LinearParams g;
    tp.RowBackward(p, x_r, outside(dy), &dx, &g);
    ck.Close("row Y", y, outside(y_ref));
    ck.Close("row dX", dx, dx_ref.ColChunk(t, r));
    ck.Close("row dW", g.w, g_ref.w.RowChunk(t, r));
    ck.Close("row db", g.b, g_ref.b);
    if (sp) {
      ck.Volume(
          "row linear fwd+bwd",
          FormulaRs(1, B * h, t, dt) + FormulaAg(1, B * h, t, dt) + FormulaAr(1, h, t, dt),
          ModelRs(1, B * h, comm, dt) + ModelAg(1, B * h, comm, dt) + ModelAr(1, h, comm, dt));
    } else {
      ck.Volume("row linear fwd+bwd", FormulaAr(1, B * h, t, dt), ModelAr(1, B * h, comm, dt));
    }
  }
  // One column + one row linear of [B, h] activations (MLP, attention), k of each pair.
  auto pair_formula = [&](int k) {
    return sp ? FormulaAg(3 * k, B * h, t, dt) + FormulaRs(2 * k, B * h, t, dt) +
                    FormulaAr(k, h, t, dt)
              : FormulaAr(2 * k, B * h, t, dt);
  };
  auto pair_model = [&](int k) {
    return sp ? ModelAg(3 * k, B * h, comm, dt) + ModelRs(2 * k, B * h, comm, dt) +
                    ModelAr(k, h, comm, dt)
              : ModelAr(2 * k, B * h, comm, dt);
  };
  const LayerParams mine = ShardLayerParams(cfg, full, t, r);
  {  // MLP.
    MlpCache cache_ref;
    Tensor y_ref = MlpForward(c, full.mlp, x, &cache_ref);
    MlpParams g_ref;
    Tensor dx_ref = MlpBackward(c, full.mlp, cache_ref, dy, &g_ref);
    comm.ResetCounters();
    MlpCache cache;
    Tensor y = tp.MlpForward(mine.mlp, outside(x), &cache);
    MlpParams g;
    Tensor dx = tp.MlpBackward(mine.mlp, cache, outside(dy), &g);
    ck.Close("mlp Y", y, outside(y_ref));
    ck.Close("mlp dX", dx, outside(dx_ref));
    ck.Close("mlp fc1 dW", g.fc1.w, g_ref.fc1.w.ColChunk(t, r));
    ck.Close("mlp fc1 db", g.fc1.b, g_ref.fc1.b.ColChunk(t, r));
    ck.Close("mlp fc2 dW", g.fc2.w, g_ref.fc2.w.RowChunk(t, r));
    ck.Close("mlp fc2 db", g.fc2.b, g_ref.fc2.b);
    ck.Volume("mlp fwd+bwd", pair_formula(1), pair_model(1));
    ck.Plan(sp ? "1d-sp" : "1d", "mlp", cfg, dt, pair_formula(1));
    ck.Plan(sp ? "1d-sp" : "1d", "linear", cfg, dt, pair_formula(1));
  }
  {  // Attention.
    const AttentionShape shape{cfg.batch, cfg.seq, cfg.heads, cfg.causal};
    AttentionCache cache_ref;
    Tensor y_ref = AttentionForward(c, shape, full.attn, x, &cache_ref);
    AttentionParams g_ref;
    Tensor dx_ref = AttentionBackward(c, shape, full.attn, cache_ref, dy, &g_ref);
    comm.ResetCounters();
    AttentionCache cache;
    Tensor y = tp.AttentionForward(shape, mine.attn, outside(x), &cache);
    AttentionParams g;
    Tensor dx = tp.AttentionBackward(shape, mine.attn, cache, outside(dy), &g);
    ck.Close("attention Y", y, outside(y_ref));
    ck.Close("attention dX", dx, outside(dx_ref));
    ck.Close("attention qkv dW", g.qkv.w, g_ref.qkv.w.ColChunk(t, r));
    ck.Close("attention qkv db", g.qkv.b, g_ref.qkv.b.ColChunk(t, r));
    ck.Close("attention proj dW", g.proj.w, g_ref.proj.w.RowChunk(t, r));
    ck.Close("attention proj db", g.proj.b, g_ref.proj.b);
    ck.Volume("attention fwd+bwd", pair_formula(1), pair_model(1));
    ck.Plan(sp ? "1d-sp" : "1d", "attention", cfg, dt, pair_formula(1));
  }
  {  // The block: 1D 8(t-1)/t*B*h; SP 10(t-1)/t*B*h + 12(t-1)/t*h (2 row biases, 4 LN vectors).
    ReferenceLayer ref(&c, cfg);
    LayerCache cache_ref;
    Tensor y_ref = ref.Forward(full, x, &cache_ref);
    LayerGrads g_ref;
    Tensor dx_ref = ref.Backward(full, cache_ref, dy, &g_ref);
    Tp1dLayer layer(&tp, cfg);
    comm.ResetCounters();
    tp.ResetCommClock();
    LayerCache cache;
    const auto t0 = std::chrono::steady_clock::now();
    Tensor y = layer.Forward(mine, outside(x), &cache);
    LayerGrads g;
    Tensor dx = layer.Backward(mine, cache, outside(dy), &g);
    const double step_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // The exposed-communication clock saw the block's communication calls, and only them.
    ck.Expect(tp.exposed_comm_s() > 0 && tp.exposed_comm_s() < step_s,
              "block: exposed communication " + std::to_string(tp.exposed_comm_s()) +
                  " s is not in (0, step " + std::to_string(step_s) + " s)");
    tp.ResetCommClock();
    ck.Expect(tp.exposed_comm_s() == 0, "block: ResetCommClock left a non-zero clock");
    ck.Close("block Y", y, outside(y_ref));
    ck.Close("block dX", dx, outside(dx_ref));
    CheckLayerGrads(&ck, "block ", g, ShardLayerParams(cfg, g_ref, t, r));
    if (sp) {
      ck.Volume("block fwd+bwd", pair_formula(2) + FormulaAr(4, h, t, dt),
                pair_model(2) + ModelAr(4, h, comm, dt));
      ck.Plan("1d-sp", "block", cfg, dt, pair_formula(2) + FormulaAr(4, h, t, dt));
    } else {
      ck.Volume("block fwd+bwd", pair_formula(2), pair_model(2));
      ck.Plan("1d", "block", cfg, dt, pair_formula(2));
    }
  }
  *checks += ck.checks();
  return ck.failures();
}

int Main(int argc, char** argv) {
  if (int rc = MaybeRelaunch(argc, argv); rc >= 0) return rc;
  Bootstrap::Init(&argc, &argv);
  std::vector<char*> args = ArgsWithoutNp(argc, argv);
  Options o = Parse(args);
  // UsageError (exit 2) before any traffic; SP cases need the tokens to split too.
  ValidateTp1d(o.cfg, Bootstrap::size(), /*sequence_parallel=*/true);
  std::unique_ptr<Communicator> world = CreateWorld(o.backend);
  uint64_t failures = SelfCheckGradCheck(world.get()), checks = 2;
  for (DataType dt : {DataType::kF64, DataType::kF32}) {
    for (bool overlap : {true, false}) {
      for (bool causal : {false, true}) {
        for (bool sp : {false, true}) {
          LayerConfig cfg = o.cfg;
          cfg.causal = causal;
          failures += RunCase(*world, cfg, dt, overlap, sp, &checks);
        }
      }
    }
  }
  int64_t totals[2] = {static_cast<int64_t>(checks), static_cast<int64_t>(failures)};
  world->AllReduce(totals, totals, 2, DataType::kI64, ReduceOp::kSum, {"auto", {}})->Wait();
  if (world->rank() == 0) {
    std::printf(
        "tp1d_multirank_test: backend=%s t=%d b=%lld s=%lld h=%lld heads=%lld: %lld "
        "checks over all ranks, %lld failed\n",
        o.backend.c_str(), world->size(), static_cast<long long>(o.cfg.batch),
        static_cast<long long>(o.cfg.seq), static_cast<long long>(o.cfg.hidden),
        static_cast<long long>(o.cfg.heads), static_cast<long long>(totals[0]),
        static_cast<long long>(totals[1]));
  }
  world.reset();
  Bootstrap::Finalize();
  return totals[1] == 0 ? 0 : static_cast<int>(ExitCode::kWrong);
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  return tpbench::RunMain([&] { return tpbench::Main(argc, argv); });
}
