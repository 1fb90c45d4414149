// layers/tp2d/tp2d.h: 2D (Optimus / SUMMA) tensor-parallel layers on a q x q mesh over a
// Compute backend and the mesh's ROW and COL groups (TP_SCHEMES.md section 2; docs/schemes.md).
//
//   Mesh mesh(world.get(), {{"row", q}, {"col", q}});
//   Tp2d tp(&compute, &mesh.Group({"col"}), &mesh.Group({"row"}), Tp2dOptions{});  // ROW, COL
//   Tensor y = tp.LinearForward(p, x);            // x (i,j) [B/q, in/q] -> y (i,j) [B/q, out/q]
//   tp.LinearBackward(p, x, dy, &dx, &grads);     // dX (i,j), dW (i,j), db (i,j)
//   Tp2dLayer layer(&tp, cfg);
//   Tensor out = layer.Forward(mine, x, &cache);  // mine = ShardParams(FindScheme("2d"), ...)
//
// Rank (i = row, j = col) holds X rows chunk_q[i], hidden chunk_q[j]; W in chunk_q[i], out
// chunk_q[j]; bias and LayerNorm vectors chunk_q(chunk_q(v)[j])[i] ([n/q^2]). A linear's
// output has its input's layout, so layers chain with no re-layout; QKV column block j holds
// heads [j*nh/q, (j+1)*nh/q) and attention is local on whole samples.
//
// Communication per rank of one linear, forward + backward (elements; N_X = B*in,
// N_W = in*out), summa "bcast": q broadcasts of X blocks over ROW and of W blocks over COL
// forward; backward dX (ABT) re-broadcasts W over COL and reduces C_t over ROW to (i,t),
// dW (ATB) re-broadcasts X over ROW and reduces over COL to (t,j):
//   ROW 3(q-1)/q^2 N_X, COL 3(q-1)/q^2 N_W, in 6q calls; bias: all-gather over COL forward,
//   reduce-scatter of colsum(dY) backward, 2(q-1)/q^2 out.
// summa "allgather": one all-gather of the X panel over ROW and of the W panel over COL
// instead of the q broadcasts, reduce-scatters instead of the q reduces: same volume, 6 calls,
// q times the panel memory. LayerNorm: 2 all-reduces of [B/q] over ROW forward and 2 backward;
// gamma/beta all-gathered over COL forward, their gradients reduce-scattered backward.
// With overlap, step t+1's broadcasts run (async) during step t's GEMM, and C_t's reduce
// during step t+1's.
#ifndef TPBENCH_LAYERS_TP2D_TP2D_H_
#define TPBENCH_LAYERS_TP2D_TP2D_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "comm/communicator.h"
#include "comm/work.h"
#include "layers/compute.h"
#include "layers/reference.h"
#include "layers/tensor.h"

namespace tpbench {

struct Tp2dOptions {
  bool overlap = true;          // async double-buffered SUMMA steps (same bytes)
  std::string summa = "bcast";  // "bcast" or "allgather"
};

// A 2D LayerNorm's saved tensors: x, mean and rstd of this rank's rows, gathered gamma.
struct Ln2dCache {
  LayerNormCache ln;
  Tensor gamma;  // [h/q], gathered over COL in the forward
};
struct Attention2dCache {
  Tensor x, ctx;
  CoreAttentionCache core;
};
struct Block2dCache {
  Ln2dCache ln1, ln2;
  Attention2dCache attn;
  MlpCache mlp;
};

// The groups of a 2D or 2.5D mesh. row: the ROW group (same row; local rank = col j), col: the
// COL group (same column; local rank = row i), both of size q. 2.5D (layers/tp2p5d) adds dep,
// the DEP group (same row and column; size d) and xz, the ranks sharing the column (local rank
// dep*q + row; size d*q): then bias and LayerNorm vectors are [n/q] (chunk_q[j], replicated
// over row and depth) with gradients all-reduced over XZ, and weight gradients are
// all-reduced over DEP (TP_SCHEMES.md section 3's depth reduction).
struct Tp2dGroups {
  Communicator* row = nullptr;
  Communicator* col = nullptr;
  Communicator* dep = nullptr;  // 2.5D only
  Communicator* xz = nullptr;   // 2.5D only
};

class Tp2d {
 public:
  // The groups and c must outlive this object.
  Tp2d(Compute* c, Tp2dGroups groups, Tp2dOptions opt = {});
  Compute& compute() const { return *c_; }
  const Tp2dOptions& options() const { return opt_; }
  int64_t q() const { return row_->size(); }
  int64_t i() const { return col_->rank(); }
  int64_t j() const { return row_->rank(); }
  // The depth d (1 in 2D) and whether this is the 2.5D variant.
  int64_t d() const { return dep_ ? dep_->size() : 1; }
  bool depth_mode() const { return dep_ != nullptr; }
  double exposed_comm_s() const { return exposed_s_; }
  void ResetCommClock() { exposed_s_ = 0; }

