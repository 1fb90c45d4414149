// layers/compute.h: the compute backend interface that every TP scheme's layer code calls.
// HostCompute (layers/host_compute.h) implements it with OpenBLAS and loops; a CUDA backend
// (cuBLAS + kernels) implements the same interface on kCuda tensors.
//
//   HostCompute c;                                       // OpenBLAS, 1 thread
//   Tensor y = c.NewTensor({B, h_out}, x.dtype());
//   c.Gemm(false, false, 1.0, x, w, 0.0, &y);            // y = x w
//   c.AddBias(b, &y);                                    // y[i, :] += b
//   uint64_t f = c.flops().gemm;                         // 2*B*h_in*h_out
//   comm->AllReduce(y.data(), y.data(), n, dt, kSum, {algo, c.CommStream(/*async=*/false)});
//
// Device-neutral layer code: the layers (layers/tp*) never name a backend. They allocate with
// NewTensor, and issue every collective on CommStream(): the host backend runs it inline in
// the caller's thread (or, async, on the communicator's progress thread, after the host
// compute that precedes it has finished); a device backend enqueues it on its own stream, so it
// is ordered after the compute issued before it and before the compute issued after it. So
// layer code needs no fences between compute and communication. Tensors move between memories
// with Tensor::ToMemory(c.memory()).
//
// Conventions, shared by all backends:
// - Every tensor is read as a row-major matrix [rows(), cols()] (see tensor.h); shapes are
//   checked and a mismatch throws UsageError naming the op and the shapes.
// - All tensors of one call have the same dtype (f32 or f64); scalars are passed as double.
// - Outputs are overwritten, except Gemm/GemmBatched (beta) and Axpy, which accumulate.
//   Outputs must not alias inputs unless stated.
// - GeLU is the tanh approximation (Megatron-LM's / GPT-2's "gelu"):
//     gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
// - Softmax is over each row (the last dim). Causal masking treats the rows as consecutive
//   blocks of cols() query rows (one [s, s] score matrix per sample and head): row r is
//   query position q = r mod cols(), and keys j > q get probability exactly 0.
// - LayerNorm normalises each row over cols() with the biased variance:
//     y = (x - mean) * rstd * gamma + beta,  rstd = 1 / sqrt(var + eps);
//   mean and rstd ([rows()], the dtype of x) are saved for the backward.
// - Attention head layout: a QKV row of width 3*nh*hd is ordered [head][q|k|v][hd]
//   (Megatron-LM's layout), so the column chunk r of t holds the q, k and v of heads
//   r*nh/t .. (r+1)*nh/t - 1 and column-parallel QKV needs no reshuffle. Per-head tensors are
//   [b*nh*s, hd], rows ordered (sample, head, position).
#ifndef TPBENCH_LAYERS_COMPUTE_H_
#define TPBENCH_LAYERS_COMPUTE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "comm/error.h"
#include "layers/tensor.h"

namespace tpbench {

// FLOPs issued through one Compute since construction or the last ResetFlops().
// gemm is exact (2*m*n*k per product). other is nominal: a fixed per-element cost for each
// elementwise/reduction op (nominal_flops below), the same in every backend.
struct FlopCount {
  uint64_t gemm = 0;
  uint64_t other = 0;
  uint64_t total() const { return gemm + other; }
};

// Nominal FLOPs per element of the non-GEMM ops (FlopCount::other), the same in every backend.
namespace nominal_flops {
constexpr uint64_t kFlopsBias = 1, kFlopsGeluFwd = 8, kFlopsGeluBwd = 12, kFlopsSoftmaxFwd = 5,
                   kFlopsSoftmaxBwd = 4, kFlopsLnFwd = 8, kFlopsLnBwd = 12, kFlopsLnStats = 3,
                   kFlopsLnBwdStats = 5, kFlopsAdd = 1, kFlopsAxpy = 2, kFlopsScale = 1;
}  // namespace nominal_flops

class Compute {
 public:
  virtual ~Compute() = default;

  virtual const char* name() const = 0;  // "host", "cuda"
  virtual MemoryType memory() const = 0;
  // A zero-filled tensor in this backend's memory.
  virtual Tensor NewTensor(const Shape& shape, DataType dtype) = 0;
  // Waits for queued work (no-op on the host).
  virtual void Synchronize() {}
  // Where communication on this backend's tensors is issued (see above). async: the op may
  // run while the caller goes on computing (the host's progress thread); a device stream is
  // asynchronous either way.
  virtual Stream CommStream(bool async) const { return async ? Stream::Async() : Stream::Inline(); }

  // c = alpha * op(a) op(b) + beta * c, op(x) = x or x^T; a, b, c row-major matrices.
  // With beta == 0, c's old contents are ignored (NaNs included).
  virtual void Gemm(bool trans_a, bool trans_b, double alpha, const Tensor& a, const Tensor& b,
                    double beta, Tensor* c) = 0;
  // batch independent Gemms: a, b and c are each batch equal blocks of consecutive rows
  // (a: [batch*rows_a, cols_a], ...), block i of c = alpha op(a_i) op(b_i) + beta c_i.
  virtual void GemmBatched(int64_t batch, bool trans_a, bool trans_b, double alpha, const Tensor& a,
                           const Tensor& b, double beta, Tensor* c) = 0;

  // y[i, :] += bias (bias has cols(y) elements).
  virtual void AddBias(const Tensor& bias, Tensor* y) = 0;
  // dbias[j] = sum_i dy[i, j].
  virtual void BiasGrad(const Tensor& dy, Tensor* dbias) = 0;

  // y = gelu(x); dx = gelu'(x) * dy (tanh approximation, see above).
  virtual void GeluForward(const Tensor& x, Tensor* y) = 0;
  virtual void GeluBackward(const Tensor& x, const Tensor& dy, Tensor* dx) = 0;

