// layers/tp2d/tp2d.cc: 2D (SUMMA) tensor-parallel layers. See tp2d.h.
#include "layers/tp2d/tp2d.h"

#include <algorithm>
#include <functional>
#include <string>
#include <utility>

#include "comm/error.h"
#include "layers/pre_ln_block.h"
#include "layers/scheme.h"

namespace tpbench {

void ValidateTp2d(const LayerConfig& cfg, int64_t q, int64_t depth) {
  cfg.Validate();
  const std::string scheme = depth > 0 ? "2.5d" : "2d";
  const int64_t P = q * q * std::max<int64_t>(depth, 1);
  auto check = [&](const std::string& what, int64_t n, int64_t d, const std::string& dn) {
    if (n % d != 0) {
      throw UsageError(what + " (" + std::to_string(n) + ") is not divisible by " + dn + " (" +
                       std::to_string(d) + ") of " + scheme + " (P = " + std::to_string(P) + ")");
    }
  };
  if (depth > 0) {
    check("batch", cfg.batch, depth * q, "d*q");
  } else {
    check("batch", cfg.batch, q, "q");
  }
  check("heads", cfg.heads, q, "q");
  if (depth > 0) {
    check("hidden", cfg.hidden, q, "q");
  } else {
    check("hidden", cfg.hidden, q * q, "q^2");
  }
}

Tp2d::Tp2d(Compute* c, Tp2dGroups g, Tp2dOptions opt)
    : c_(c), row_(g.row), col_(g.col), dep_(g.dep), xz_(g.xz), opt_(std::move(opt)) {
  TP_CHECK(c != nullptr && row_ != nullptr && col_ != nullptr && row_->size() == col_->size());
  TP_CHECK((dep_ == nullptr) == (xz_ == nullptr));
  TP_CHECK(!xz_ || xz_->size() == dep_->size() * col_->size());
  if (opt_.summa != "bcast" && opt_.summa != "allgather") {
    throw UsageError("summa: '" + opt_.summa + "' is not bcast or allgather");
  }
}

void Tp2d::Wait(const WorkPtr& w) const {
  if (!w) return;
  const auto t0 = std::chrono::steady_clock::now();
  w->Wait();
  exposed_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

OpOptions Tp2d::Opt(Communicator* g, OpKind k, bool async) const {
  return OpOptions{SchemeAlgorithm(*g, k), c_->CommStream(async)};
}

WorkPtr Tp2d::StartBroadcast(Communicator* g, int root, const Tensor& mine, Tensor* buf,
                             bool async) const {
  // In place at the root (send == recv): its own block is only read.
  void* dst = g->rank() == root ? const_cast<void*>(mine.data()) : buf->data();
  return Issue([&] {
    return g->Broadcast(mine.data(), dst, static_cast<size_t>(mine.numel()), mine.dtype(), root,
                        Opt(g, OpKind::kBroadcast, async));
  });
}

WorkPtr Tp2d::StartGather(Communicator* g, const Tensor& mine, Tensor* out, bool async) const {
  Shape s = mine.shape();
  s[0] *= g->size();
  *out = c_->NewTensor(s, mine.dtype());
  return Issue([&] {
    return g->AllGather(mine.data(), out->data(), static_cast<size_t>(mine.numel()), mine.dtype(),
                        Opt(g, OpKind::kAllGather, async));
  });
}

void Tp2d::AllReduce(Communicator* g, Tensor* x) const {
  Wait(Issue([&] {
    return g->AllReduce(x->data(), x->data(), static_cast<size_t>(x->numel()), x->dtype(),
                        ReduceOp::kSum, Opt(g, OpKind::kAllReduce, false));
  }));
}

void Tp2d::ReduceScatter(Communicator* g, const Tensor& in, Tensor* out) const {
  Wait(Issue([&] {
    return g->ReduceScatter(in.data(), out->data(), static_cast<size_t>(out->numel()), in.dtype(),
                            ReduceOp::kSum, Opt(g, OpKind::kReduceScatter, false));
  }));
}

// --- SUMMA ---

// Y(i,j) = sum_t X(i,t) W(t,j): X(i,t) broadcast over ROW and W(t,j) over COL from root t
// (double-buffered: step t+1's broadcasts in flight during step t's GEMM), or both panels
// all-gathered at once.
Tensor Tp2d::MatmulAB(const Tensor& x, const Tensor& w) const {
  Compute& c = *c_;
  const int64_t q = this->q();
  Tensor y = c.NewTensor({x.rows(), w.cols()}, x.dtype());
  if (opt_.summa == "allgather") {
    Tensor xp, wp;  // [q*B/q, in/q]: block t = X(i,t); [in, out/q]: block t = W(t,j)
    WorkPtr a = StartGather(row_, x, &xp, opt_.overlap);
    WorkPtr b = StartGather(col_, w, &wp, opt_.overlap);
    Wait(a);
    Wait(b);
    for (int64_t t = 0; t < q; ++t) {
      c.Gemm(false, false, 1.0, xp.RowChunk(q, t), wp.RowChunk(q, t), t ? 1.0 : 0.0, &y);
    }
    return y;
  }
  Tensor xb[2], wb[2];
  WorkPtr wx[2], ww[2];
  for (int s = 0; s < 2; ++s) {
    xb[s] = c.NewTensor(x.shape(), x.dtype());
    wb[s] = c.NewTensor(w.shape(), w.dtype());
  }
  auto start = [&](int64_t t) {
    wx[t % 2] = StartBroadcast(row_, static_cast<int>(t), x, &xb[t % 2], opt_.overlap);
    ww[t % 2] = StartBroadcast(col_, static_cast<int>(t), w, &wb[t % 2], opt_.overlap);
  };
  start(0);
  for (int64_t t = 0; t < q; ++t) {
    const int s = static_cast<int>(t % 2);
    Wait(wx[s]);
    Wait(ww[s]);
    if (t + 1 < q) start(t + 1);
    const Tensor& xt = j() == t ? x : xb[s];
    const Tensor& wt = i() == t ? w : wb[s];
    c.Gemm(false, false, 1.0, xt, wt, t ? 1.0 : 0.0, &y);
  }
  return y;
}

// For t = 0..q-1: B_t = `mine` of bg's rank t (broadcast over bg), C_t = gemm(B_t), reduced
// over rg to rg's rank t; returns this rank's reduced block [c_shape]. Double-buffered with
// overlap: step t+1's broadcast and step t-1's reduce are in flight during step t's GEMM.
// allgather: one all-gather of every B_t over bg, the C_t as blocks of one buffer, one
// reduce-scatter over rg (same bytes).
Tensor Tp2d::SummaReduce(Communicator* bg, const Tensor& mine, Communicator* rg,
                         const Shape& c_shape, const BlockGemm& gemm) const {
  Compute& c = *c_;
  const int64_t q = this->q();
  Tensor out = c.NewTensor(c_shape, mine.dtype());
  if (opt_.summa == "allgather") {
    Tensor panel;
    Wait(StartGather(bg, mine, &panel, false));
    Tensor cs = c.NewTensor({q * c_shape[0], c_shape[1]}, mine.dtype());
    for (int64_t t = 0; t < q; ++t) {
      Tensor block = cs.RowChunk(q, t);
      gemm(panel.RowChunk(q, t), &block);
    }
    ReduceScatter(rg, cs, &out);
    return out;
  }
  Tensor bb[2], cb[2];
  WorkPtr wb[2], wr[2];
  for (int s = 0; s < 2; ++s) {
    bb[s] = c.NewTensor(mine.shape(), mine.dtype());
    cb[s] = c.NewTensor(c_shape, mine.dtype());
  }
  for (int64_t t = 0; t < q; ++t) {
    const int s = static_cast<int>(t % 2), root = static_cast<int>(t);
    if (t == 0) wb[0] = StartBroadcast(bg, 0, mine, &bb[0], opt_.overlap);
    Wait(wb[s]);
    if (t + 1 < q) wb[1 - s] = StartBroadcast(bg, root + 1, mine, &bb[1 - s], opt_.overlap);
    Wait(wr[s]);  // C buffer s is free once step t-2's reduce is done
    gemm(bg->rank() == root ? mine : bb[s], &cb[s]);
    void* dst = rg->rank() == root ? out.data() : nullptr;
    wr[s] = Issue([&] {
      return rg->Reduce(cb[s].data(), dst, static_cast<size_t>(cb[s].numel()), cb[s].dtype(),
                        ReduceOp::kSum, root, Opt(rg, OpKind::kReduce, opt_.overlap));
    });
  }
  Wait(wr[0]);
  Wait(wr[1]);
  return out;
}

// dX(i,t) = sum_j dY(i,j) W(t,j)^T: W(t,j) broadcast over COL, reduced over ROW to (i,t).
Tensor Tp2d::MatmulABT(const Tensor& dy, const Tensor& w) const {
  return SummaReduce(col_, w, row_, {dy.rows(), w.rows()}, [&](const Tensor& wt, Tensor* out) {
    c_->Gemm(false, true, 1.0, dy, wt, 0.0, out);
  });
}

// dW(t,j) = sum_i X(i,t)^T dY(i,j): X(i,t) broadcast over ROW, reduced over COL to (t,j).
Tensor Tp2d::MatmulATB(const Tensor& x, const Tensor& dy) const {
  return SummaReduce(row_, x, col_, {x.cols(), dy.cols()}, [&](const Tensor& xt, Tensor* out) {
    c_->Gemm(true, false, 1.0, xt, dy, 0.0, out);
  });
}

// --- Linear, LayerNorm, MLP, attention ---

Tensor Tp2d::LinearForward(const LinearParams& p, const Tensor& x) const {
  Tensor y = MatmulAB(x, p.w);
  if (p.b.defined() && depth_mode()) {
    c_->AddBias(p.b, &y);  // [out/q]: chunk_q(b)[j], held whole
  } else if (p.b.defined()) {
    Tensor b;  // [out/q]: chunk_q(b)[j], gathered over COL
    Wait(StartGather(col_, p.b, &b, false));
    c_->AddBias(b, &y);
  }
  return y;
}

void Tp2d::LinearBackward(const LinearParams& p, const Tensor& x, const Tensor& dy, Tensor* dx,
                          LinearParams* grads) const {
  if (dx != nullptr) *dx = MatmulABT(dy, p.w);
  grads->w = MatmulATB(x, dy);
  if (depth_mode()) AllReduce(dep_, &grads->w);  // depth reduction: W is replicated over DEP
  if (p.b.defined()) {
    Tensor colsum = c_->NewTensor({dy.cols()}, dy.dtype());
    c_->BiasGrad(dy, &colsum);
    if (depth_mode()) {
      AllReduce(xz_, &colsum);  // over every row of the column, all depths
      grads->b = colsum;
    } else {
      grads->b = c_->NewTensor(p.b.shape(), p.b.dtype());
      ReduceScatter(col_, colsum, &grads->b);
    }
  }
}

// Statistics of rows split over ROW: two all-reduces of [B/q] (sum x, sum x^2).
Tensor Tp2d::LayerNormForward(const LayerNormParams& p, double eps, int64_t h, const Tensor& x,
                              Ln2dCache* cache) const {
  Compute& c = *c_;
  Tensor beta = p.beta;
  if (depth_mode()) {
    cache->gamma = p.gamma;  // [h/q], held whole
  } else {
    Wait(StartGather(col_, p.gamma, &cache->gamma, false));
    Wait(StartGather(col_, p.beta, &beta, false));
  }
  Tensor stats = c.NewTensor({2, x.rows()}, x.dtype());
  c.LayerNormStats(x, &stats);
  for (int64_t k = 0; k < 2; ++k) {
    Tensor part = stats.RowChunk(2, k);
    AllReduce(row_, &part);
  }
  cache->ln.x = x;
  cache->ln.mean = c.NewTensor({x.rows()}, x.dtype());
  cache->ln.rstd = c.NewTensor({x.rows()}, x.dtype());
  Tensor y = c.NewTensor(x.shape(), x.dtype());
  c.LayerNormApply(x, stats, h, eps, cache->gamma, beta, &y, &cache->ln.mean, &cache->ln.rstd);
  return y;
}

Tensor Tp2d::LayerNormBackward(const Ln2dCache& cache, int64_t h, const Tensor& dy,
                               LayerNormParams* grads) const {
  Compute& c = *c_;
  const Tensor& x = cache.ln.x;
  Tensor stats = c.NewTensor({2, x.rows()}, x.dtype());
  c.LayerNormBackwardStats(x, cache.gamma, cache.ln.mean, cache.ln.rstd, dy, &stats);
  for (int64_t k = 0; k < 2; ++k) {
    Tensor part = stats.RowChunk(2, k);
    AllReduce(row_, &part);
  }
  Tensor dx = c.NewTensor(x.shape(), x.dtype());
  Tensor dg = c.NewTensor(cache.gamma.shape(), x.dtype()), db = dg.Clone();
  c.LayerNormBackwardApply(x, cache.gamma, cache.ln.mean, cache.ln.rstd, dy, stats, h, &dx, &dg,
                           &db);
  if (depth_mode()) {
    AllReduce(xz_, &dg);
    AllReduce(xz_, &db);
    grads->gamma = dg;
    grads->beta = db;
    return dx;
  }
  const Shape mine{cache.gamma.numel() / q()};
  grads->gamma = c.NewTensor(mine, x.dtype());
  grads->beta = c.NewTensor(mine, x.dtype());
  ReduceScatter(col_, dg, &grads->gamma);
  ReduceScatter(col_, db, &grads->beta);
  return dx;
}

Tensor Tp2d::MlpForward(const MlpParams& p, const Tensor& x, MlpCache* cache) const {
  cache->x = x;
  cache->h1 = LinearForward(p.fc1, x);
  cache->act = c_->NewTensor(cache->h1.shape(), cache->h1.dtype());
  c_->GeluForward(cache->h1, &cache->act);
  return LinearForward(p.fc2, cache->act);
}

Tensor Tp2d::MlpBackward(const MlpParams& p, const MlpCache& cache, const Tensor& dy,
                         MlpParams* grads) const {
  Tensor dact, dx;
  LinearBackward(p.fc2, cache.act, dy, &dact, &grads->fc2);
  Tensor dh1 = c_->NewTensor(cache.h1.shape(), cache.h1.dtype());
  c_->GeluBackward(cache.h1, dact, &dh1);
  LinearBackward(p.fc1, cache.x, dh1, &dx, &grads->fc1);
  return dx;
}

AttentionShape Tp2d::LocalShape(const AttentionShape& shape) const {
  AttentionShape local = shape;
  local.batch = shape.batch / (q() * d());
  local.heads = shape.heads / q();
  return local;
}

Tensor Tp2d::AttentionForward(const AttentionShape& shape, const AttentionParams& p,
                              const Tensor& x, Attention2dCache* cache) const {
  cache->x = x;
  Tensor qkv = LinearForward(p.qkv, x);  // samples of row i, heads of column j
  cache->ctx = CoreAttentionForward(*c_, LocalShape(shape), qkv, &cache->core);
  return LinearForward(p.proj, cache->ctx);
}

Tensor Tp2d::AttentionBackward(const AttentionShape& shape, const AttentionParams& p,
                               const Attention2dCache& cache, const Tensor& dy,
                               AttentionParams* grads) const {
  Tensor dctx, dx;
  LinearBackward(p.proj, cache.ctx, dy, &dctx, &grads->proj);
  Tensor dqkv = CoreAttentionBackward(*c_, LocalShape(shape), cache.core, dctx);
  LinearBackward(p.qkv, cache.x, dqkv, &dx, &grads->qkv);
  return dx;
}

// --- The block ---

Tp2dLayer::Tp2dLayer(const Tp2d* tp, const LayerConfig& cfg) : tp_(tp), cfg_(cfg) {
  TP_CHECK(tp != nullptr);
  ValidateTp2d(cfg_, tp->q(), tp->depth_mode() ? tp->d() : 0);
}

Tensor Tp2dLayer::Forward(const LayerParams& p, const Tensor& x, Block2dCache* cache) const {
  return PreLnBlockForward(*tp_, cfg_, p, x, cache);
}

Tensor Tp2dLayer::Backward(const LayerParams& p, const Block2dCache& cache, const Tensor& dout,
                           LayerGrads* grads) const {
  return PreLnBlockBackward(*tp_, cfg_, p, cache, dout, grads);
}

}  // namespace tpbench
