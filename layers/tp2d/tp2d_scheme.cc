// layers/tp2d/tp2d_scheme.cc: the 2D (SUMMA) scheme (TP_SCHEMES.md section 2) in the scheme
// registry (layers/scheme.h): mesh {row: q, col: q}, slices, communication plan, cases.
#include <cmath>
#include <memory>
#include <string>

#include "comm/error.h"
#include "layers/scheme.h"
#include "layers/tp2d/tp2d.h"

namespace tpbench {
namespace {

class Tp2dCase : public TpCase {
 public:
  Tp2dCase(Compute* c, Mesh* mesh, const LayerConfig& cfg, std::string kind,
           const Tp2dOptions& opt)
      : tp_(c, &mesh->Group({"col"}), &mesh->Group({"row"}), opt),
        block_(&tp_, cfg),
        cfg_(cfg),
        kind_(std::move(kind)) {}

  Tensor Forward(const LayerParams& p, const Tensor& x) override {
    if (kind_ == "linear") {
      lin_x_ = x;
      h1_ = tp_.LinearForward(p.mlp.fc1, x);
      return tp_.LinearForward(p.mlp.fc2, h1_);
    }
    if (kind_ == "mlp") return tp_.MlpForward(p.mlp, x, &mlp_);
    if (kind_ == "attention") return tp_.AttentionForward(Shape(), p.attn, x, &attn_);
    return block_.Forward(p, x, &block_cache_);
  }
  Tensor Backward(const LayerParams& p, const Tensor& dy, LayerGrads* g) override {
    if (kind_ == "linear") {
      Tensor dh1, dx;
      tp_.LinearBackward(p.mlp.fc2, h1_, dy, &dh1, &g->mlp.fc2);
      tp_.LinearBackward(p.mlp.fc1, lin_x_, dh1, &dx, &g->mlp.fc1);
      return dx;
    }
    if (kind_ == "mlp") return tp_.MlpBackward(p.mlp, mlp_, dy, &g->mlp);
    if (kind_ == "attention") return tp_.AttentionBackward(Shape(), p.attn, attn_, dy, &g->attn);
    return block_.Backward(p, block_cache_, dy, g);
  }
  double exposed_comm_s() const override { return tp_.exposed_comm_s(); }
  void ResetCommClock() override { tp_.ResetCommClock(); }