  // y = softmax(x) over rows, optionally causal (see above). y may alias x.
  virtual void SoftmaxForward(const Tensor& x, bool causal, Tensor* y) = 0;
  // dx = y * (dy - sum_j(dy * y)) per row, from the forward's output y.
  virtual void SoftmaxBackward(const Tensor& y, const Tensor& dy, Tensor* dx) = 0;

  // LayerNorm over rows; mean and rstd are [rows(x)].
  virtual void LayerNormForward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                double eps, Tensor* y, Tensor* mean, Tensor* rstd) = 0;
  // dx, and dgamma/dbeta summed over the rows of this call.
  virtual void LayerNormBackward(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                 const Tensor& rstd, const Tensor& dy, Tensor* dx, Tensor* dgamma,
                                 Tensor* dbeta) = 0;

  // --- LayerNorm with the hidden dim split over ranks (2D, 2.5D, 3D) ---
  // The row statistics are summed over the ranks that share a row (an all-reduce between the
  // Stats and Apply calls); x holds this rank's columns, h_total is the full hidden size.
  // The defaults throw UsageError("compute backend <name> does not support <op>").
  // stats [2, rows(x)]: row 0 = sum_j x[i, j], row 1 = sum_j x[i, j]^2 over x's columns.
  virtual void LayerNormStats(const Tensor& x, Tensor* stats);
  // From stats summed over the split: mean = s0/h_total, var = s1/h_total - mean^2,
  // rstd = 1/sqrt(var + eps) ([rows(x)] each) and y = (x - mean) * rstd * gamma + beta
  // (gamma, beta: cols(x) entries, this rank's).
  virtual void LayerNormApply(const Tensor& x, const Tensor& stats, int64_t h_total, double eps,
                              const Tensor& gamma, const Tensor& beta, Tensor* y, Tensor* mean,
                              Tensor* rstd);
  // stats [2, rows(x)]: sum_j g and sum_j g*xhat over x's columns, g = dy*gamma,
  // xhat = (x - mean)*rstd.
  virtual void LayerNormBackwardStats(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                      const Tensor& rstd, const Tensor& dy, Tensor* stats);
  // From stats summed over the split: dx = (g - s0/h_total - xhat*s1/h_total) * rstd; dgamma,
  // dbeta (cols(x) entries) summed over the rows of this call.
  virtual void LayerNormBackwardApply(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                      const Tensor& rstd, const Tensor& dy, const Tensor& stats,
                                      int64_t h_total, Tensor* dx, Tensor* dgamma, Tensor* dbeta);

  // out = a + b (residual add); out may alias a or b.
  virtual void Add(const Tensor& a, const Tensor& b, Tensor* out) = 0;
  // y += alpha * x.
  virtual void Axpy(double alpha, const Tensor& x, Tensor* y) = 0;
  // y = alpha * x (scaled copy); y may alias x.
  virtual void ScaledCopy(double alpha, const Tensor& x, Tensor* y) = 0;

  // qkv [b*s, 3*nh*hd] -> q, k, v, each [b*nh*s, hd] (layout above).
  virtual void SplitQkvHeads(const Tensor& qkv, int64_t b, int64_t s, int64_t nh, Tensor* q,
                             Tensor* k, Tensor* v) = 0;
  // The inverse: dq, dk, dv [b*nh*s, hd] -> dqkv [b*s, 3*nh*hd].
  virtual void MergeQkvHeads(const Tensor& q, const Tensor& k, const Tensor& v, int64_t b,
                             int64_t s, int64_t nh, Tensor* qkv) = 0;
  // x [b*nh*s, hd] -> y [b*s, nh*hd], column n*hd + d (the attention context).
  virtual void MergeHeads(const Tensor& x, int64_t b, int64_t s, int64_t nh, Tensor* y) = 0;
  // The inverse: y [b*s, nh*hd] -> x [b*nh*s, hd].
  virtual void SplitHeads(const Tensor& y, int64_t b, int64_t s, int64_t nh, Tensor* x) = 0;

  const FlopCount& flops() const { return flops_; }
  void ResetFlops() { flops_ = FlopCount(); }

 protected:
  [[noreturn]] void Unsupported(const char* op) const {
    throw UsageError(std::string("compute backend ") + name() + " does not support " + op);
  }
  FlopCount flops_;
};

// The compute backends linked into this binary, by name ("host"; "cuda" with --config=cuda).
// Each registers itself from its library (alwayslink). Create throws UsageError naming the
// valid names for an unknown one.
using ComputeFactory = std::unique_ptr<Compute> (*)();
bool RegisterCompute(const std::string& name, ComputeFactory factory);
std::unique_ptr<Compute> CreateCompute(const std::string& name);
std::vector<std::string> ComputeNames();

inline void Compute::LayerNormStats(const Tensor&, Tensor*) { Unsupported("LayerNormStats"); }
inline void Compute::LayerNormApply(const Tensor&, const Tensor&, int64_t, double, const Tensor&,
                                    const Tensor&, Tensor*, Tensor*, Tensor*) {
  Unsupported("LayerNormApply");
}
inline void Compute::LayerNormBackwardStats(const Tensor&, const Tensor&, const Tensor&,
                                            const Tensor&, const Tensor&, Tensor*) {
  Unsupported("LayerNormBackwardStats");
}
inline void Compute::LayerNormBackwardApply(const Tensor&, const Tensor&, const Tensor&,
                                            const Tensor&, const Tensor&, const Tensor&, int64_t,
                                            Tensor*, Tensor*, Tensor*) {
  Unsupported("LayerNormBackwardApply");
}

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_COMPUTE_H_
