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

std::string SchemeAlgorithm(const Communicator& comm, OpKind kind) {
  const std::string want =
      kind == OpKind::kBroadcast || kind == OpKind::kReduce ? "binomial" : "ring";
  for (const std::string& a : comm.Algorithms(kind)) {
    if (a == want) return want;
  }
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
