// layers/tp1d/tp1d.cc: 1D (Megatron-LM) tensor-parallel layers. See tp1d.h.
#include "layers/tp1d/tp1d.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "comm/error.h"
#include "comm/work.h"

namespace tpbench {

void CheckDivisible(const std::string& what, int64_t n, int64_t t) {
  if (t <= 0 || n % t != 0) {
    throw UsageError(what + " (" + std::to_string(n) +
                     ") is not divisible by the tensor-parallel size t (" + std::to_string(t) +
                     ")");
  }
}

std::string Tp1dAlgorithm(const Communicator& comm) {
  for (OpKind k : {OpKind::kAllReduce, OpKind::kAllGather, OpKind::kReduceScatter}) {
    if (SchemeAlgorithm(comm, k) != "ring") return "auto";
  }
  return "ring";
}

void ValidateTp1d(const LayerConfig& cfg, int64_t t, bool sequence_parallel) {
  cfg.Validate();
  CheckDivisible("hidden", cfg.hidden, t);
  CheckDivisible("heads", cfg.heads, t);
  CheckDivisible("ffn hidden (ffn_factor*hidden)", cfg.ffn_hidden(), t);
  if (sequence_parallel) CheckDivisible("tokens (batch*seq)", cfg.tokens(), t);
}

LinearParams ShardColumn(const LinearParams& full, int64_t t, int64_t r) {
  CheckDivisible("column-parallel output features", full.w.cols(), t);
  LinearParams p;
  p.w = full.w.ColChunk(t, r);
  if (full.b.defined()) p.b = full.b.ColChunk(t, r);
  return p;
}

LinearParams ShardRow(const LinearParams& full, int64_t t, int64_t r) {
  CheckDivisible("row-parallel input features", full.w.rows(), t);
  LinearParams p;
  p.w = full.w.RowChunk(t, r);
  p.b = full.b;
  return p;
}

Rect Tp1dRegion(const std::string& name, const Shape& full, int64_t t, int64_t r,
                bool sequence_parallel) {
  Rect all = AllOf(full);
  auto starts = [&](const char* p) { return name.rfind(p, 0) == 0; };
  if (starts("attn.qkv.") || starts("mlp.fc1.")) {
    CheckDivisible("column-parallel output features", all.c1, t);
    return {all.r0, all.r1, ChunkBegin(all.c1, t, r), ChunkBegin(all.c1, t, r + 1)};
  }
  if (name == "attn.proj.w" || name == "mlp.fc2.w" || (name == "x" && sequence_parallel)) {
    CheckDivisible(name == "x" ? "tokens (batch*seq)" : "row-parallel input features", all.r1, t);
    return {ChunkBegin(all.r1, t, r), ChunkBegin(all.r1, t, r + 1), all.c0, all.c1};
  }
  return all;
}

LayerParams ShardLayerParams(const LayerConfig& cfg, const LayerParams& full, int64_t t,
                             int64_t r) {
  ValidateTp1d(cfg, t);
  LayerParams in = full;  // shares storage; Named() needs a non-const object
  LayerParams p;
  auto src = in.Named();
  auto dst = p.Named();
  for (size_t i = 0; i < src.size(); ++i) {
    if (!src[i].second->defined()) continue;
    const Tensor& f = *src[i].second;
    *dst[i].second = CopyRegion(f, Tp1dRegion(src[i].first, f.shape(), t, r, false));
  }
  return p;
}

Tp1d::Tp1d(Compute* c, Communicator* tp, Tp1dOptions opt) : c_(c), tp_(tp), opt_(std::move(opt)) {
  TP_CHECK(c != nullptr && tp != nullptr);
}

void Tp1d::Wait(const WorkPtr& w) const {
  const auto t0 = std::chrono::steady_clock::now();
  w->Wait();
  exposed_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void Tp1d::AllReduce(Tensor* x) const {
  Wait(Issue([&] {
    return tp_->AllReduce(x->data(), x->data(), static_cast<size_t>(x->numel()), x->dtype(),
                          ReduceOp::kSum, OpOptions{opt_.algo, c_->CommStream(false)});
  }));
}

// --- Column-parallel linear: operator f (identity forward, all-reduce backward) ---

WorkPtr Tp1d::StartGatherRows(const Tensor& x, Tensor* out, bool async) const {
  *out = c_->NewTensor({x.rows() * t(), x.cols()}, x.dtype());
  return Issue([&] {
    return tp_->AllGather(x.data(), out->data(), static_cast<size_t>(x.numel()), x.dtype(),
                          OpOptions{opt_.algo, c_->CommStream(async)});
  });
}

Tensor Tp1d::ColumnForward(const LinearParams& p, const Tensor& x) const {
  if (!opt_.sequence_parallel) return ::tpbench::LinearForward(*c_, p, x);
  Tensor xg;
  Wait(StartGatherRows(x, &xg, /*async=*/false));  // [B/t, in] -> [B, in]; not saved
  return ::tpbench::LinearForward(*c_, p, xg);
}

void Tp1d::ColumnBackward(const LinearParams& p, const Tensor& x, const Tensor& dy, Tensor* dx,
                          LinearParams* grads) const {
  Compute& c = *c_;
  if (opt_.sequence_parallel) {
    // Re-gather the input (for dW) while dX_full = dY_r W_r^T is computed; then
    // reduce-scatter dX_full (dim 0) while dW and db are computed.
    Tensor xg;
    WorkPtr ag = StartGatherRows(x, &xg, opt_.overlap);
    Tensor dx_full = c.NewTensor({dy.rows(), p.w.rows()}, dy.dtype());
    c.Gemm(false, true, 1.0, dy, p.w, 0.0, &dx_full);
    Wait(ag);
    *dx = c.NewTensor({x.rows(), p.w.rows()}, dy.dtype());
    WorkPtr rs = Issue([&] {
      return tp_->ReduceScatter(dx_full.data(), dx->data(), static_cast<size_t>(dx->numel()),
                                dx->dtype(), ReduceOp::kSum,
                                OpOptions{opt_.algo, c_->CommStream(opt_.overlap)});
    });
    if (!opt_.overlap) Wait(rs);
    ::tpbench::LinearBackward(c, p, xg, dy, nullptr, grads);
    Wait(rs);
    return;
  }
  *dx = c.NewTensor({dy.rows(), p.w.rows()}, dy.dtype());
  c.Gemm(false, true, 1.0, dy, p.w, 0.0, dx);  // dX_partial = dY_r W_r^T
  const OpOptions o{opt_.algo, c.CommStream(opt_.overlap)};
  WorkPtr w = Issue([&] {
    return tp_->AllReduce(dx->data(), dx->data(), static_cast<size_t>(dx->numel()), dx->dtype(),
                          ReduceOp::kSum, o);
  });
  if (!opt_.overlap) Wait(w);
  // dW_r = X^T dY_r, db_r = colsum(dY_r), while the all-reduce is in flight.
  ::tpbench::LinearBackward(c, p, x, dy, nullptr, grads);
  Wait(w);
}

// --- Row-parallel linear: operator g (all-reduce forward, identity backward) ---

Tensor Tp1d::RowForward(const LinearParams& p, const Tensor& x) const {
  Compute& c = *c_;
  Tensor y = c.NewTensor({x.rows(), p.w.cols()}, x.dtype());
  c.Gemm(false, false, 1.0, x, p.w, 0.0, &y);
  if (opt_.sequence_parallel) {
    CheckDivisible("row-parallel output rows (tokens)", y.rows(), t());
    Tensor ys = c.NewTensor({y.rows() / t(), y.cols()}, y.dtype());
    Wait(Issue([&] {
      return tp_->ReduceScatter(y.data(), ys.data(), static_cast<size_t>(ys.numel()), y.dtype(),
                                ReduceOp::kSum, OpOptions{opt_.algo, c_->CommStream(false)});
    }));
    y = ys;
  } else {
    AllReduce(&y);
  }
  if (p.b.defined()) c.AddBias(p.b, &y);
  return y;
}

void Tp1d::RowBackward(const LinearParams& p, const Tensor& x, const Tensor& dy, Tensor* dx,
                       LinearParams* grads) const {
  if (!opt_.sequence_parallel) {
    ::tpbench::LinearBackward(*c_, p, x, dy, dx, grads);
    return;
  }
  Tensor dyg;
  Wait(StartGatherRows(dy, &dyg, /*async=*/false));  // [B/t, out] -> [B, out]
  LinearParams nob{p.w, Tensor()};
  ::tpbench::LinearBackward(*c_, nob, x, dyg, dx, grads);
  if (p.b.defined()) {
    // The bias saw only this rank's rows: sum its gradient over TP.
    grads->b = c_->NewTensor(p.b.shape(), p.b.dtype());
    c_->BiasGrad(dy, &grads->b);
    AllReduce(&grads->b);
  }
}

// --- MLP ---

Tensor Tp1d::MlpForward(const MlpParams& p, const Tensor& x, MlpCache* cache) const {
  cache->x = x;
  cache->h1 = ColumnForward(p.fc1, x);
  cache->act = c_->NewTensor(cache->h1.shape(), cache->h1.dtype());
  c_->GeluForward(cache->h1, &cache->act);
  return RowForward(p.fc2, cache->act);
}

Tensor Tp1d::MlpBackward(const MlpParams& p, const MlpCache& cache, const Tensor& dy,
                         MlpParams* grads) const {
  Tensor dact;
  RowBackward(p.fc2, cache.act, dy, &dact, &grads->fc2);
  Tensor dh1 = c_->NewTensor(cache.h1.shape(), cache.h1.dtype());
  c_->GeluBackward(cache.h1, dact, &dh1);
  Tensor dx;
  ColumnBackward(p.fc1, cache.x, dh1, &dx, &grads->fc1);
  return dx;
}

// --- Attention ---

AttentionShape Tp1d::LocalShape(const AttentionShape& shape) const {
  CheckDivisible("heads", shape.heads, t());
  AttentionShape local = shape;
  local.heads = shape.heads / t();
  return local;
}

Tensor Tp1d::AttentionForward(const AttentionShape& shape, const AttentionParams& p,
                              const Tensor& x, AttentionCache* cache) const {
  const AttentionShape local = LocalShape(shape);
  cache->x = x;
  Tensor qkv = ColumnForward(p.qkv, x);  // this rank's heads, [head][q|k|v][hd]
  cache->ctx = ::tpbench::CoreAttentionForward(*c_, local, qkv, &cache->core);
  return RowForward(p.proj, cache->ctx);
}

Tensor Tp1d::AttentionBackward(const AttentionShape& shape, const AttentionParams& p,
                               const AttentionCache& cache, const Tensor& dy,
                               AttentionParams* grads) const {
  const AttentionShape local = LocalShape(shape);
  Tensor dctx;
  RowBackward(p.proj, cache.ctx, dy, &dctx, &grads->proj);
  Tensor dqkv = ::tpbench::CoreAttentionBackward(*c_, local, cache.core, dctx);
  Tensor dx;
  ColumnBackward(p.qkv, cache.x, dqkv, &dx, &grads->qkv);
  return dx;
}

// --- The block ---

Tp1dLayer::Tp1dLayer(const Tp1d* tp, const LayerConfig& cfg) : tp_(tp), cfg_(cfg) {
  TP_CHECK(tp != nullptr);
  ValidateTp1d(cfg_, tp->t(), tp->options().sequence_parallel);
}

Tensor Tp1dLayer::Forward(const LayerParams& p, const Tensor& x, LayerCache* cache) const {
  const int64_t rows = cfg_.tokens() / (tp_->options().sequence_parallel ? tp_->t() : 1);
  if (x.rows() != rows || x.cols() != cfg_.hidden) {
    throw UsageError("Tp1dLayer::Forward: x is " + ShapeString(x.shape()) + ", expected [" +
                     std::to_string(rows) + ", " + std::to_string(cfg_.hidden) + "]");
  }
  Compute& c = tp_->compute();
  const AttentionShape shape{cfg_.batch, cfg_.seq, cfg_.heads, cfg_.causal};
  cache->x = x;
  Tensor z1 = LayerNormForward(c, p.ln1, cfg_.ln_eps, x, &cache->ln1);
  Tensor a = tp_->AttentionForward(shape, p.attn, z1, &cache->attn);
  cache->y = c.NewTensor(x.shape(), x.dtype());
  c.Add(x, a, &cache->y);
  Tensor z2 = LayerNormForward(c, p.ln2, cfg_.ln_eps, cache->y, &cache->ln2);
  Tensor m = tp_->MlpForward(p.mlp, z2, &cache->mlp);
  Tensor out = c.NewTensor(x.shape(), x.dtype());
  c.Add(cache->y, m, &out);
  return out;
}

Tensor Tp1dLayer::Backward(const LayerParams& p, const LayerCache& cache, const Tensor& dout,
                           LayerGrads* grads) const {
  Compute& c = tp_->compute();
  const AttentionShape shape{cfg_.batch, cfg_.seq, cfg_.heads, cfg_.causal};
  Tensor dz2 = tp_->MlpBackward(p.mlp, cache.mlp, dout, &grads->mlp);
  Tensor dy = LayerNormBackward(c, p.ln2, cache.ln2, dz2, &grads->ln2);
  c.Add(dy, dout, &dy);
  Tensor dz1 = tp_->AttentionBackward(shape, p.attn, cache.attn, dy, &grads->attn);
  Tensor dx = LayerNormBackward(c, p.ln1, cache.ln1, dz1, &grads->ln1);
  c.Add(dx, dy, &dx);
  if (tp_->options().sequence_parallel) {
    // LayerNorm saw only this rank's rows: sum gamma/beta gradients over TP.
    for (Tensor* g : {&grads->ln2.gamma, &grads->ln2.beta, &grads->ln1.gamma, &grads->ln1.beta}) {
      tp_->AllReduce(g);
    }
  }
  return dx;
}

}  // namespace tpbench
