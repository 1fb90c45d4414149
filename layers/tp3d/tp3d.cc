// layers/tp3d/tp3d.cc: 3D tensor-parallel layers. See tp3d.h.
#include "layers/tp3d/tp3d.h"

#include <string>
#include <utility>

#include "comm/error.h"
#include "layers/pre_ln_block.h"
#include "layers/scheme.h"

namespace tpbench {

Tp3dGroups Tp3dGroupsOf(Mesh* mesh) {
  Tp3dGroups g;
  g.input = &mesh->Group({"j"});
  g.weight = &mesh->Group({"i"});
  g.output = &mesh->Group({"k"});
  g.ixw = &mesh->Group({"j", "i"});
  g.oxw = &mesh->Group({"k", "i"});
  return g;
}

void ValidateTp3d(const LayerConfig& cfg, int64_t q) {
  cfg.Validate();
  auto check = [&](const std::string& what, int64_t n, int64_t d, const std::string& dn) {
    if (n % d != 0) {
      throw UsageError(what + " (" + std::to_string(n) + ") is not divisible by " + dn + " (" +
                       std::to_string(d) + ") of 3d (P = " + std::to_string(q * q * q) + ")");
    }
  };
  check("batch", cfg.batch, q * q, "q^2");
  check("heads", cfg.heads, q, "q");
  check("hidden", cfg.hidden, q * q, "q^2");
}

Tp3d::Tp3d(Compute* c, Tp3dGroups g, Tp3dOptions opt) : c_(c), g_(g), opt_(opt) {
  TP_CHECK(c != nullptr && g.input && g.weight && g.output && g.ixw && g.oxw);
}

void Tp3d::Wait(const WorkPtr& w) const {
  if (!w) return;
  const auto t0 = std::chrono::steady_clock::now();
  w->Wait();
  exposed_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

WorkPtr Tp3d::Gather(Communicator* g, const Tensor& mine, Tensor* out) const {
  Shape s = mine.shape();
  s[0] *= g->size();
  *out = c_->NewTensor(s, mine.dtype());
  return Issue([&] {
    return g->AllGather(mine.data(), out->data(), static_cast<size_t>(mine.numel()), mine.dtype(),
                        {SchemeAlgorithm(*g, OpKind::kAllGather), c_->CommStream(false)});
  });
}

WorkPtr Tp3d::ReduceScatter(Communicator* g, const Tensor& in, Tensor* out, bool async) const {
  Shape s = in.shape();
  s[0] /= g->size();
  *out = c_->NewTensor(s, in.dtype());
  return Issue([&] {
    return g->ReduceScatter(in.data(), out->data(), static_cast<size_t>(out->numel()), in.dtype(),
                            ReduceOp::kSum,
                            {SchemeAlgorithm(*g, OpKind::kReduceScatter), c_->CommStream(async)});
  });
}

void Tp3d::AllReduce(Communicator* g, Tensor* x) const {
  Wait(Issue([&] {
    return g->AllReduce(x->data(), x->data(), static_cast<size_t>(x->numel()), x->dtype(),
                        ReduceOp::kSum,
                        {SchemeAlgorithm(*g, OpKind::kAllReduce), c_->CommStream(false)});
  }));
}

// --- Linear: AG X over a, AG W over i, RS Y over b ---

Tensor Tp3d::LinearForward(const LinearParams& p, const Tensor& x, bool odd,
                           Linear3dCache* cache) const {
  Communicator* a = odd ? g_.output : g_.input;
  Communicator* b = odd ? g_.input : g_.output;
  Compute& c = *c_;
  Wait(Gather(a, x, &cache->xg));            // [B/q, in/q]: rows chunk_q[i]
  Wait(Gather(g_.weight, p.w, &cache->wg));  // [in/q, out/q]: in chunk_q[b]
  Tensor yp = c.NewTensor({cache->xg.rows(), cache->wg.cols()}, x.dtype());
  c.Gemm(false, false, 1.0, cache->xg, cache->wg, 0.0, &yp);  // partial over b
  Tensor y;
  Wait(ReduceScatter(b, yp, &y, false));  // [B/q^2, out/q]: rows sub-chunk b
  if (p.b.defined()) c.AddBias(p.b, &y);
  return y;
}

void Tp3d::LinearBackward(const LinearParams& p, const Linear3dCache& cache, const Tensor& dy,
                          bool odd, Tensor* dx, LinearParams* grads) const {
  Communicator* a = odd ? g_.output : g_.input;
  Communicator* b = odd ? g_.input : g_.output;
  Compute& c = *c_;
  Tensor dyg;
  Wait(Gather(b, dy, &dyg));  // [B/q, out/q]
  WorkPtr wx;
  Tensor dxp;  // alive until the async reduce-scatter of it is done
  if (dx != nullptr) {
    dxp = c.NewTensor({dyg.rows(), cache.wg.rows()}, dy.dtype());
    c.Gemm(false, true, 1.0, dyg, cache.wg, 0.0, &dxp);
    wx = ReduceScatter(a, dxp, dx, opt_.overlap);  // in flight during the dW GEMM
    if (!opt_.overlap) Wait(wx);
  }
  Tensor dwp = c.NewTensor(cache.wg.shape(), dy.dtype());
  c.Gemm(true, false, 1.0, cache.xg, dyg, 0.0, &dwp);
  WorkPtr ww = ReduceScatter(g_.weight, dwp, &grads->w, opt_.overlap);
  if (p.b.defined()) {
    grads->b = c.NewTensor(p.b.shape(), p.b.dtype());
    c.BiasGrad(dy, &grads->b);
    AllReduce(odd ? g_.ixw : g_.oxw, &grads->b);  // every row: over i and b
  }
  Wait(wx);
  Wait(ww);
}

// --- LayerNorm: stacked statistics all-reduced over k ---

Tensor Tp3d::LayerNormForward(const LayerNormParams& p, double eps, int64_t h, const Tensor& x,
                              Ln3dCache* cache) const {
  Compute& c = *c_;
  Tensor stats = c.NewTensor({2, x.rows()}, x.dtype());
  c.LayerNormStats(x, &stats);
  AllReduce(g_.output, &stats);
  cache->ln.x = x;
  cache->gamma = p.gamma;
  cache->ln.mean = c.NewTensor({x.rows()}, x.dtype());
  cache->ln.rstd = c.NewTensor({x.rows()}, x.dtype());
  Tensor y = c.NewTensor(x.shape(), x.dtype());
  c.LayerNormApply(x, stats, h, eps, p.gamma, p.beta, &y, &cache->ln.mean, &cache->ln.rstd);
  return y;
}

Tensor Tp3d::LayerNormBackward(const Ln3dCache& cache, int64_t h, const Tensor& dy,
                               LayerNormParams* grads) const {
  Compute& c = *c_;
  const Tensor& x = cache.ln.x;
  Tensor stats = c.NewTensor({2, x.rows()}, x.dtype());
  c.LayerNormBackwardStats(x, cache.gamma, cache.ln.mean, cache.ln.rstd, dy, &stats);
  AllReduce(g_.output, &stats);
  Tensor dx = c.NewTensor(x.shape(), x.dtype());
  grads->gamma = c.NewTensor(cache.gamma.shape(), x.dtype());
  grads->beta = c.NewTensor(cache.gamma.shape(), x.dtype());
  c.LayerNormBackwardApply(x, cache.gamma, cache.ln.mean, cache.ln.rstd, dy, stats, h, &dx,
                           &grads->gamma, &grads->beta);
  AllReduce(g_.ixw, &grads->gamma);  // replicated over i and j: every row's share
  AllReduce(g_.ixw, &grads->beta);
  return dx;
}

// --- MLP (fc1 even, fc2 odd), attention (QKV even, proj odd) ---

Tensor Tp3d::MlpForward(const MlpParams& p, const Tensor& x, Mlp3dCache* cache) const {
  cache->h1 = LinearForward(p.fc1, x, false, &cache->fc1);
  cache->act = c_->NewTensor(cache->h1.shape(), cache->h1.dtype());
  c_->GeluForward(cache->h1, &cache->act);
  return LinearForward(p.fc2, cache->act, true, &cache->fc2);
}

Tensor Tp3d::MlpBackward(const MlpParams& p, const Mlp3dCache& cache, const Tensor& dy,
                         MlpParams* grads) const {
  Tensor dact, dx;
  LinearBackward(p.fc2, cache.fc2, dy, true, &dact, &grads->fc2);
  Tensor dh1 = c_->NewTensor(cache.h1.shape(), cache.h1.dtype());
  c_->GeluBackward(cache.h1, dact, &dh1);
  LinearBackward(p.fc1, cache.fc1, dh1, false, &dx, &grads->fc1);
  return dx;
}

namespace {
AttentionShape Local(const AttentionShape& shape, int64_t q) {
  AttentionShape local = shape;
  local.batch = shape.batch / (q * q);
  local.heads = shape.heads / q;
  return local;
}
}  // namespace

Tensor Tp3d::AttentionForward(const AttentionShape& shape, const AttentionParams& p,
                              const Tensor& x, Attention3dCache* cache) const {
  Tensor qkv = LinearForward(p.qkv, x, false, &cache->qkv);  // samples (i,k), heads of j
  Tensor ctx = CoreAttentionForward(*c_, Local(shape, q()), qkv, &cache->core);
  return LinearForward(p.proj, ctx, true, &cache->proj);
}

Tensor Tp3d::AttentionBackward(const AttentionShape& shape, const AttentionParams& p,
                               const Attention3dCache& cache, const Tensor& dy,
                               AttentionParams* grads) const {
  Tensor dctx, dx;
  LinearBackward(p.proj, cache.proj, dy, true, &dctx, &grads->proj);
  Tensor dqkv = CoreAttentionBackward(*c_, Local(shape, q()), cache.core, dctx);
  LinearBackward(p.qkv, cache.qkv, dqkv, false, &dx, &grads->qkv);
  return dx;
}

// --- The block ---

Tp3dLayer::Tp3dLayer(const Tp3d* tp, const LayerConfig& cfg) : tp_(tp), cfg_(cfg) {
  TP_CHECK(tp != nullptr);
  ValidateTp3d(cfg_, tp->q());
}

Tensor Tp3dLayer::Forward(const LayerParams& p, const Tensor& x, Block3dCache* cache) const {
  return PreLnBlockForward(*tp_, cfg_, p, x, cache);
}

Tensor Tp3dLayer::Backward(const LayerParams& p, const Block3dCache& cache, const Tensor& dout,
                           LayerGrads* grads) const {
  return PreLnBlockBackward(*tp_, cfg_, p, cache, dout, grads);
}

}  // namespace tpbench
