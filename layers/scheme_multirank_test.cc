// layers/scheme_multirank_test.cc: a registered scheme's layers on P ranks against the serial
// reference, and their measured traffic against the scheme's plan and against closed forms
// written from TP_SCHEMES.md sections 5 and 6 (independently of the plan), per group and op.
//
//   scheme_multirank_test --np 4 --scheme 2d [--batch 2 --seq 2 --hidden 8 --heads 2]
//                         [--quick]   (f64 only, overlap on only: for 8 and 9 ranks)
//
// Every rank builds the full X, parameters and dY from one seed, takes its slices by the
// scheme's Region, runs each case (linear = fc1 then fc2, mlp, attention, block) forward and
// backward for every variant (dtype, overlap, causal, summa), and compares its Y, dX and every
// gradient with its slice of the serial reference (max rel error < 1e-10 f64, < 1e-5 f32); a
// gradient the reference has and the scheme lacks fails. Bytes sent per group and op kind
// (ucx counters) must equal the plan's and the closed form's exactly, with nothing else sent,
// and the messages per group and op kind those of the plan's calls (patterns/volume.h).
// Exits 0 when all pass, 7 otherwise, 2 on a bad mesh or shape.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "comm/bootstrap.h"
#include "comm/communicator.h"
#include "comm/error.h"
#include "comm/world.h"
#include "layers/host_compute.h"
#include "layers/mesh.h"
#include "layers/reference.h"
#include "layers/scheme.h"
#include "layers/tensor.h"
#include "patterns/volume.h"

namespace tpbench {
namespace {

struct Options {
  std::string scheme = "2d", backend = "ucx";
  int64_t depth = 1;
  bool quick = false;
  bool vs_2d = false;  // 2.5d with depth 1: also run 2d, results must be bit-identical
  LayerConfig cfg{/*batch=*/2, /*seq=*/2, /*hidden=*/8, /*heads=*/2};
};

Options Parse(const std::vector<char*>& args) {
  Options o;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw UsageError(a + " needs a value");
      return args[++i];
    };
    if (a == "--scheme") {
      o.scheme = value();
    } else if (a == "--backend") {
      o.backend = value();
    } else if (a == "--depth") {
      o.depth = std::stoll(value());
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--vs-2d") {
      o.vs_2d = true;
    } else if (a == "--batch") {
      o.cfg.batch = std::stoll(value());
    } else if (a == "--seq") {
      o.cfg.seq = std::stoll(value());
    } else if (a == "--hidden") {
      o.cfg.hidden = std::stoll(value());
    } else if (a == "--heads") {
      o.cfg.heads = std::stoll(value());
    } else {
      throw UsageError("unknown flag '" + a + "'; valid: --np, --scheme, --backend, --depth, " +
                       "--quick, --vs-2d, --batch, --seq, --hidden, --heads");
    }
  }
  return o;
}

// Bytes per rank keyed by "GROUP kind".
using Traffic = std::map<std::string, uint64_t>;
std::string Key(const std::string& group, OpKind k) {
  static const char* names[] = {"all-reduce", "all-gather", "reduce-scatter", "broadcast",
                                "reduce",     "all-to-all", "sendrecv",       "barrier"};
  return group + " " + names[static_cast<int>(k)];
}
std::string Str(const Traffic& t) {
  std::string s;
  for (const auto& [k, v] : t) {
    if (v) s += (s.empty() ? "" : ", ") + k + " " + std::to_string(v);
  }
  return s.empty() ? "nothing" : s;
}
bool Same(Traffic a, Traffic b) {
  for (auto* t : {&a, &b}) {
    for (auto it = t->begin(); it != t->end();) it = it->second ? std::next(it) : t->erase(it);
  }
  return a == b;
}

// --- Closed forms (TP_SCHEMES.md sections 2, 5, 6), per group and op kind, bytes per rank ---

