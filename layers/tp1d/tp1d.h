// layers/tp1d/tp1d.h: 1D (Megatron-LM) tensor-parallel layers over a Compute backend and the TP
// group's Communicator (TP_SCHEMES.md section 1; docs/layers.md, "1D tensor parallelism").
//
//   Tp1d tp(&compute, tp_comm.get(), Tp1dOptions{});       // algo "ring", overlap on
//   LinearParams col = ShardColumn(full_fc1, t, r);        // W[:, chunk_t(out)[r]], b chunk
//   Tensor y_r = tp.ColumnForward(col, x);                 // no communication
//   tp.ColumnBackward(col, x, dy_r, &dx, &grads);          // all-reduce of dX (async)
//   LayerParams mine = ShardLayerParams(cfg, full, t, r);  // this rank's block parameters
//   Tp1dLayer layer(&tp, cfg);
//   Tensor out = layer.Forward(mine, x, &cache);           // x, out: [b*s, h], replicated
//   Tensor dx = layer.Backward(mine, cache, dout, &grads); // grads: this rank's slices
//
// Communication (per rank, ring model, elements; B = b*s):
//   column linear fwd+bwd: one all-reduce of dX [B, in]   -> 2(t-1)/t * B*in
//   row linear fwd+bwd:    one all-reduce of Y [B, out]   -> 2(t-1)/t * B*out
//   MLP / attention:       one of each                     -> 4(t-1)/t * B*h
//   block (pre-LN):        4 all-reduces of [B, h]         -> 8(t-1)/t * B*h
// With sequence parallelism: column 3(t-1)/t * B*in (all-gather forward and backward,
// reduce-scatter of dX), row 2(t-1)/t * B*out + 2(t-1)/t * out (bias gradient all-reduce),
// block 10(t-1)/t * B*h + 12(t-1)/t * h (two row biases and four LN vectors).
// Shapes that do not split (hidden, heads or ffn*h not divisible by t) throw UsageError
// naming the dimension and the divisor.
#ifndef TPBENCH_LAYERS_TP1D_TP1D_H_
#define TPBENCH_LAYERS_TP1D_TP1D_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "comm/communicator.h"
#include "comm/work.h"
#include "layers/compute.h"
#include "layers/reference.h"
#include "layers/scheme.h"
#include "layers/tensor.h"

namespace tpbench {

// The algorithm of the 1D layers' collectives on comm, asked of the communicator (never by its
// backend's name): "ring" (so the bytes are TP_SCHEMES.md section 6's) when it offers ring for
// all-reduce, all-gather and reduce-scatter (tpbench's algorithms), else the library's own
// ("auto": mpi, nccl).
std::string Tp1dAlgorithm(const Communicator& comm);

struct Tp1dOptions {
  // Algorithm of every collective ("ring" makes the volumes those of TP_SCHEMES.md section 6;
  // Tp1dAlgorithm(comm) picks the one a backend offers).
  std::string algo = "ring";
  // Column backward: all-reduce dX on the async stream while dW and db are computed. False:
  // the all-reduce runs inline before dW and db (same bytes, no overlap).
  bool overlap = true;
  // Sequence parallelism (TP_SCHEMES.md section 1, "SP"): activations outside the TP region
  // are row shards [B/t, h] (chunk_t(rows)[r]); column linears all-gather their input (dim 0)
  // forward and again backward, and reduce-scatter dX; row linears reduce-scatter Y and
  // all-gather dY; row-bias and LayerNorm gradients are all-reduced over TP.
  bool sequence_parallel = false;
};

// Throws UsageError("<what> (<n>) is not divisible by the tensor-parallel size t (<t>)")
// unless n % t == 0.
void CheckDivisible(const std::string& what, int64_t n, int64_t t);
// Validates cfg (LayerConfig::Validate) and its 1D split over t ranks: hidden, heads and
// ffn*h divisible by t; with sequence_parallel also tokens (batch*seq).
void ValidateTp1d(const LayerConfig& cfg, int64_t t, bool sequence_parallel = false);

// Rank r's parameters of a column-parallel linear (W[:, chunk_t(out)[r]], b chunk_t[r]) and of
// a row-parallel one (W[chunk_t(in)[r], :], b full). Copies/views of the full tensors.
LinearParams ShardColumn(const LinearParams& full, int64_t t, int64_t r);
LinearParams ShardRow(const LinearParams& full, int64_t t, int64_t r);
// The rectangle of the full tensor `name` (LayerParams::Named() or "x", the activations
// outside the TP region) that rank r of t holds: QKV and fc1 weights and biases columns
// chunk_t[r], proj and fc2 weights rows chunk_t[r], the rest replicated; "x" replicated, or
// rows chunk_t[r] with sequence parallelism. The 1D schemes' Region (layers/scheme.h).
Rect Tp1dRegion(const std::string& name, const Shape& full, int64_t t, int64_t r,
                bool sequence_parallel);
// Rank r's block parameters (or the slice of full-size gradients), by Tp1dRegion: QKV and fc1
// column, proj and fc2 row, LayerNorms replicated (copies). Validates the split (UsageError).
LayerParams ShardLayerParams(const LayerConfig& cfg, const LayerParams& full, int64_t t, int64_t r);

class Tp1d {
 public:
  // c and tp must outlive this object.
  Tp1d(Compute* c, Communicator* tp, Tp1dOptions opt = {});
  Compute& compute() const { return *c_; }
  Communicator& comm() const { return *tp_; }
  const Tp1dOptions& options() const { return opt_; }
  int64_t t() const { return tp_->size(); }
  int64_t rank() const { return tp_->rank(); }

