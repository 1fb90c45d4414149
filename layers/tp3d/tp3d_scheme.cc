// layers/tp3d/tp3d_scheme.cc: the 3D scheme (TP_SCHEMES.md section 4) in the scheme registry
// (layers/scheme.h): mesh {k: q, j: q, i: q} (rank = i + q*j + q^2*k), slices, plan, cases.
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "comm/error.h"
#include "layers/scheme.h"
#include "layers/scheme_case.h"
#include "layers/tp3d/tp3d.h"

namespace tpbench {
namespace {

class Tp3dCase : public SchemeCase<Tp3d, Tp3dLayer, Mlp3dCache, Attention3dCache, Block3dCache> {
 public:
  Tp3dCase(Compute* c, Mesh* mesh, const LayerConfig& cfg, std::string kind, const Tp3dOptions& opt)
      : SchemeCase(cfg, std::move(kind), c, Tp3dGroupsOf(mesh), opt) {}

 protected:
  Tensor LinearPairForward(const MlpParams& p, const Tensor& x) override {
    h1_ = tp_.LinearForward(p.fc1, x, false, &fc1_);
    return tp_.LinearForward(p.fc2, h1_, true, &fc2_);
  }
  Tensor LinearPairBackward(const MlpParams& p, const Tensor& dy, MlpParams* g) override {
    Tensor dh1, dx;
    tp_.LinearBackward(p.fc2, fc2_, dy, true, &dh1, &g->fc2);
    tp_.LinearBackward(p.fc1, fc1_, dh1, false, &dx, &g->fc1);
    return dx;
  }

