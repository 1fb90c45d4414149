// layers/tp1d/tp1d_scheme.cc: the 1D and 1D-SP schemes (TP_SCHEMES.md section 1) in the scheme
// registry (layers/scheme.h): mesh {tp: P}, slices (Tp1dRegion), the communication plan and
// the layer cases over Tp1d / Tp1dLayer.
#include <memory>
#include <string>
#include <utility>

#include "comm/error.h"
#include "layers/scheme.h"
#include "layers/scheme_case.h"
#include "layers/tp1d/tp1d.h"

namespace tpbench {
namespace {

// One case of the 1D layers: linear (fc1 column, fc2 row), mlp, attention or block.
class Tp1dCase : public SchemeCase<Tp1d, Tp1dLayer, MlpCache, AttentionCache, LayerCache> {
 public:
  Tp1dCase(Compute* c, Communicator* comm, const LayerConfig& cfg, std::string kind,
           const Tp1dOptions& opt)
      : SchemeCase(cfg, std::move(kind), c, comm, opt) {}

 protected:
  Tensor LinearPairForward(const MlpParams& p, const Tensor& x) override {
    lin_x_ = x;
    h1_ = tp_.ColumnForward(p.fc1, x);
    return tp_.RowForward(p.fc2, h1_);
  }
  Tensor LinearPairBackward(const MlpParams& p, const Tensor& dy, MlpParams* g) override {
    Tensor dh1, dx;
    tp_.RowBackward(p.fc2, h1_, dy, &dh1, &g->fc2);
    tp_.ColumnBackward(p.fc1, lin_x_, dh1, &dx, &g->fc1);
    return dx;
  }

 private:
  Tensor lin_x_, h1_;
};

class Tp1dScheme : public TpScheme {
 public:
  explicit Tp1dScheme(bool sp = false) : sp_(sp) {}
  std::string name() const override { return sp_ ? "1d-sp" : "1d"; }
  std::string prefix() const override { return sp_ ? "tp1d-sp" : "tp1d"; }
  int order() const override { return sp_ ? 1 : 0; }
  MeshShape MeshFor(int64_t P, const SchemeOptions&) const override {
    MeshShape axes{{"tp", P}};
    CheckMeshShape(axes, P);
    return axes;
  }
  void Validate(const LayerConfig& cfg, const MeshShape& axes) const override {
    ValidateTp1d(cfg, AxisSize(axes, "tp"), sp_);
  }
  Rect Region(const std::string& name, const Shape& full, const LayerConfig&, const MeshShape& axes,
              const std::vector<int64_t>& coords) const override {
    return Tp1dRegion(name, full, AxisSize(axes, "tp"), AxisCoord(axes, coords, "tp"), sp_);
  }
  CommPlan Plan(const LayerConfig& cfg, const std::string& kind, const MeshShape&,
                const SchemeOptions&) const override;
  // Memory: the residual stream [B, h] ([B/t, h] with SP), this rank's nh/t heads on every
  // sample, fc1's [B, 4h/t] (docs/schemes.md "Memory per rank").
  MemoryModel Memory(const LayerConfig& cfg, const std::string& kind, const MeshShape& axes,
                     const SchemeOptions&) const override {
    const int64_t t = AxisSize(axes, "tp"), B = cfg.tokens(), rows = sp_ ? B / t : B;
    ActivationSizes a;
    a.x = rows * cfg.hidden;
    a.ln_rows = rows;
    a.head = B * cfg.hidden / t;
    a.probs = cfg.batch * (cfg.heads / t) * cfg.seq * cfg.seq;
    a.ffn = B * cfg.ffn_hidden() / t;
    return LayerMemoryModel(*this, cfg, kind, axes, a);
  }
  std::unique_ptr<TpCase> MakeCase(Compute* c, Mesh* mesh, const LayerConfig& cfg,
                                   const std::string& kind,
                                   const SchemeOptions& opt) const override {
    Communicator& tp = mesh->Group({"tp"});
    Tp1dOptions o;
    o.algo = Tp1dAlgorithm(tp);
    o.overlap = opt.overlap;
    o.sequence_parallel = sp_;
    return std::make_unique<Tp1dCase>(c, &tp, cfg, kind, o);
  }

 private:
  bool sp_;
};

// Forward: per column+row pair, 1D: the row all-reduce of Y; SP: all-gather of the column
// input, reduce-scatter of the row output. Backward (row first): SP all-gathers dY and
// all-reduces the row bias gradient, re-gathers the column input and reduce-scatters dX; 1D
// all-reduces dX. The SP block adds the four LayerNorm vectors' all-reduces.
CommPlan Tp1dScheme::Plan(const LayerConfig& cfg, const std::string& kind, const MeshShape&,
                          const SchemeOptions&) const {
  const int64_t Bh = cfg.tokens() * cfg.hidden, h = cfg.hidden;
  const int pairs = kind == "block" ? 2 : 1;
  CommPlan p;
  p.groups["TP"] = {"tp"};
  for (int i = 0; i < pairs; ++i) {
    if (sp_) {
      p.ops.push_back({"TP", OpKind::kAllGather, Bh, 1, false, "column: X rows"});
      p.ops.push_back({"TP", OpKind::kReduceScatter, Bh, 1, false, "row: Y rows"});
    } else {
      p.ops.push_back({"TP", OpKind::kAllReduce, Bh, 1, false, "row: Y"});
    }
  }
  for (int i = 0; i < pairs; ++i) {
    if (sp_) {
      p.ops.push_back({"TP", OpKind::kAllGather, Bh, 1, true, "row: dY rows"});
      p.ops.push_back({"TP", OpKind::kAllReduce, h, 1, true, "row: db"});
      p.ops.push_back({"TP", OpKind::kAllGather, Bh, 1, true, "column: X rows again"});
      p.ops.push_back({"TP", OpKind::kReduceScatter, Bh, 1, true, "column: dX rows"});
    } else {
      p.ops.push_back({"TP", OpKind::kAllReduce, Bh, 1, true, "column: dX"});
    }
  }
  if (sp_ && kind == "block") {
    for (const char* w : {"ln2: dgamma", "ln2: dbeta", "ln1: dgamma", "ln1: dbeta"}) {
      p.ops.push_back({"TP", OpKind::kAllReduce, h, 1, true, w});
    }
  }
  return p;
}

class Tp1dSpScheme : public Tp1dScheme {
 public:
  Tp1dSpScheme() : Tp1dScheme(true) {}
};

TPBENCH_REGISTER_SCHEME(Tp1dScheme);
TPBENCH_REGISTER_SCHEME(Tp1dSpScheme);

}  // namespace
}  // namespace tpbench