struct Sums {  // over the case's linears
  double nx = 0, nw = 0, out = 0;
  int lns = 0;
};
Sums CaseSums(const std::string& kind, const LayerConfig& cfg) {
  const double B = static_cast<double>(cfg.tokens()), h = static_cast<double>(cfg.hidden);
  const double f = static_cast<double>(cfg.ffn_hidden());
  if (kind == "attention") return {2 * B * h, 4 * h * h, 4 * h, 0};  // qkv h->3h, proj h->h
  if (kind == "block") return {7 * B * h, 12 * h * h, 9 * h, 2};     // section 6's sums
  return {B * h + B * f, 2 * h * f, f + h, 0};                       // fc1, fc2
}

// 2D: per linear ROW 3(q-1)/q^2 N_X (two broadcasts of X, one reduce of dX), COL
// 3(q-1)/q^2 N_W (two of W, one of dW) plus the bias all-gather and reduce-scatter
// (q-1)/q^2 out each; per LayerNorm 4 all-reduces of [B/q] over ROW and 2 all-gathers + 2
// reduce-scatters of [h/q] over COL (section 5). allgather: all-gathers for broadcasts and
// reduce-scatters for reduces, same volume.
Traffic ClosedForm2d(const std::string& kind, const LayerConfig& cfg, int64_t q,
                     const std::string& summa, DataType dt) {
  const Sums s = CaseSums(kind, cfg);
  const double B = static_cast<double>(cfg.tokens()), h = static_cast<double>(cfg.hidden);
  const double es = static_cast<double>(DataTypeSize(dt)), a = double(q - 1) / double(q * q);
  const bool ag = summa == "allgather";
  const OpKind bc = ag ? OpKind::kAllGather : OpKind::kBroadcast;
  const OpKind red = ag ? OpKind::kReduceScatter : OpKind::kReduce;
  Traffic t;
  auto add = [&](const std::string& g, OpKind k, double elems) {
    t[Key(g, k)] += static_cast<uint64_t>(std::llround(elems * es));
  };
  add("ROW", bc, 2 * a * s.nx);
  add("ROW", red, a * s.nx);
  add("COL", bc, 2 * a * s.nw);
  add("COL", red, a * s.nw);
  add("COL", OpKind::kAllGather, a * s.out + s.lns * 2 * a * h);
  add("COL", OpKind::kReduceScatter, a * s.out + s.lns * 2 * a * h);
  add("ROW", OpKind::kAllReduce, s.lns * 4 * 2 * a * B);
  // Section 6's whole-layer total, 3(q-1)/q^2 (7Bh + 12h^2), is the SUMMA terms.
  if (kind == "block" && !ag) {
    const uint64_t summa =
        t[Key("ROW", bc)] + t[Key("ROW", red)] + t[Key("COL", bc)] + t[Key("COL", red)];
    TP_CHECK(summa == static_cast<uint64_t>(std::llround(3 * a * (7 * B * h + 12 * h * h) * es)));
  }
  return t;
}

