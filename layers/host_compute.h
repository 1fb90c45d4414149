// layers/host_compute.h: the host Compute backend: OpenBLAS GEMMs and plain C++ loops.
//
//   HostCompute c;               // OpenBLAS limited to 1 thread (one per rank)
//   HostCompute c4(4);           // or ask for 4 BLAS threads
//
// OpenBLAS's thread count is process-wide: the last HostCompute constructed (or
// SetBlasThreads call) decides it.
#ifndef TPBENCH_LAYERS_HOST_COMPUTE_H_
#define TPBENCH_LAYERS_HOST_COMPUTE_H_

#include "layers/compute.h"

namespace tpbench {

class HostCompute : public Compute {
 public:
  explicit HostCompute(int blas_threads = 1);

  // Sets OpenBLAS's thread count (>= 1; UsageError otherwise).
  void SetBlasThreads(int n);
  int blas_threads() const { return blas_threads_; }

  const char* name() const override { return "host"; }
  MemoryType memory() const override { return MemoryType::kHost; }
  Tensor NewTensor(const Shape& shape, DataType dtype) override;

  void Gemm(bool trans_a, bool trans_b, double alpha, const Tensor& a, const Tensor& b, double beta,
            Tensor* c) override;
  void GemmBatched(int64_t batch, bool trans_a, bool trans_b, double alpha, const Tensor& a,
                   const Tensor& b, double beta, Tensor* c) override;
  void AddBias(const Tensor& bias, Tensor* y) override;
  void BiasGrad(const Tensor& dy, Tensor* dbias) override;
  void GeluForward(const Tensor& x, Tensor* y) override;
  void GeluBackward(const Tensor& x, const Tensor& dy, Tensor* dx) override;
  void SoftmaxForward(const Tensor& x, bool causal, Tensor* y) override;
  void SoftmaxBackward(const Tensor& y, const Tensor& dy, Tensor* dx) override;
  void LayerNormForward(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps,
                        Tensor* y, Tensor* mean, Tensor* rstd) override;
  void LayerNormBackward(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                         const Tensor& rstd, const Tensor& dy, Tensor* dx, Tensor* dgamma,
                         Tensor* dbeta) override;
  void LayerNormStats(const Tensor& x, Tensor* stats) override;
  void LayerNormApply(const Tensor& x, const Tensor& stats, int64_t h_total, double eps,
                      const Tensor& gamma, const Tensor& beta, Tensor* y, Tensor* mean,
                      Tensor* rstd) override;
  void LayerNormBackwardStats(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                              const Tensor& rstd, const Tensor& dy, Tensor* stats) override;
  void LayerNormBackwardApply(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                              const Tensor& rstd, const Tensor& dy, const Tensor& stats,
                              int64_t h_total, Tensor* dx, Tensor* dgamma, Tensor* dbeta) override;
  void Add(const Tensor& a, const Tensor& b, Tensor* out) override;
  void Axpy(double alpha, const Tensor& x, Tensor* y) override;
  void ScaledCopy(double alpha, const Tensor& x, Tensor* y) override;
  void SplitQkvHeads(const Tensor& qkv, int64_t b, int64_t s, int64_t nh, Tensor* q, Tensor* k,
                     Tensor* v) override;
  void MergeQkvHeads(const Tensor& q, const Tensor& k, const Tensor& v, int64_t b, int64_t s,
                     int64_t nh, Tensor* qkv) override;
  void MergeHeads(const Tensor& x, int64_t b, int64_t s, int64_t nh, Tensor* y) override;
  void SplitHeads(const Tensor& y, int64_t b, int64_t s, int64_t nh, Tensor* x) override;

 private:
  int blas_threads_ = 1;
};

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_HOST_COMPUTE_H_