  // In-place sum all-reduce of x over the TP group (inline).
  void AllReduce(Tensor* x) const;

  // Exposed communication: the wall time this object's calling thread spent inside
  // communication calls (issuing an op, running an inline op, waiting for an async one) since
  // construction or the last ResetCommClock(). Time an async op runs while compute goes on is
  // not in it; time spent waiting for a slower peer is. //bench:layers divides it by the step
  // time for comm_frac.
  double exposed_comm_s() const { return exposed_s_; }
  void ResetCommClock() { exposed_s_ = 0; }

  // Column-parallel: x [B, in] replicated (SP: this rank's rows [B/t, in]), p.w [in, out/t];
  // returns y_r [B, out/t].
  Tensor ColumnForward(const LinearParams& p, const Tensor& x) const;
  // dx (full [B, in], summed over TP; SP: this rank's rows [B/t, in]) and this rank's dW, db.
  void ColumnBackward(const LinearParams& p, const Tensor& x, const Tensor& dy, Tensor* dx,
                      LinearParams* grads) const;
  // Row-parallel: x_r [B, in/t], p.w [in/t, out], p.b [out]; returns y [B, out] replicated
  // (SP: this rank's rows [B/t, out]).
  Tensor RowForward(const LinearParams& p, const Tensor& x) const;
  // dx_r [B, in/t], dW_r, db (full); no communication. SP: dy is [B/t, out] and is
  // all-gathered; db = all-reduce of colsum(dy rows).
  void RowBackward(const LinearParams& p, const Tensor& x, const Tensor& dy, Tensor* dx,
                   LinearParams* grads) const;

  // MLP: fc1 column (h -> ffn*h), GeLU, fc2 row. x, return [B, h] replicated (SP: [B/t, h]).
  Tensor MlpForward(const MlpParams& p, const Tensor& x, MlpCache* cache) const;
  Tensor MlpBackward(const MlpParams& p, const MlpCache& cache, const Tensor& dy,
                     MlpParams* grads) const;

  // Attention: QKV column (this rank's heads), local core attention, proj row. shape.heads is
  // the total number of heads (divisible by t). x, return as for the MLP.
  Tensor AttentionForward(const AttentionShape& shape, const AttentionParams& p, const Tensor& x,
                          AttentionCache* cache) const;
  Tensor AttentionBackward(const AttentionShape& shape, const AttentionParams& p,
                           const AttentionCache& cache, const Tensor& dy,
                           AttentionParams* grads) const;

 private:
  AttentionShape LocalShape(const AttentionShape& shape) const;
  // All-gather of row shards [n, c] into [t*n, c] (rank order = row order).
  WorkPtr StartGatherRows(const Tensor& x, Tensor* out, bool async) const;
  // Every communication call goes through these two: Issue runs issue() (the call that starts
  // an op; an inline op runs to completion in it), Wait waits for w; both add their wall time
  // to exposed_s_.
  template <typename F>
  WorkPtr Issue(F&& issue) const {
    const auto t0 = std::chrono::steady_clock::now();
    WorkPtr w = issue();
    exposed_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return w;
  }
  void Wait(const WorkPtr& w) const;

  Compute* c_;
  Communicator* tp_;
  Tp1dOptions opt_;
  mutable double exposed_s_ = 0;
};

// The pre-LN transformer block (ReferenceLayer's equations) with 1D TP; LayerNorm local.
class Tp1dLayer {
 public:
  // Validates cfg over tp->t() ranks (UsageError). tp must outlive the layer. With
  // sequence_parallel, x, out and dx are this rank's rows [b*s/t, h], and the LayerNorm
  // gradients are all-reduced over TP.
  Tp1dLayer(const Tp1d* tp, const LayerConfig& cfg);
  const LayerConfig& config() const { return cfg_; }

  // x [b*s, h] replicated -> out [b*s, h] replicated; p = ShardLayerParams(...) of this rank.
  Tensor Forward(const LayerParams& p, const Tensor& x, LayerCache* cache) const;
  // Returns dx (replicated); fills this rank's slices of every parameter gradient.
  Tensor Backward(const LayerParams& p, const LayerCache& cache, const Tensor& dout,
                  LayerGrads* grads) const;

 private:
  const Tp1d* tp_;
  LayerConfig cfg_;
};

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_TP1D_TP1D_H_