// 2.5D (section 3): 2D's SUMMA terms inside a depth layer with X blocks d times smaller
// (ROW 3(q-1)/q^2 N_X/d, COL 3(q-1)/q^2 N_W), the depth reduction of dW over DEP
// 2(d-1)/d N_W/q^2, bias gradients [out/q] all-reduced over XZ (d*q ranks); per LayerNorm 4
// all-reduces of [B/(d*q)] over ROW and 2 of [h/q] over XZ.
Traffic ClosedForm2p5d(const std::string& kind, const LayerConfig& cfg, int64_t q, int64_t d,
                       const std::string& summa, DataType dt) {
  const Sums s = CaseSums(kind, cfg);
  const double B = static_cast<double>(cfg.tokens()), h = static_cast<double>(cfg.hidden);
  const double es = static_cast<double>(DataTypeSize(dt)), a = double(q - 1) / double(q * q);
  const double dq = static_cast<double>(d * q), dd = static_cast<double>(d);
  const bool ag = summa == "allgather";
  const OpKind bc = ag ? OpKind::kAllGather : OpKind::kBroadcast;
  const OpKind red = ag ? OpKind::kReduceScatter : OpKind::kReduce;
  Traffic t;
  auto add = [&](const std::string& g, OpKind k, double elems) {
    t[Key(g, k)] += static_cast<uint64_t>(std::llround(elems * es));
  };
  add("ROW", bc, 2 * a * s.nx / dd);
  add("ROW", red, a * s.nx / dd);
  add("COL", bc, 2 * a * s.nw);
  add("COL", red, a * s.nw);
  add("DEP", OpKind::kAllReduce, 2 * (dd - 1) / dd * s.nw / double(q * q));
  add("XZ", OpKind::kAllReduce,
      2 * (dq - 1) / dq * (s.out / double(q) + s.lns * 2 * h / double(q)));
  add("ROW", OpKind::kAllReduce, s.lns * 4 * 2 * double(q - 1) / double(q) * B / dq);
  // Section 6: 3(q-1)/q^2 (7Bh/d + 12h^2) + 24(d-1)h^2/(d q^2) is the SUMMA and DEP terms.
  if (kind == "block" && !ag) {
    const uint64_t big = t[Key("ROW", bc)] + t[Key("ROW", red)] + t[Key("COL", bc)] +
                         t[Key("COL", red)] + t[Key("DEP", OpKind::kAllReduce)];
    const double want =
        3 * a * (7 * B * h / dd + 12 * h * h) + 24 * (dd - 1) * h * h / (dd * q * q);
    TP_CHECK(big == static_cast<uint64_t>(std::llround(want * es)));
  }
  return t;
}

// 3D (section 4): per linear (in -> out), all-gathers of X over the input-row group and of W
// over WEIGHT (vary i), the reduce-scatter of Y over the hidden group; backward the
// all-gather of dY and the reduce-scatters of dX and dW on the same groups: (q-1)/q^3 N each.
// QKV and fc1 gather X over INPUT (vary j) and scatter Y over OUTPUT (vary k); proj and fc2
// the reverse. Bias gradients all-reduced over the q^2 ranks that hold the same bias slice
// (OXW for QKV/fc1, IXW for proj/fc2); per LayerNorm one stacked all-reduce of [2, B/q^2]
// over OUTPUT forward and one backward, gamma and beta gradients [h/q] over IXW.
Traffic ClosedForm3d(const std::string& kind, const LayerConfig& cfg, int64_t q, DataType dt) {
  const double B = static_cast<double>(cfg.tokens()), h = static_cast<double>(cfg.hidden);
  const double f = static_cast<double>(cfg.ffn_hidden()), es = DataTypeSize(dt);
  const double c = double(q - 1) / double(q * q * q), qq = double(q * q);
  struct L {
    double in, out;
    bool odd;
  };
  std::vector<L> ls = {{h, f, false}, {f, h, true}};
  if (kind == "attention") ls = {{h, 3 * h, false}, {h, h, true}};
  if (kind == "block") ls = {{h, 3 * h, false}, {h, h, true}, {h, f, false}, {f, h, true}};
  Traffic t;
  auto add = [&](const std::string& g, OpKind k, double elems) {
    t[Key(g, k)] += static_cast<uint64_t>(std::llround(elems * es));
  };
  double total = 0;
  for (const L& l : ls) {
    const std::string xg = l.odd ? "OUTPUT" : "INPUT", yg = l.odd ? "INPUT" : "OUTPUT";
    for (OpKind k : {OpKind::kAllGather, OpKind::kReduceScatter}) {
      add(xg, k, c * B * l.in);
      add(yg, k, c * B * l.out);
      add("WEIGHT", k, c * l.in * l.out);
    }
    add(l.odd ? "IXW" : "OXW", OpKind::kAllReduce, 2 * (qq - 1) / qq * l.out / double(q));
    total += 2 * c * (B * l.in + l.in * l.out + B * l.out);
  }
  if (kind == "block") {
    add("OUTPUT", OpKind::kAllReduce, 2 * 2 * 2 * double(q - 1) / double(q) * 2 * B / qq);
    add("IXW", OpKind::kAllReduce, 2 * 2 * 2 * (qq - 1) / qq * h / double(q));
    // Section 6: 2(q-1)/q^3 (16Bh + 12h^2).
    TP_CHECK(std::llround(total * es) == std::llround(2 * c * (16 * B * h + 12 * h * h) * es));
  }
  return t;
}

