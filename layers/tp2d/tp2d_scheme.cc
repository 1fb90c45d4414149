// layers/tp2d/tp2d_scheme.cc: the 2D (SUMMA) scheme (TP_SCHEMES.md section 2) in the scheme
// registry (layers/scheme.h): mesh {row: q, col: q}, slices, communication plan, cases.
#include <cmath>
#include <memory>
#include <string>

#include "comm/error.h"
#include "layers/scheme.h"
#include "layers/tp2d/tp2d.h"
#include "layers/tp2d/tp2d_case.h"

namespace tpbench {
namespace {

class Tp2dScheme : public TpScheme {
 public:
  std::string name() const override { return "2d"; }
  std::string prefix() const override { return "tp2d"; }
  int order() const override { return 2; }
  bool has_summa() const override { return true; }
  std::string NameTag(const SchemeOptions& o) const override { return "summa:" + o.summa; }
  std::map<std::string, std::string> VariantFields(const SchemeOptions& o) const override {
    return {{"summa", o.summa}};
  }
  MeshShape MeshFor(int64_t P, const SchemeOptions&) const override {
    const int64_t q = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(P))));
    if (q < 1 || q * q != P) {
      throw UsageError("2d needs P = q^2 ranks (mesh {row: q, col: q}); P = " + std::to_string(P) +
                       " is not a square");
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
                const SchemeOptions& opt) const override {
    return Tp2dPlan(cfg, kind, AxisSize(axes, "row"), 0, opt.summa == "allgather");
  }
  // Memory: [B/q, h/q] activations, b/q samples x nh/q heads, and each LayerNorm keeps its
  // gamma gathered to [h/q] (docs/schemes.md "Memory per rank").
  MemoryModel Memory(const LayerConfig& cfg, const std::string& kind, const MeshShape& axes,
                     const SchemeOptions&) const override {
    const int64_t q = AxisSize(axes, "row"), B = cfg.tokens(), h = cfg.hidden;
    ActivationSizes a;
    a.x = B / q * (h / q);
    a.ln_rows = B / q;
    a.head = a.x;
    a.probs = cfg.batch / q * (cfg.heads / q) * cfg.seq * cfg.seq;
    a.ffn = B / q * (cfg.ffn_hidden() / q);
    a.ln_gamma_gathered = h / q;
    return LayerMemoryModel(*this, cfg, kind, axes, a);
  }
  std::unique_ptr<TpCase> MakeCase(Compute* c, Mesh* mesh, const LayerConfig& cfg,
                                   const std::string& kind,
                                   const SchemeOptions& opt) const override {
    return MakeTp2dCase(c, mesh, cfg, kind, opt);
  }
};

TPBENCH_REGISTER_SCHEME(Tp2dScheme);

}  // namespace
}  // namespace tpbench
