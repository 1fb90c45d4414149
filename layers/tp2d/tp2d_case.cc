// layers/tp2d/tp2d_case.cc: see tp2d_case.h.
#include "layers/tp2d/tp2d_case.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "layers/scheme_case.h"
#include "layers/tp2d/tp2d.h"

namespace tpbench {
namespace {

class Tp2dCase : public SchemeCase<Tp2d, Tp2dLayer, MlpCache, Attention2dCache, Block2dCache> {
 public:
  Tp2dCase(Compute* c, Mesh* mesh, const LayerConfig& cfg, std::string kind, const Tp2dOptions& opt)
      : SchemeCase(cfg, std::move(kind), c, Groups(mesh), opt) {}
  // 2D: ROW, COL; 2.5D (a "dep" axis): also DEP and XZ.
  static Tp2dGroups Groups(Mesh* mesh) {
    Tp2dGroups g{&mesh->Group({"col"}), &mesh->Group({"row"})};
    for (const MeshAxis& a : mesh->shape()) {
      if (a.name != "dep") continue;
      g.dep = &mesh->Group({"dep"});
      g.xz = &mesh->Group({"dep", "row"});
    }
    return g;
  }

 protected:
  Tensor LinearPairForward(const MlpParams& p, const Tensor& x) override {
    lin_x_ = x;
    h1_ = tp_.LinearForward(p.fc1, x);
    return tp_.LinearForward(p.fc2, h1_);
  }
  Tensor LinearPairBackward(const MlpParams& p, const Tensor& dy, MlpParams* g) override {
    Tensor dh1, dx;
    tp_.LinearBackward(p.fc2, h1_, dy, &dh1, &g->fc2);
    tp_.LinearBackward(p.fc1, lin_x_, dh1, &dx, &g->fc1);
    return dx;
  }

 private:
  Tensor lin_x_, h1_;
};

}  // namespace

std::unique_ptr<TpCase> MakeTp2dCase(Compute* c, Mesh* mesh, const LayerConfig& cfg,
                                     const std::string& kind, const SchemeOptions& opt) {
  Tp2dOptions o;
  o.overlap = opt.overlap;
  o.summa = opt.summa;
  return std::make_unique<Tp2dCase>(c, mesh, cfg, kind, o);
}

namespace {

struct Dims {
  int64_t B, q, depth;  // depth 0: 2D
  bool allgather;
};

// One linear's collectives (in -> out), forward or backward. 2.5D: X blocks are
// [B/(d*q), in/q]; the bias is held whole ([out/q]) and its gradient all-reduced over XZ; the
// weight gradient all-reduced over DEP.
void AddLinear(CommPlan* p, const std::string& name, const Dims& dm, int64_t in, int64_t out,
               bool backward) {
  const int64_t q = dm.q, d = std::max<int64_t>(dm.depth, 1);
  const bool allgather = dm.allgather, depth = dm.depth > 0;
  const int64_t nx = dm.B * in / (d * q * q), nw = in * out / (q * q);  // X block, W block
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
    if (!depth) add("COL", OpKind::kAllGather, out / q, 1, "bias");
    return;
  }
  add("COL", bc, k * nw, calls, "W(t,j) blocks (dX)");
  add("ROW", red, k * nx, calls, "dX partials");
  add("ROW", bc, k * nx, calls, "X(i,t) blocks (dW)");
  add("COL", red, k * nw, calls, "dW partials");
  if (depth) {
    add("DEP", OpKind::kAllReduce, nw, 1, "dW depth reduction");
    add("XZ", OpKind::kAllReduce, out / q, 1, "dbias");
  } else {
    add("COL", OpKind::kReduceScatter, out / q, 1, "dbias");
  }
}

// Statistics of [B/q] rows ([B/(d*q)] in 2.5D) all-reduced over ROW; 2D gathers gamma and
// beta over COL and reduce-scatters their gradients, 2.5D all-reduces them over XZ.
void AddLayerNorm(CommPlan* p, const std::string& name, const Dims& dm, int64_t h, bool backward) {
  const int64_t rows = dm.B / (dm.q * std::max<int64_t>(dm.depth, 1)), q = dm.q;
  if (!backward) {
    if (!dm.depth)
      p->ops.push_back({"COL", OpKind::kAllGather, h / q, 2, false, name + ": gamma, beta"});
    p->ops.push_back({"ROW", OpKind::kAllReduce, rows, 2, false, name + ": sum x, sum x^2"});
    return;
  }
  p->ops.push_back({"ROW", OpKind::kAllReduce, rows, 2, true, name + ": sum g, sum g*xhat"});
  if (dm.depth) {
    p->ops.push_back({"XZ", OpKind::kAllReduce, h / q, 2, true, name + ": dgamma, dbeta"});
  } else {
    p->ops.push_back({"COL", OpKind::kReduceScatter, h / q, 2, true, name + ": dgamma, dbeta"});
  }
}

}  // namespace

// Forward in layer order, backward in reverse; LayerNorms only in the block.
CommPlan Tp2dPlan(const LayerConfig& cfg, const std::string& kind, int64_t q, int64_t depth,
                  bool allgather) {
  const int64_t h = cfg.hidden, f = cfg.ffn_hidden();
  const Dims dims{cfg.tokens(), q, depth, allgather};
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
  if (depth > 0) {
    p.groups["DEP"] = {"dep"};
    p.groups["XZ"] = {"dep", "row"};
  }
  for (int bwd = 0; bwd < 2; ++bwd) {
    for (size_t n = 0; n < items.size(); ++n) {
      const Item& it = items[bwd ? items.size() - 1 - n : n];
      if (it.out == 0) {
        AddLayerNorm(&p, it.name, dims, it.in, bwd);
      } else {
        AddLinear(&p, it.name, dims, it.in, it.out, bwd);
      }
    }
  }
  return p;
}

}  // namespace tpbench