Traffic ClosedForm(const std::string& scheme, const std::string& kind, const LayerConfig& cfg,
                   const MeshShape& axes, const SchemeOptions& opt, DataType dt) {
  if (scheme == "2d") return ClosedForm2d(kind, cfg, AxisSize(axes, "row"), opt.summa, dt);
  if (scheme == "3d") return ClosedForm3d(kind, cfg, AxisSize(axes, "i"), dt);
  if (scheme == "2.5d") {
    return ClosedForm2p5d(kind, cfg, AxisSize(axes, "row"), AxisSize(axes, "dep"), opt.summa, dt);
  }
  throw UsageError("scheme_multirank_test: no closed form for scheme '" + scheme + "'");
}

// --- Checks ---

class Checker {
 public:
  Checker(int rank, DataType dt, std::string ctx)
      : rank_(rank), tol_(dt == DataType::kF64 ? 1e-10 : 1e-5), ctx_(std::move(ctx)) {}
  // got vs want (this rank's slice of the reference tensor full): max |got - want| over the
  // largest magnitude of the whole reference, so that a slice whose reference vanishes up to
  // rounding (only key biases: their gradient is zero) is judged on the tensor's scale.
  void Close(const std::string& what, const Tensor& got, const Tensor& want, const Tensor& full) {
    ++checks_;
    if (!got.defined()) return Fail(what + ": missing");
    if (got.numel() != want.numel()) {
      return Fail(what + ": shape " + ShapeString(got.shape()) + ", expected " +
                  ShapeString(want.shape()));
    }
    double scale = 0;
    for (int64_t i = 0; i < full.numel(); ++i) scale = std::max(scale, std::fabs(full.Get(i)));
    const double e = MaxAbsError(got, want) / std::max(scale, 1e-300);
    if (!(e < tol_)) Fail(what + ": max rel error " + std::to_string(e));
  }
  void Expect(bool ok, const std::string& what) {
    ++checks_;
    if (!ok) Fail(what);
  }
  uint64_t failures() const { return failures_; }
  uint64_t checks() const { return checks_; }
  const std::string& ctx() const { return ctx_; }

 private:
  void Fail(const std::string& m) {
    ++failures_;
    std::fprintf(stderr, "rank %d: FAIL %s %s\n", rank_, ctx_.c_str(), m.c_str());
  }
  int rank_;
  double tol_;
  std::string ctx_;
  uint64_t failures_ = 0, checks_ = 0;
};

// The serial reference of a case on the full tensors.
struct Reference {
  Tensor y, dx;
  LayerGrads g;
};
Reference RunReference(Compute& c, const std::string& kind, const LayerConfig& cfg,
                       const LayerParams& full, const Tensor& x, const Tensor& dy) {
  Reference r;
  const AttentionShape shape{cfg.batch, cfg.seq, cfg.heads, cfg.causal};
  if (kind == "linear") {
    Tensor h1 = LinearForward(c, full.mlp.fc1, x), dh1;
    r.y = LinearForward(c, full.mlp.fc2, h1);
    LinearBackward(c, full.mlp.fc2, h1, dy, &dh1, &r.g.mlp.fc2);
    LinearBackward(c, full.mlp.fc1, x, dh1, &r.dx, &r.g.mlp.fc1);
  } else if (kind == "mlp") {
    MlpCache cache;
    r.y = MlpForward(c, full.mlp, x, &cache);
    r.dx = MlpBackward(c, full.mlp, cache, dy, &r.g.mlp);
  } else if (kind == "attention") {
    AttentionCache cache;
    r.y = AttentionForward(c, shape, full.attn, x, &cache);
    r.dx = AttentionBackward(c, shape, full.attn, cache, dy, &r.g.attn);
  } else {
    ReferenceLayer ref(&c, cfg);
    LayerCache cache;
    r.y = ref.Forward(full, x, &cache);
    r.dx = ref.Backward(full, cache, dy, &r.g);
  }
  return r;
}