  // x (i,j) [B/q, in/q], p.w (i,j) [in/q, out/q], p.b [out/q^2] -> y (i,j) [B/q, out/q].
  Tensor LinearForward(const LinearParams& p, const Tensor& x) const;
  // dx (i,j) [B/q, in/q], grads->w (i,j), grads->b [out/q^2].
  void LinearBackward(const LinearParams& p, const Tensor& x, const Tensor& dy, Tensor* dx,
                      LinearParams* grads) const;
  // LayerNorm over the full hidden size h of rows split over ROW; p.gamma, p.beta [h/q^2].
  Tensor LayerNormForward(const LayerNormParams& p, double eps, int64_t h, const Tensor& x,
                          Ln2dCache* cache) const;
  Tensor LayerNormBackward(const Ln2dCache& cache, int64_t h, const Tensor& dy,
                           LayerNormParams* grads) const;
  Tensor MlpForward(const MlpParams& p, const Tensor& x, MlpCache* cache) const;
  Tensor MlpBackward(const MlpParams& p, const MlpCache& cache, const Tensor& dy,
                     MlpParams* grads) const;
  // shape: the whole layer's (batch b, heads nh); this rank runs b/q samples, nh/q heads.
  Tensor AttentionForward(const AttentionShape& shape, const AttentionParams& p, const Tensor& x,
                          Attention2dCache* cache) const;
  Tensor AttentionBackward(const AttentionShape& shape, const AttentionParams& p,
                           const Attention2dCache& cache, const Tensor& dy,
                           AttentionParams* grads) const;

 private:
  using BlockGemm = std::function<void(const Tensor& block, Tensor* out)>;
  // SUMMA AB, ABT, ATB (bcast or allgather variant); SummaReduce is ABT's and ATB's loop.
  Tensor MatmulAB(const Tensor& x, const Tensor& w) const;
  Tensor MatmulABT(const Tensor& dy, const Tensor& w) const;
  Tensor MatmulATB(const Tensor& x, const Tensor& dy) const;
  Tensor SummaReduce(Communicator* bg, const Tensor& mine, Communicator* rg, const Shape& c_shape,
                     const BlockGemm& gemm) const;
  // Broadcast over g of the root's `mine` into buf (elsewhere); the root's block stays in mine.
  WorkPtr StartBroadcast(Communicator* g, int root, const Tensor& mine, Tensor* buf,
                         bool async) const;
  WorkPtr StartGather(Communicator* g, const Tensor& mine, Tensor* out, bool async) const;
  void AllReduce(Communicator* g, Tensor* x) const;
  void ReduceScatter(Communicator* g, const Tensor& in, Tensor* out) const;
  AttentionShape LocalShape(const AttentionShape& shape) const;
  template <typename F>
  WorkPtr Issue(F&& issue) const {
    const auto t0 = std::chrono::steady_clock::now();
    WorkPtr w = issue();
    exposed_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return w;
  }
  void Wait(const WorkPtr& w) const;
  OpOptions Opt(Communicator* g, OpKind k, bool async) const;

  Compute* c_;
  Communicator* row_;
  Communicator* col_;
  Communicator* dep_;
  Communicator* xz_;
  Tp2dOptions opt_;
  mutable double exposed_s_ = 0;
};

// The pre-LN block (ReferenceLayer's equations) with 2D TP.
class Tp2dLayer {
 public:
  // Validates cfg over q and d (UsageError, ValidateTp2d). tp must outlive the layer.
  Tp2dLayer(const Tp2d* tp, const LayerConfig& cfg);
  // x (i,j) [b*s/q, h/q] -> out, same layout; p: this rank's slices.
  Tensor Forward(const LayerParams& p, const Tensor& x, Block2dCache* cache) const;
  Tensor Backward(const LayerParams& p, const Block2dCache& cache, const Tensor& dout,
                  LayerGrads* grads) const;

 private:
  const Tp2d* tp_;
  LayerConfig cfg_;
};

// UsageError("batch (3) is not divisible by q (2) of 2d (P = 4)") unless batch and heads are
// divisible by q and hidden by q^2 (bias and LayerNorm vectors are split q^2 ways). With
// depth d > 0 (2.5D): batch by d*q, heads and hidden by q ("... of 2.5d (P = 8)").
void ValidateTp2d(const LayerConfig& cfg, int64_t q, int64_t depth = 0);

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_TP2D_TP2D_H_
