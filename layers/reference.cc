#include "layers/reference.h"

#include <cmath>
#include <string>

#include "comm/error.h"

namespace tpbench {
namespace {

void CheckPositive(const char* name, int64_t v) {
  if (v <= 0) throw UsageError(std::string(name) + " must be positive, got " + std::to_string(v));
}

void CheckDivisible(const char* what, int64_t v, const char* by, int64_t d) {
  if (d <= 0 || v % d != 0) {
    throw UsageError(std::string(what) + " (" + std::to_string(v) + ") is not divisible by " + by +
                     " (" + std::to_string(d) + ")");
  }
}

void CheckX(const char* op, const Tensor& x, int64_t rows, int64_t cols) {
  if (x.rows() != rows || x.cols() != cols) {
    throw UsageError(std::string(op) + ": input " + ShapeString(x.shape()) + ", expected [" +
                     std::to_string(rows) + ", " + std::to_string(cols) + "]");
  }
}

Tensor Uniform(const Shape& s, DataType dt, uint64_t seed, double lo, double hi) {
  Tensor t(s, dt);
  t.FillUniform(seed, lo, hi);
  return t;
}

LinearParams InitLinear(int64_t in, int64_t out, DataType dt, uint64_t seed) {
  double a = 1.0 / std::sqrt(static_cast<double>(in));
  return {Uniform({in, out}, dt, seed, -a, a), Uniform({out}, dt, seed + 1, -0.1, 0.1)};
}

LayerNormParams InitLayerNorm(int64_t h, DataType dt, uint64_t seed) {
  return {Uniform({h}, dt, seed, 0.8, 1.2), Uniform({h}, dt, seed + 1, -0.1, 0.1)};
}

void CheckAttentionShape(const AttentionShape& s) {
  CheckPositive("batch", s.batch);
  CheckPositive("seq", s.seq);
  CheckPositive("heads", s.heads);
}

}  // namespace

void LayerConfig::Validate() const {
  CheckPositive("batch", batch);
  CheckPositive("seq", seq);
  CheckPositive("hidden", hidden);
  CheckPositive("heads", heads);
  CheckPositive("ffn_factor", ffn_factor);
  CheckDivisible("hidden", hidden, "heads", heads);
  if (!(ln_eps >= 0)) throw UsageError("ln_eps must be >= 0");
}

LayerParams LayerParams::Init(const LayerConfig& cfg, DataType dt, uint64_t seed) {
  cfg.Validate();
  const int64_t h = cfg.hidden, f = cfg.ffn_hidden();
  uint64_t s = seed * 1000;  // distinct sub-seeds per tensor
  LayerParams p;
  p.ln1 = InitLayerNorm(h, dt, s + 1);
  p.attn.qkv = InitLinear(h, 3 * h, dt, s + 3);
  p.attn.proj = InitLinear(h, h, dt, s + 5);
  p.ln2 = InitLayerNorm(h, dt, s + 7);
  p.mlp.fc1 = InitLinear(h, f, dt, s + 9);
  p.mlp.fc2 = InitLinear(f, h, dt, s + 11);
  return p;
}

std::vector<std::pair<std::string, Tensor*>> LayerParams::Named() {
  return {{"ln1.gamma", &ln1.gamma},   {"ln1.beta", &ln1.beta},       {"attn.qkv.w", &attn.qkv.w},
          {"attn.qkv.b", &attn.qkv.b}, {"attn.proj.w", &attn.proj.w}, {"attn.proj.b", &attn.proj.b},
          {"ln2.gamma", &ln2.gamma},   {"ln2.beta", &ln2.beta},       {"mlp.fc1.w", &mlp.fc1.w},
          {"mlp.fc1.b", &mlp.fc1.b},   {"mlp.fc2.w", &mlp.fc2.w},     {"mlp.fc2.b", &mlp.fc2.b}};
}

LayerParams LayerParams::To(DataType dtype) const {
  LayerParams out = *this;  // shares storage; replaced below
  for (auto& [name, t] : out.Named()) {
    if (t->defined()) *t = t->To(dtype);
  }
  return out;
}

// --- Linear ---

Tensor LinearForward(Compute& c, const LinearParams& p, const Tensor& x) {
  Tensor y = c.NewTensor({x.rows(), p.w.cols()}, x.dtype());
  c.Gemm(false, false, 1.0, x, p.w, 0.0, &y);
  if (p.b.defined()) c.AddBias(p.b, &y);
  return y;
}

void LinearBackward(Compute& c, const LinearParams& p, const Tensor& x, const Tensor& dy,
                    Tensor* dx, LinearParams* grads) {
  if (dx != nullptr) {
    *dx = c.NewTensor({dy.rows(), p.w.rows()}, dy.dtype());
    c.Gemm(false, true, 1.0, dy, p.w, 0.0, dx);
  }
  grads->w = c.NewTensor(p.w.shape(), p.w.dtype());
  c.Gemm(true, false, 1.0, x, dy, 0.0, &grads->w);
  if (p.b.defined()) {
    grads->b = c.NewTensor(p.b.shape(), p.b.dtype());
    c.BiasGrad(dy, &grads->b);
  } else {
    grads->b = Tensor();
  }
}

// --- LayerNorm ---

Tensor LayerNormForward(Compute& c, const LayerNormParams& p, double eps, const Tensor& x,
                        LayerNormCache* cache) {
  Tensor y = c.NewTensor(x.shape(), x.dtype());
  cache->x = x;
  cache->mean = c.NewTensor({x.rows()}, x.dtype());
  cache->rstd = c.NewTensor({x.rows()}, x.dtype());
  c.LayerNormForward(x, p.gamma, p.beta, eps, &y, &cache->mean, &cache->rstd);
  return y;
}

Tensor LayerNormBackward(Compute& c, const LayerNormParams& p, const LayerNormCache& cache,
                         const Tensor& dy, LayerNormParams* grads) {
  Tensor dx = c.NewTensor(cache.x.shape(), cache.x.dtype());
  grads->gamma = c.NewTensor(p.gamma.shape(), p.gamma.dtype());
  grads->beta = c.NewTensor(p.beta.shape(), p.beta.dtype());
  c.LayerNormBackward(cache.x, p.gamma, cache.mean, cache.rstd, dy, &dx, &grads->gamma,
                      &grads->beta);
  return dx;
}

// --- MLP ---

Tensor MlpForward(Compute& c, const MlpParams& p, const Tensor& x, MlpCache* cache) {
  cache->x = x;
  cache->h1 = LinearForward(c, p.fc1, x);
  cache->act = c.NewTensor(cache->h1.shape(), x.dtype());
  c.GeluForward(cache->h1, &cache->act);
  return LinearForward(c, p.fc2, cache->act);
}

Tensor MlpBackward(Compute& c, const MlpParams& p, const MlpCache& cache, const Tensor& dy,
                   MlpParams* grads) {
  Tensor dact;
  LinearBackward(c, p.fc2, cache.act, dy, &dact, &grads->fc2);
  Tensor dh1 = c.NewTensor(cache.h1.shape(), dy.dtype());
  c.GeluBackward(cache.h1, dact, &dh1);
  Tensor dx;
  LinearBackward(c, p.fc1, cache.x, dh1, &dx, &grads->fc1);
  return dx;
}

// --- Core attention ---

Tensor CoreAttentionForward(Compute& c, const AttentionShape& sh, const Tensor& qkv,
                            CoreAttentionCache* cache) {
  CheckAttentionShape(sh);
  CheckDivisible("qkv width", qkv.cols(), "3*heads", 3 * sh.heads);
  CheckX("CoreAttentionForward", qkv, sh.batch * sh.seq, qkv.cols());
  const int64_t b = sh.batch, s = sh.seq, nh = sh.heads, hd = qkv.cols() / (3 * nh);
  const int64_t bh = b * nh;
  const DataType dt = qkv.dtype();
  cache->q = c.NewTensor({bh * s, hd}, dt);
  cache->k = c.NewTensor({bh * s, hd}, dt);
  cache->v = c.NewTensor({bh * s, hd}, dt);
  c.SplitQkvHeads(qkv, b, s, nh, &cache->q, &cache->k, &cache->v);
  // scores = q k^T / sqrt(hd), one [s, s] block per (sample, head); then softmax.
  cache->probs = c.NewTensor({bh * s, s}, dt);
  c.GemmBatched(bh, false, true, 1.0 / std::sqrt(static_cast<double>(hd)), cache->q, cache->k, 0.0,
                &cache->probs);
  c.SoftmaxForward(cache->probs, sh.causal, &cache->probs);
  Tensor ctx_h = c.NewTensor({bh * s, hd}, dt);
  c.GemmBatched(bh, false, false, 1.0, cache->probs, cache->v, 0.0, &ctx_h);
  Tensor ctx = c.NewTensor({b * s, nh * hd}, dt);
  c.MergeHeads(ctx_h, b, s, nh, &ctx);
  return ctx;
}

Tensor CoreAttentionBackward(Compute& c, const AttentionShape& sh, const CoreAttentionCache& cache,
                             const Tensor& dctx) {
  CheckAttentionShape(sh);
  const int64_t b = sh.batch, s = sh.seq, nh = sh.heads, hd = cache.q.cols(), bh = b * nh;
  CheckX("CoreAttentionBackward", dctx, b * s, nh * hd);
  const DataType dt = dctx.dtype();
  Tensor dctx_h = c.NewTensor({bh * s, hd}, dt);
  c.SplitHeads(dctx, b, s, nh, &dctx_h);
  // ctx_h = P V: dP = dctx_h V^T, dV = P^T dctx_h.
  Tensor dprobs = c.NewTensor({bh * s, s}, dt);
  c.GemmBatched(bh, false, true, 1.0, dctx_h, cache.v, 0.0, &dprobs);
  Tensor dv = c.NewTensor({bh * s, hd}, dt);
  c.GemmBatched(bh, true, false, 1.0, cache.probs, dctx_h, 0.0, &dv);
  // Through the softmax (masked entries have P = 0, so their gradient is 0).
  Tensor dscores = c.NewTensor({bh * s, s}, dt);
  c.SoftmaxBackward(cache.probs, dprobs, &dscores);
  // scores = alpha Q K^T: dQ = alpha dS K, dK = alpha dS^T Q.
  const double alpha = 1.0 / std::sqrt(static_cast<double>(hd));
  Tensor dq = c.NewTensor({bh * s, hd}, dt), dk = c.NewTensor({bh * s, hd}, dt);
  c.GemmBatched(bh, false, false, alpha, dscores, cache.k, 0.0, &dq);
  c.GemmBatched(bh, true, false, alpha, dscores, cache.q, 0.0, &dk);
  Tensor dqkv = c.NewTensor({b * s, 3 * nh * hd}, dt);
  c.MergeQkvHeads(dq, dk, dv, b, s, nh, &dqkv);
  return dqkv;
}

// --- Attention block ---

Tensor AttentionForward(Compute& c, const AttentionShape& sh, const AttentionParams& p,
                        const Tensor& x, AttentionCache* cache) {
  cache->x = x;
  Tensor qkv = LinearForward(c, p.qkv, x);
  cache->ctx = CoreAttentionForward(c, sh, qkv, &cache->core);
  return LinearForward(c, p.proj, cache->ctx);
}

Tensor AttentionBackward(Compute& c, const AttentionShape& sh, const AttentionParams& p,
                         const AttentionCache& cache, const Tensor& dy, AttentionParams* grads) {
  Tensor dctx;
  LinearBackward(c, p.proj, cache.ctx, dy, &dctx, &grads->proj);
  Tensor dqkv = CoreAttentionBackward(c, sh, cache.core, dctx);
  Tensor dx;
  LinearBackward(c, p.qkv, cache.x, dqkv, &dx, &grads->qkv);
  return dx;
}

// --- The layer ---

ReferenceLayer::ReferenceLayer(Compute* c, const LayerConfig& cfg) : c_(c), cfg_(cfg) {
  TP_CHECK(c != nullptr);
  cfg_.Validate();
}

AttentionShape ReferenceLayer::attention_shape() const {
  return {cfg_.batch, cfg_.seq, cfg_.heads, cfg_.causal};
}

Tensor ReferenceLayer::Forward(const LayerParams& p, const Tensor& x, LayerCache* cache) const {
  CheckX("ReferenceLayer::Forward", x, cfg_.tokens(), cfg_.hidden);
  Compute& c = *c_;
  cache->x = x;
  Tensor z1 = LayerNormForward(c, p.ln1, cfg_.ln_eps, x, &cache->ln1);
  Tensor a = AttentionForward(c, attention_shape(), p.attn, z1, &cache->attn);
  cache->y = c.NewTensor(x.shape(), x.dtype());
  c.Add(x, a, &cache->y);
  Tensor z2 = LayerNormForward(c, p.ln2, cfg_.ln_eps, cache->y, &cache->ln2);
  Tensor m = MlpForward(c, p.mlp, z2, &cache->mlp);
  Tensor out = c.NewTensor(x.shape(), x.dtype());
  c.Add(cache->y, m, &out);
  return out;
}

Tensor ReferenceLayer::Backward(const LayerParams& p, const LayerCache& cache, const Tensor& dout,
                                LayerGrads* grads) const {
  CheckX("ReferenceLayer::Backward", dout, cfg_.tokens(), cfg_.hidden);
  Compute& c = *c_;
  // out = y + MLP(LN2(y)): dy = dout + LN2'(MLP'(dout)).
  Tensor dz2 = MlpBackward(c, p.mlp, cache.mlp, dout, &grads->mlp);
  Tensor dy = LayerNormBackward(c, p.ln2, cache.ln2, dz2, &grads->ln2);
  c.Add(dy, dout, &dy);
  // y = x + Attn(LN1(x)): dx = dy + LN1'(Attn'(dy)).
  Tensor dz1 = AttentionBackward(c, attention_shape(), p.attn, cache.attn, dy, &grads->attn);
  Tensor dx = LayerNormBackward(c, p.ln1, cache.ln1, dz1, &grads->ln1);
  c.Add(dx, dy, &dx);
  return dx;
}

}  // namespace tpbench