// The case's parameters only (LayerParams' structure).
LayerParams CaseParams(const std::string& kind, const LayerParams& all) {
  LayerParams p;
  if (kind == "linear" || kind == "mlp") p.mlp = all.mlp;
  if (kind == "attention") p.attn = all.attn;
  if (kind == "block") p = all;
  return p;
}

// Bytes (msgs = false) or messages (true) this rank sent per plan group and op kind.
Traffic Measured(Mesh& mesh, const CommPlan& plan, bool msgs = false) {
  Traffic t;
  for (const auto& [name, axes] : plan.groups) {
    const Counters& c = mesh.Group(axes).counters();
    for (int k = 0; k < static_cast<int>(OpKind::kInternal); ++k) {
      const OpCount n = c.Get(static_cast<OpKind>(k));
      t[Key(name, static_cast<OpKind>(k))] += msgs ? n.msgs : n.bytes;
    }
  }
  return t;
}

// The messages this rank sends for the plan's calls (each call's count in comm/coll.h's
// convention, roots rotating), by patterns/volume.h's exact model of the algorithms
// SchemeAlgorithm picks: equal to the measured message counts only if the layers issue the
// plan's calls, with its sizes and roots, and no others.
Traffic PlanMessages(Mesh& mesh, const CommPlan& plan, DataType dt) {
  Traffic t;
  for (const CommOp& o : plan.ops) {
    Communicator& g = mesh.Group(plan.groups.at(o.group));
    const bool per_rank = o.kind == OpKind::kAllGather || o.kind == OpKind::kReduceScatter;
    const size_t count = static_cast<size_t>(per_rank ? o.n / g.size() : o.n);
    for (int64_t c = 0; c < o.calls; ++c) {
      t[Key(o.group, o.kind)] +=
          ModelMsgsSent(o.kind, SchemeAlgorithm(g, o.kind), count, DataTypeSize(dt), g.size(),
                        g.rank(), static_cast<int>(c % g.size()));
    }
  }
  return t;
}

Traffic PlanTraffic(const CommPlan& plan, const MeshShape& axes, DataType dt) {
  Traffic t;
  for (const CommOp& o : plan.ops) {
    t[Key(o.group, o.kind)] +=
        PlanBytesPerRank(plan, axes, dt, [&](const CommOp& x) { return &x == &o; });
  }
  return t;
}