 private:
  AttentionShape Shape() const { return {cfg_.batch, cfg_.seq, cfg_.heads, cfg_.causal}; }
  Tp2d tp_;
  Tp2dLayer block_;
  LayerConfig cfg_;
  std::string kind_;
  Tensor lin_x_, h1_;
  MlpCache mlp_;
  Attention2dCache attn_;
  Block2dCache block_cache_;
};

// One 2D linear's collectives (B tokens, in -> out): forward and backward lists.
void AddLinear(CommPlan* p, const std::string& name, int64_t B, int64_t in, int64_t out,
               int64_t q, bool allgather, bool backward) {
  const int64_t nx = B * in / (q * q), nw = in * out / (q * q);  // one block of X, of W
  auto add = [&](const char* g, OpKind k, int64_t n, int64_t calls, const std::string& what) {
    p->ops.push_back({g, k, n, calls, backward, name + ": " + what});
  };
  const OpKind bc = allgather ? OpKind::kAllGather : OpKind::kBroadcast;
  const OpKind red = allgather ? OpKind::kReduceScatter : OpKind::kReduce;
  // Broadcast: q calls of one block; all-gather / reduce-scatter: one call on the q-block panel.
  const int64_t calls = allgather ? 1 : q, k = allgather ? q : 1;
  if (!backward) {
    add("ROW", bc, k * nx, calls, "X(i,t) blocks");
    add("COL", bc, k * nw, calls, "W(t,j) blocks");
    add("COL", OpKind::kAllGather, out / q, 1, "bias");
    return;
  }
  add("COL", bc, k * nw, calls, "W(t,j) blocks (dX)");
  add("ROW", red, k * nx, calls, "dX partials");
  add("ROW", bc, k * nx, calls, "X(i,t) blocks (dW)");
  add("COL", red, k * nw, calls, "dW partials");
  add("COL", OpKind::kReduceScatter, out / q, 1, "dbias");
}

void AddLayerNorm(CommPlan* p, const std::string& name, int64_t B, int64_t h, int64_t q,
                  bool backward) {
  if (!backward) {
    p->ops.push_back({"COL", OpKind::kAllGather, h / q, 2, false, name + ": gamma, beta"});
    p->ops.push_back({"ROW", OpKind::kAllReduce, B / q, 2, false, name + ": sum x, sum x^2"});
    return;
  }
  p->ops.push_back({"ROW", OpKind::kAllReduce, B / q, 2, true, name + ": sum g, sum g*xhat"});
  p->ops.push_back({"COL", OpKind::kReduceScatter, h / q, 2, true, name + ": dgamma, dbeta"});
}

class Tp2dScheme : public TpScheme {
 public:
  std::string name() const override { return "2d"; }
  std::string prefix() const override { return "tp2d"; }
  int order() const override { return 2; }
  bool has_summa() const override { return true; }
  std::string NameTag(const SchemeOptions& o) const override { return "summa:" + o.summa; }
  MeshShape MeshFor(int64_t P, const SchemeOptions&) const override {
    const int64_t q = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(P))));
    if (q < 1 || q * q != P) {
      throw UsageError("2d needs P = q^2 ranks (mesh {row: q, col: q}); P = " +
                       std::to_string(P) + " is not a square");
    }
    return {{"row", q}, {"col", q}};
  }
  void Validate(const LayerConfig& cfg, const MeshShape& axes) const override {
    ValidateTp2d(cfg, AxisSize(axes, "row"));
  }
  // X, W: rows chunk_q[i], cols chunk_q[j]; vectors chunk_q(chunk_q(v)[j])[i].
  Rect Region(const std::string&, const Shape& full, const LayerConfig&, const MeshShape& axes,
              const std::vector<int64_t>& coords) const override {
    const int64_t q = AxisSize(axes, "row");
    const int64_t i = AxisCoord(axes, coords, "row"), j = AxisCoord(axes, coords, "col");
    const Rect all = AllOf(full);
    if (full.size() == 1) {
      const int64_t n = all.c1, c0 = ChunkBegin(n, q, j) + ChunkBegin(n / q, q, i);
      return {0, 1, c0, c0 + n / (q * q)};
    }
    return {ChunkBegin(all.r1, q, i), ChunkBegin(all.r1, q, i + 1), ChunkBegin(all.c1, q, j),
            ChunkBegin(all.c1, q, j + 1)};
  }
  CommPlan Plan(const LayerConfig& cfg, const std::string& kind, const MeshShape& axes,
                const SchemeOptions& opt) const override;
  std::unique_ptr<TpCase> MakeCase(Compute* c, Mesh* mesh, const LayerConfig& cfg,
                                   const std::string& kind,
                                   const SchemeOptions& opt) const override {
    Tp2dOptions o;
    o.overlap = opt.overlap;
    o.summa = opt.summa;
    return std::make_unique<Tp2dCase>(c, mesh, cfg, kind, o);
  }
};

// Forward in layer order, backward in reverse; LayerNorms only in the block.
CommPlan Tp2dScheme::Plan(const LayerConfig& cfg, const std::string& kind, const MeshShape& axes,
                          const SchemeOptions& opt) const {
  const int64_t q = AxisSize(axes, "row"), B = cfg.tokens(), h = cfg.hidden;
  const int64_t f = cfg.ffn_hidden();
  const bool ag = opt.summa == "allgather";
  struct Item {
    std::string name;
    int64_t in, out;  // out 0: a LayerNorm
  };
  std::vector<Item> items;
  if (kind == "linear" || kind == "mlp") items = {{"fc1", h, f}, {"fc2", f, h}};
  if (kind == "attention") items = {{"qkv", h, 3 * h}, {"proj", h, h}};
  if (kind == "block") {
    items = {{"ln1", h, 0}, {"qkv", h, 3 * h}, {"proj", h, h},
             {"ln2", h, 0}, {"fc1", h, f},     {"fc2", f, h}};
  }
  CommPlan p;
  p.groups["ROW"] = {"col"};
  p.groups["COL"] = {"row"};
  for (int bwd = 0; bwd < 2; ++bwd) {
    for (size_t n = 0; n < items.size(); ++n) {
      const Item& it = items[bwd ? items.size() - 1 - n : n];
      if (it.out == 0) {
        AddLayerNorm(&p, it.name, B, it.in, q, bwd);
      } else {
        AddLinear(&p, it.name, B, it.in, it.out, q, ag, bwd);
      }
    }
  }
  return p;
}

TPBENCH_REGISTER_SCHEME(Tp2dScheme);

}  // namespace
}  // namespace tpbench