 private:
  Tensor h1_;
  Linear3dCache fc1_, fc2_;
};

// One linear's collectives (in -> out; odd: the proj/fc2 parity, whose X is gathered over k
// and Y reduce-scattered over j).
void AddLinear(CommPlan* p, const std::string& name, int64_t B, int64_t in, int64_t out, int64_t q,
               bool odd, bool backward) {
  const std::string a = odd ? "OUTPUT" : "INPUT", b = odd ? "INPUT" : "OUTPUT";
  const int64_t xg = B / q * in / q, wg = in / q * out / q, yp = B / q * out / q;
  auto add = [&](const std::string& g, OpKind k, int64_t n, const std::string& what) {
    p->ops.push_back({g, k, n, 1, backward, name + ": " + what});
  };
  if (!backward) {
    add(a, OpKind::kAllGather, xg, "X");
    add("WEIGHT", OpKind::kAllGather, wg, "W");
    add(b, OpKind::kReduceScatter, yp, "Y");
    return;
  }
  add(b, OpKind::kAllGather, yp, "dY");
  add(a, OpKind::kReduceScatter, xg, "dX");
  add("WEIGHT", OpKind::kReduceScatter, wg, "dW");
  add(odd ? "IXW" : "OXW", OpKind::kAllReduce, out / q, "dbias");
}

void AddLayerNorm(CommPlan* p, const std::string& name, int64_t B, int64_t h, int64_t q,
                  bool backward) {
  const int64_t rows = B / (q * q);
  if (!backward) {
    p->ops.push_back({"OUTPUT", OpKind::kAllReduce, 2 * rows, 1, false, name + ": sum x, x^2"});
    return;
  }
  p->ops.push_back({"OUTPUT", OpKind::kAllReduce, 2 * rows, 1, true, name + ": sum g, g*xhat"});
  p->ops.push_back({"IXW", OpKind::kAllReduce, h / q, 2, true, name + ": dgamma, dbeta"});
}

class Tp3dScheme : public TpScheme {
 public:
  std::string name() const override { return "3d"; }
  std::string prefix() const override { return "tp3d"; }
  int order() const override { return 4; }
  MeshShape MeshFor(int64_t P, const SchemeOptions&) const override {
    const int64_t q = static_cast<int64_t>(std::llround(std::cbrt(static_cast<double>(P))));
    if (q < 1 || q * q * q != P) {
      throw UsageError("3d needs P = q^3 ranks (mesh {k: q, j: q, i: q}); P = " +
                       std::to_string(P) + " is not a cube");
    }
    return {{"k", q}, {"j", q}, {"i", q}};
  }
  void Validate(const LayerConfig& cfg, const MeshShape& axes) const override {
    ValidateTp3d(cfg, AxisSize(axes, "i"));
  }
  Rect Region(const std::string& name, const Shape& full, const LayerConfig&, const MeshShape& axes,
              const std::vector<int64_t>& coords) const override;
  CommPlan Plan(const LayerConfig& cfg, const std::string& kind, const MeshShape& axes,
                const SchemeOptions& opt) const override;
  // Memory: [B/q^2, h/q] activations, b/q^2 samples x nh/q heads, and every linear keeps its
  // gathered input [B/q, in/q] and weight [in/q, out/q] (docs/schemes.md "Memory per rank").
  MemoryModel Memory(const LayerConfig& cfg, const std::string& kind, const MeshShape& axes,
                     const SchemeOptions&) const override {
    const int64_t q = AxisSize(axes, "i"), B = cfg.tokens(), h = cfg.hidden;
    const int64_t f = cfg.ffn_hidden();
    ActivationSizes a;
    a.x = B / (q * q) * (h / q);
    a.ln_rows = B / (q * q);
    a.head = a.x;
    a.probs = cfg.batch / (q * q) * (cfg.heads / q) * cfg.seq * cfg.seq;
    a.ffn = B / (q * q) * (f / q);
    for (const auto& [lin, io] : std::map<std::string, std::pair<int64_t, int64_t>>{
             {"qkv", {h, 3 * h}}, {"proj", {h, h}}, {"fc1", {h, f}}, {"fc2", {f, h}}}) {
      a.gathered[lin] = {B / q * (io.first / q), io.first / q * (io.second / q)};
    }
    return LayerMemoryModel(*this, cfg, kind, axes, a);
  }
  std::unique_ptr<TpCase> MakeCase(Compute* c, Mesh* mesh, const LayerConfig& cfg,
                                   const std::string& kind,
                                   const SchemeOptions& opt) const override {
    return std::make_unique<Tp3dCase>(c, mesh, cfg, kind, Tp3dOptions{opt.overlap});
  }
};

// "x" (the block's layout): rows chunk_q(chunk_q(rows)[i])[j], hidden chunk_q[k]. A linear of
// parity (a, b) = (j, k) (qkv, fc1) or (k, j) (proj, fc2): W rows chunk_q(chunk_q(in)[b])[i],
// cols chunk_q[a]; bias chunk_q[a]. LayerNorm vectors chunk_q[k].
Rect Tp3dScheme::Region(const std::string& name, const Shape& full, const LayerConfig&,
                        const MeshShape& axes, const std::vector<int64_t>& coords) const {
  const int64_t q = AxisSize(axes, "i");
  const int64_t i = AxisCoord(axes, coords, "i"), j = AxisCoord(axes, coords, "j");
  const int64_t k = AxisCoord(axes, coords, "k");
  const bool odd = name.rfind("attn.proj.", 0) == 0 || name.rfind("mlp.fc2.", 0) == 0;
  const bool ln = name.rfind("ln", 0) == 0;
  const int64_t a = odd ? k : j, b = odd ? j : k;
  const Rect all = AllOf(full);
  auto sub = [&](int64_t n, int64_t outer, int64_t inner) {  // chunk_q(chunk_q(n)[o])[i]
    const int64_t r0 = ChunkBegin(n, q, outer) + ChunkBegin(n / q, q, inner);
    return std::pair<int64_t, int64_t>{r0, r0 + n / (q * q)};
  };
  if (name == "x") {
    const auto rows = sub(all.r1, i, j);
    return {rows.first, rows.second, ChunkBegin(all.c1, q, k), ChunkBegin(all.c1, q, k + 1)};
  }
  const int64_t c = ln ? k : a;
  const Rect cols{0, all.r1, ChunkBegin(all.c1, q, c), ChunkBegin(all.c1, q, c + 1)};
  if (full.size() == 1) return cols;
  const auto rows = sub(all.r1, b, i);
  return {rows.first, rows.second, cols.c0, cols.c1};
}

CommPlan Tp3dScheme::Plan(const LayerConfig& cfg, const std::string& kind, const MeshShape& axes,
                          const SchemeOptions&) const {
  const int64_t q = AxisSize(axes, "i"), B = cfg.tokens(), h = cfg.hidden;
  const int64_t f = cfg.ffn_hidden();
  struct Item {
    std::string name;
    int64_t in, out;  // out 0: a LayerNorm
    bool odd;
  };
  std::vector<Item> items;
  if (kind == "linear" || kind == "mlp") items = {{"fc1", h, f, false}, {"fc2", f, h, true}};
  if (kind == "attention") items = {{"qkv", h, 3 * h, false}, {"proj", h, h, true}};
  if (kind == "block") {
    items = {{"ln1", h, 0, false}, {"qkv", h, 3 * h, false}, {"proj", h, h, true},
             {"ln2", h, 0, false}, {"fc1", h, f, false},     {"fc2", f, h, true}};
  }
  CommPlan p;
  p.groups = {{"INPUT", {"j"}},
              {"WEIGHT", {"i"}},
              {"OUTPUT", {"k"}},
              {"IXW", {"j", "i"}},
              {"OXW", {"k", "i"}}};
  for (int bwd = 0; bwd < 2; ++bwd) {
    for (size_t n = 0; n < items.size(); ++n) {
      const Item& it = items[bwd ? items.size() - 1 - n : n];
      if (it.out == 0) {
        AddLayerNorm(&p, it.name, B, it.in, q, bwd);
      } else {
        AddLinear(&p, it.name, B, it.in, it.out, q, it.odd, bwd);
      }
    }
  }
  return p;
}

TPBENCH_REGISTER_SCHEME(Tp3dScheme);

}  // namespace
}  // namespace tpbench