void RunCase(Mesh& mesh, const TpScheme& s, const std::string& kind, const LayerConfig& cfg,
             DataType dt, const SchemeOptions& opt, Checker* ck) {
  HostCompute c;
  const MeshShape& axes = mesh.shape();
  const LayerParams full = LayerParams::Init(cfg, DataType::kF64, /*seed=*/11).To(dt);
  Tensor x({cfg.tokens(), cfg.hidden}, dt), dy({cfg.tokens(), cfg.hidden}, dt);
  x.FillUniform(21, -1, 1);
  dy.FillUniform(23, -1, 1);
  const Reference ref = RunReference(c, kind, cfg, full, x, dy);
  const LayerParams mine = CaseParams(kind, ShardParams(s, cfg, full, axes, mesh.coords()));
  auto slice = [&](const std::string& name, const Tensor& t) {
    return SliceOf(s, name, t, cfg, axes, mesh.coords());
  };
  std::unique_ptr<TpCase> tp = s.MakeCase(&c, &mesh, cfg, kind, opt);
  const CommPlan plan = s.Plan(cfg, kind, axes, opt);
  mesh.ResetCounters();
  tp->ResetCommClock();
  const auto t0 = std::chrono::steady_clock::now();
  Tensor y = tp->Forward(mine, slice("x", x));
  LayerGrads g;
  Tensor dx = tp->Backward(mine, slice("x", dy), &g);
  const double step_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The exposed-communication clock saw the case's communication calls, and only them.
  ck->Expect(tp->exposed_comm_s() > 0 && tp->exposed_comm_s() < step_s,
             kind + ": exposed communication " + std::to_string(tp->exposed_comm_s()) +
                 " s is not in (0, step " + std::to_string(step_s) + " s)");
  ck->Close(kind + " Y", y, slice("x", ref.y), ref.y);
  ck->Close(kind + " dX", dx, slice("x", ref.dx), ref.dx);
  LayerGrads want = ref.g;
  auto gn = g.Named();
  auto wn = want.Named();
  for (size_t i = 0; i < gn.size(); ++i) {
    if (wn[i].second->defined()) {
      ck->Close(kind + " d" + gn[i].first, *gn[i].second, slice(wn[i].first, *wn[i].second),
                *wn[i].second);
    }
  }
  if (!mesh.comm().counters().measured) return;  // mpi: values only
  const Traffic got = Measured(mesh, plan), model = PlanTraffic(plan, axes, dt);
  const Traffic closed = ClosedForm(s.name(), kind, cfg, axes, opt, dt);
  ck->Expect(mesh.comm().counters().Total().bytes == 0 || mesh.groups().empty(),
             kind + ": traffic on the world communicator outside the mesh groups");
  ck->Expect(Same(got, closed), kind + ": sent " + Str(got) + "; closed form " + Str(closed));
  ck->Expect(Same(model, closed), kind + ": plan " + Str(model) + "; closed form " + Str(closed));
  const Traffic msgs = Measured(mesh, plan, /*msgs=*/true),
                plan_msgs = PlanMessages(mesh, plan, dt);
  ck->Expect(Same(msgs, plan_msgs),
             kind + ": messages sent " + Str(msgs) + "; the plan's calls send " + Str(plan_msgs));
  if (mesh.comm().rank() == 0 && Same(got, closed)) {
    std::printf("  %-44s %s = closed form = plan\n", (ck->ctx() + " " + kind).c_str(),
                Str(got).c_str());
  }
}

// One case's outputs and gradients on this rank.
struct Result {
  Tensor y, dx;
  LayerGrads g;
};
Result RunScheme(Mesh& mesh, const TpScheme& s, const std::string& kind, const LayerConfig& cfg,
                 DataType dt, const SchemeOptions& opt) {
  HostCompute c;
  const LayerParams full = LayerParams::Init(cfg, DataType::kF64, /*seed=*/11).To(dt);
  Tensor x({cfg.tokens(), cfg.hidden}, dt), dy({cfg.tokens(), cfg.hidden}, dt);
  x.FillUniform(21, -1, 1);
  dy.FillUniform(23, -1, 1);
  const LayerParams mine = CaseParams(kind, ShardParams(s, cfg, full, mesh.shape(), mesh.coords()));
  std::unique_ptr<TpCase> tp = s.MakeCase(&c, &mesh, cfg, kind, opt);
  Result r;
  r.y = tp->Forward(mine, SliceOf(s, "x", x, cfg, mesh.shape(), mesh.coords()));
  r.dx = tp->Backward(mine, SliceOf(s, "x", dy, cfg, mesh.shape(), mesh.coords()), &r.g);
  return r;
}

// 2.5D with d = 1 is 2D: Y, dX and weight gradients bit for bit; a 2D vector gradient
// (chunk_q(chunk_q(v)[j])[i]) is the i-th q-chunk of the 2.5D one (chunk_q(v)[j]).
void CompareWith2d(Mesh& mesh25, Mesh& mesh2d, const std::string& kind, const LayerConfig& cfg,
                   DataType dt, const SchemeOptions& opt, Checker* ck) {
  const Result a = RunScheme(mesh25, FindScheme("2.5d"), kind, cfg, dt, opt);
  const Result b = RunScheme(mesh2d, FindScheme("2d"), kind, cfg, dt, opt);
  const int64_t q = mesh2d.size("row"), i = mesh2d.coord("row");
  auto same = [&](const std::string& what, const Tensor& x, const Tensor& y) {
    ck->Expect(x.defined() && y.defined() && x.numel() == y.numel() && MaxAbsError(x, y) == 0,
               kind + " " + what + ": 2.5d (d=1) differs from 2d");
  };
  same("Y", a.y, b.y);
  same("dX", a.dx, b.dx);
  LayerGrads ga = a.g, gb = b.g;
  auto na = ga.Named();
  auto nb = gb.Named();
  for (size_t k = 0; k < na.size(); ++k) {
    if (!nb[k].second->defined()) continue;
    const Tensor& x = *na[k].second;
    if (x.ndim() == 1 && x.defined()) {
      const int64_t n = x.numel() / q;
      same("d" + na[k].first, CopyRegion(x, {0, 1, i * n, (i + 1) * n}), *nb[k].second);
    } else {
      same("d" + na[k].first, x, *nb[k].second);
    }
  }
}

