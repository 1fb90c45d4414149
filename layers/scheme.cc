// layers/scheme.cc: see scheme.h.
#include "layers/scheme.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "comm/error.h"

namespace tpbench {

size_t CommPlan::forward_ops() const {
  size_t n = 0;
  while (n < ops.size() && !ops[n].backward) ++n;
  return n;
}

int64_t PlanGroupSize(const CommPlan& plan, const MeshShape& axes, const std::string& group) {
  auto it = plan.groups.find(group);
  TP_CHECK(it != plan.groups.end());
  int64_t g = 1;
  for (const std::string& a : it->second) g *= AxisSize(axes, a);
  return g;
}

namespace {
uint64_t OpBytes(const CommOp& o, int64_t g, DataType dt) {
  const uint64_t factor = o.kind == OpKind::kAllReduce ? 2 : 1;
  const uint64_t total = factor * static_cast<uint64_t>(g - 1) * static_cast<uint64_t>(o.n) *
                         static_cast<uint64_t>(o.calls);
  return total / static_cast<uint64_t>(g) * DataTypeSize(dt);
}
const char* OpName(OpKind k) {
  switch (k) {
    case OpKind::kAllReduce: return "all-reduce";
    case OpKind::kAllGather: return "all-gather";
    case OpKind::kReduceScatter: return "reduce-scatter";
    case OpKind::kBroadcast: return "broadcast";
    case OpKind::kReduce: return "reduce";
    default: return "other";
  }
}
}  // namespace

uint64_t PlanBytesPerRank(const CommPlan& plan, const MeshShape& axes, DataType dt,
                          const std::function<bool(const CommOp&)>& keep) {
  uint64_t sum = 0;
  for (const CommOp& o : plan.ops) {
    if (keep && !keep(o)) continue;
    sum += OpBytes(o, PlanGroupSize(plan, axes, o.group), dt);
  }
  return sum;
}

std::string PlanTable(const CommPlan& plan, const MeshShape& axes, DataType dt) {
  std::string s =
      "| phase | group (size) | op | what | elements | calls | bytes per rank |\n"
      "|---|---|---|---|---|---|---|\n";
  for (const CommOp& o : plan.ops) {
    const int64_t g = PlanGroupSize(plan, axes, o.group);
    s += "| " + std::string(o.backward ? "bwd" : "fwd") + " | " + o.group + " (" +
         std::to_string(g) + ") | " + OpName(o.kind) + " | " + o.what + " | " +
         std::to_string(o.n) + " | " + std::to_string(o.calls) + " | " +
         std::to_string(OpBytes(o, g, dt)) + " |\n";
  }
  s += "| total | | | | | | " + std::to_string(PlanBytesPerRank(plan, axes, dt)) + " |\n";
  return s;
}

// --- Memory model ---

uint64_t MemoryModelBytes(const MemoryModel& m, DataType dt,
                          const std::function<bool(const MemTerm&)>& keep) {
  uint64_t sum = 0;
  for (const MemTerm& t : m.terms) {
    if (keep && !keep(t)) continue;
    const uint64_t bytes = static_cast<uint64_t>(t.elements) * DataTypeSize(dt);
    sum += static_cast<uint64_t>(t.count) * ((bytes + 63) / 64 * 64);  // TensorMemory's rounding
  }
  return sum;
}

std::string MemoryModelTable(const MemoryModel& m, DataType dt) {
  std::string s = "| term | tensors | elements each | bytes |\n|---|---|---|---|\n";
  for (const MemTerm& t : m.terms) {
    const MemoryModel one{{t}};
    s += "| " + t.what + " | " + std::to_string(t.count) + " | " + std::to_string(t.elements) +
         " | " + std::to_string(MemoryModelBytes(one, dt)) + " |\n";
  }
  return s + "| total | | | " + std::to_string(MemoryModelBytes(m, dt)) + " |\n";
}

namespace {
// The full shape of every parameter, in LayerParams::Named() order.
std::vector<std::pair<std::string, Shape>> FullParamShapes(const LayerConfig& cfg) {
  const int64_t h = cfg.hidden, f = cfg.ffn_hidden();
  return {{"ln1.gamma", {h}},      {"ln1.beta", {h}},       {"attn.qkv.w", {h, 3 * h}},
          {"attn.qkv.b", {3 * h}}, {"attn.proj.w", {h, h}}, {"attn.proj.b", {h}},
          {"ln2.gamma", {h}},      {"ln2.beta", {h}},       {"mlp.fc1.w", {h, f}},
          {"mlp.fc1.b", {f}},      {"mlp.fc2.w", {f, h}},   {"mlp.fc2.b", {h}}};
}
bool StartsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

// One term per parameter (prefix "param ") or gradient ("grad ") that `pick` selects, sized by
// the scheme's Region (uniform over ranks: rank 0's).
void AddParams(MemoryModel* m, const TpScheme& s, const LayerConfig& cfg, const MeshShape& axes,
               const char* prefix, const std::function<bool(const std::string&)>& pick) {
  const std::vector<int64_t> coords(axes.size(), 0);
  for (const auto& [name, full] : FullParamShapes(cfg)) {
    if (!pick(name)) continue;
    const Rect r = s.Region(name, full, cfg, axes, coords);
    m->terms.push_back({prefix + name, 1, (r.r1 - r.r0) * (r.c1 - r.c0)});
  }
}
}  // namespace

MemoryModel LayerMemoryModel(const TpScheme& s, const LayerConfig& cfg, const std::string& kind,
                             const MeshShape& axes, const ActivationSizes& a) {
  const bool block = kind == "block";
  if (!block && kind != "attention") return {};
  const bool keeps_gathered = !a.gathered.empty();
  MemoryModel m;
  // Before the step: the case's parameters, its input x and dY.
  AddParams(&m, s, cfg, axes, "param ",
            [&](const std::string& n) { return block || StartsWith(n, "attn."); });
  m.terms.push_back({"x, dY (inputs)", 2, a.x});
  // Kept by the forward for the backward.
  if (block) {
    m.terms.push_back({"ln1, ln2: mean, rstd", 4, a.ln_rows});
    if (!keeps_gathered) m.terms.push_back({"ln1, ln2: outputs", 2, a.x});
    if (a.ln_gamma_gathered)
      m.terms.push_back({"ln1, ln2: gathered gamma", 2, a.ln_gamma_gathered});
  }
  m.terms.push_back({"attention: q, k, v", 3, a.head});
  m.terms.push_back({"attention probabilities", 1, a.probs});
  if (!keeps_gathered) m.terms.push_back({"attention: context", 1, a.head});
  for (const auto& [lin, xw] : a.gathered) {
    if (!block && (lin == "fc1" || lin == "fc2")) continue;
    m.terms.push_back({lin + ": gathered X", 1, xw.first});
    m.terms.push_back({lin + ": gathered W", 1, xw.second});
  }
  if (block) {
    m.terms.push_back({"residual y", 1, a.x});
    m.terms.push_back({"mlp: fc1 output, GeLU output", 2, a.ffn});
  }
  m.terms.push_back({"output", 1, a.x});
  // The backward so far: the gradients of the sub-layers after the attention core.
  AddParams(&m, s, cfg, axes, "grad ", [&](const std::string& n) {
    return StartsWith(n, "attn.proj.") ||
           (block && (StartsWith(n, "mlp.") || StartsWith(n, "ln2.")));
  });
  if (block) m.terms.push_back({"dz2 (mlp dX), dy (ln2 dX + residual)", 2, a.x});
  m.terms.push_back({"proj dX (dcontext)", 1, a.head});
  // CoreAttentionBackward's working set when it allocates dQKV.
  m.terms.push_back({"attention backward: dctx heads, dV, dQ, dK", 4, a.head});
  m.terms.push_back({"attention backward: dprobs, dscores", 2, a.probs});
  m.terms.push_back({"attention backward: dQKV", 1, 3 * a.head});
  return m;
}

std::string SchemeAlgorithm(const Communicator& comm, OpKind kind) {
  const std::string want =
      kind == OpKind::kBroadcast || kind == OpKind::kReduce ? "binomial" : "ring";
  const std::vector<std::string> offered = comm.Algorithms(kind);
  // A library with its own collectives (mpi, nccl: "native") runs them, even where it also
  // offers tpbench's algorithms over its point-to-point (nccl).
  if (std::find(offered.begin(), offered.end(), "native") != offered.end()) return "auto";
  if (std::find(offered.begin(), offered.end(), want) != offered.end()) return want;
  return "auto";
}

// --- Registry ---

namespace {
std::vector<const TpScheme*>& Registry() {
  static std::vector<const TpScheme*> r;
  return r;
}
}  // namespace

bool RegisterScheme(const TpScheme* s) {
  auto& r = Registry();
  r.push_back(s);
  std::sort(r.begin(), r.end(),
            [](const TpScheme* a, const TpScheme* b) { return a->order() < b->order(); });
  return true;
}

const std::vector<const TpScheme*>& AllSchemes() { return Registry(); }

std::vector<std::string> SchemeNames() {
  std::vector<std::string> n;
  for (const TpScheme* s : Registry()) n.push_back(s->name());
  return n;
}

const TpScheme& FindScheme(const std::string& name) {
  std::string valid;
  for (const TpScheme* s : Registry()) {
    if (s->name() == name) return *s;
    valid += (valid.empty() ? "" : ", ") + s->name();
  }
  throw UsageError("unknown scheme '" + name + "'; valid: " + valid);
}

// --- Slices ---

Tensor CopyRegion(const Tensor& full, const Rect& r) {
  if (full.ndim() == 1) {
    Tensor out({r.c1 - r.c0}, full.dtype());
    out.CopyFrom(full.Reshape({1, full.numel()}).CopyCols(r.c0, r.c1));
    return out;
  }
  Tensor m = full.Reshape({full.rows(), full.cols()});
  return m.RowView(r.r0, r.r1).CopyCols(r.c0, r.c1);
}

Tensor SliceOf(const TpScheme& s, const std::string& name, const Tensor& full,
               const LayerConfig& cfg, const MeshShape& axes, const std::vector<int64_t>& coords) {
  return CopyRegion(full, s.Region(name, full.shape(), cfg, axes, coords));
}

LayerParams ShardParams(const TpScheme& s, const LayerConfig& cfg, const LayerParams& full,
                        const MeshShape& axes, const std::vector<int64_t>& coords) {
  LayerParams in = full;  // shares storage; Named() needs a non-const object
  LayerParams out;
  auto src = in.Named();
  auto dst = out.Named();
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i].second->defined()) {
      *dst[i].second = SliceOf(s, src[i].first, *src[i].second, cfg, axes, coords);
    }
  }
  return out;
}

Tensor AssembleFull(const TpScheme& s, const std::string& name, const Tensor& mine, const char* all,
                    const Shape& full, const LayerConfig& cfg, const MeshShape& axes) {
  int64_t P = 1;
  for (const MeshAxis& a : axes) P *= a.size;
  Tensor out(full, mine.dtype());
  Tensor m = out.Reshape({out.rows(), out.cols()});
  for (int64_t r = 0; r < P; ++r) {
    const Rect rc = s.Region(name, full, cfg, axes, MeshCoords(axes, r));
    Tensor part({rc.r1 - rc.r0, rc.c1 - rc.c0}, mine.dtype());
    std::memcpy(part.data(), all + static_cast<size_t>(r) * mine.bytes(), mine.bytes());
    m.RowView(rc.r0, rc.r1).SetCols(rc.c0, part);
  }
  return out;
}

}  // namespace tpbench
