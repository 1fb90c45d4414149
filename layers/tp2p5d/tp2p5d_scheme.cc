// layers/tp2p5d/tp2p5d_scheme.cc: the 2.5D (Tesseract) scheme (TP_SCHEMES.md section 3) in the
// scheme registry (layers/scheme.h). P = d*q^2, mesh {dep: d, row: q, col: q} (rank =
// col + q*row + q^2*dep). The layers are layers/tp2d's Tp2d in its depth mode: SUMMA inside
// each depth layer (ROW, COL), X rows split d*q ways by the XZ index dep*q + row, W as in 2D
// and replicated over DEP, bias and LayerNorm vectors [n/q] (chunk_q[col]); the depth
// reduction all-reduces dW over DEP and the bias and LayerNorm gradients over XZ (every row of
// the column, all depths), which Colossal-AI's legacy 2.5D omits.
#include <cmath>
#include <memory>
#include <string>

#include "comm/error.h"
#include "layers/scheme.h"
#include "layers/tp2d/tp2d.h"
#include "layers/tp2d/tp2d_case.h"

namespace tpbench {
namespace {

class Tp2p5dScheme : public TpScheme {
 public:
  std::string name() const override { return "2.5d"; }
  std::string prefix() const override { return "tp2p5d"; }
  int order() const override { return 3; }
  bool has_summa() const override { return true; }
  std::string NameTag(const SchemeOptions& o) const override {
    return "depth:" + std::to_string(o.depth) + ",summa:" + o.summa;
  }
  std::map<std::string, std::string> VariantFields(const SchemeOptions& o) const override {
    return {{"depth", std::to_string(o.depth)}, {"summa", o.summa}};
  }
  MeshShape MeshFor(int64_t P, const SchemeOptions& opt) const override {
    const int64_t d = opt.depth;
    const int64_t q =
        d >= 1 ? static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(P) / d))) : 0;
    if (d < 1 || q < 1 || d * q * q != P) {
      throw UsageError(
          "2.5d needs P = d*q^2 ranks (mesh {dep: d, row: q, col: q}); P = " + std::to_string(P) +
          " with depth d = " + std::to_string(d) + " is not d times a square");
    }
    return {{"dep", d}, {"row", q}, {"col", q}};
  }
  void Validate(const LayerConfig& cfg, const MeshShape& axes) const override {
    ValidateTp2d(cfg, AxisSize(axes, "row"), AxisSize(axes, "dep"));
  }
  // X: rows chunk_{d*q}[dep*q + row], cols chunk_q[col]; W: rows chunk_q[row], cols
  // chunk_q[col]; vectors chunk_q[col].
  Rect Region(const std::string& name, const Shape& full, const LayerConfig&, const MeshShape& axes,
              const std::vector<int64_t>& coords) const override {
    const int64_t q = AxisSize(axes, "row"), d = AxisSize(axes, "dep");
    const int64_t i = AxisCoord(axes, coords, "row"), j = AxisCoord(axes, coords, "col");
    const int64_t z = AxisCoord(axes, coords, "dep") * q + i;
    const Rect all = AllOf(full);
    const Rect cols{0, all.r1, ChunkBegin(all.c1, q, j), ChunkBegin(all.c1, q, j + 1)};
    if (full.size() == 1) return cols;
    if (name == "x")
      return {ChunkBegin(all.r1, d * q, z), ChunkBegin(all.r1, d * q, z + 1), cols.c0, cols.c1};
    return {ChunkBegin(all.r1, q, i), ChunkBegin(all.r1, q, i + 1), cols.c0, cols.c1};
  }
  CommPlan Plan(const LayerConfig& cfg, const std::string& kind, const MeshShape& axes,
                const SchemeOptions& opt) const override {
    return Tp2dPlan(cfg, kind, AxisSize(axes, "row"), AxisSize(axes, "dep"),
                    opt.summa == "allgather");
  }
  // Memory: [B/(d q), h/q] activations, b/(d q) samples x nh/q heads; vectors held whole
  // ([n/q]), nothing gathered kept (docs/schemes.md "Memory per rank").
  MemoryModel Memory(const LayerConfig& cfg, const std::string& kind, const MeshShape& axes,
                     const SchemeOptions&) const override {
    const int64_t q = AxisSize(axes, "row"), dq = AxisSize(axes, "dep") * q, B = cfg.tokens();
    ActivationSizes a;
    a.x = B / dq * (cfg.hidden / q);
    a.ln_rows = B / dq;
    a.head = a.x;
    a.probs = cfg.batch / dq * (cfg.heads / q) * cfg.seq * cfg.seq;
    a.ffn = B / dq * (cfg.ffn_hidden() / q);
    return LayerMemoryModel(*this, cfg, kind, axes, a);
  }
  std::unique_ptr<TpCase> MakeCase(Compute* c, Mesh* mesh, const LayerConfig& cfg,
                                   const std::string& kind,
                                   const SchemeOptions& opt) const override {
    return MakeTp2dCase(c, mesh, cfg, kind, opt);
  }
};

TPBENCH_REGISTER_SCHEME(Tp2p5dScheme);

}  // namespace
}  // namespace tpbench