int Main(int argc, char** argv) {
  if (int rc = MaybeRelaunch(argc, argv); rc >= 0) return rc;
  Bootstrap::Init(&argc, &argv);
  const Options o = Parse(ArgsWithoutNp(argc, argv));
  const TpScheme& s = FindScheme(o.scheme);
  SchemeOptions base;
  base.depth = o.depth;
  const MeshShape axes = s.MeshFor(Bootstrap::size(), base);
  s.Validate(o.cfg, axes);  // UsageError (exit 2) before any traffic
  std::unique_ptr<Communicator> world = CreateWorld(o.backend);
  auto mesh_owner = std::make_unique<Mesh>(world.get(), axes);
  Mesh& mesh = *mesh_owner;
  std::unique_ptr<Mesh> mesh2d;
  if (o.vs_2d) {
    if (o.scheme != "2.5d" || o.depth != 1)
      throw UsageError("--vs-2d needs --scheme 2.5d --depth 1");
    mesh2d = std::make_unique<Mesh>(world.get(), FindScheme("2d").MeshFor(world->size(), base));
  }
  uint64_t failures = 0, checks = 0;
  const std::vector<std::string> summas =
      s.has_summa() ? std::vector<std::string>{"bcast", "allgather"} : std::vector<std::string>{""};
  for (DataType dt : {DataType::kF64, DataType::kF32}) {
    if (o.quick && dt == DataType::kF32) continue;
    for (int overlap = 1; overlap >= (o.quick ? 1 : 0); --overlap) {
      for (const std::string& summa : summas) {
        for (bool causal : {false, true}) {
          LayerConfig cfg = o.cfg;
          cfg.causal = causal;
          SchemeOptions opt = base;
          opt.overlap = overlap;
          if (!summa.empty()) opt.summa = summa;
          Checker ck(world->rank(), dt,
                     std::string(DataTypeName(dt)) + (overlap ? " overlap" : " no-overlap") +
                         (summa.empty() ? "" : " " + summa) + (causal ? " causal" : ""));
          for (const char* kind : {"linear", "mlp", "attention", "block"}) {
            RunCase(mesh, s, kind, cfg, dt, opt, &ck);
            if (mesh2d) CompareWith2d(mesh, *mesh2d, kind, cfg, dt, opt, &ck);
          }
          failures += ck.failures();
          checks += ck.checks();
        }
      }
    }
  }
  int64_t totals[2] = {static_cast<int64_t>(checks), static_cast<int64_t>(failures)};
  world->AllReduce(totals, totals, 2, DataType::kI64, ReduceOp::kSum, {"auto", {}})->Wait();
  if (world->rank() == 0) {
    std::printf(
        "scheme_multirank_test: scheme=%s mesh %s backend=%s: %lld checks over all "
        "ranks, %lld failed\n",
        o.scheme.c_str(), MeshShapeString(axes).c_str(), o.backend.c_str(),
        static_cast<long long>(totals[0]), static_cast<long long>(totals[1]));
  }
  mesh2d.reset();
  mesh_owner.reset();  // the groups before the world, both before MPI ends
  world.reset();
  Bootstrap::Finalize();
  return totals[1] == 0 ? 0 : static_cast<int>(ExitCode::kWrong);
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  return tpbench::RunMain([&] { return tpbench::Main(argc, argv); });
}
