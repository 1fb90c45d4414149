// layers/cuda/cuda_compute.h: the CUDA Compute backend: cuBLAS GEMMs (strided batched for
// attention) and the kernels of kernels.cu, on one CUDA stream the backend owns; tensors in
// device memory (MemoryType::kCuda, cudaMalloc). Built only with --config=cuda; registered as
// "cuda" (and "cuda-tf32": f32 GEMMs on TF32 tensor cores) for CreateCompute.
//
//   CudaCompute c;                                        // device 0, its own stream
//   Tensor x = host_x.ToMemory(MemoryType::kCuda);
//   Tensor y = c.NewTensor({B, h_out}, x.dtype());
//   c.Gemm(false, false, 1.0, x, w, 0.0, &y);             // queued on c.stream()
//   c.Synchronize();
//   Tensor y_host = y.ToMemory(MemoryType::kHost);
//
// dtypes: every op takes f32, f64, f16 and bf16. Gemm and GemmBatched on f16/bf16 are
// cublasGemmEx (f32 accumulation); the other ops run f16/bf16 tensors through f32 device
// copies (converted, the f32 kernel, rounded back to nearest even: one rounding per op).
// Communication: CommStream(false) is the compute stream itself (the collective is ordered after
// the kernels before it and before the kernels after it); CommStream(true) (overlap) is a side
// stream that has just been made to wait for the compute stream's work so far (one event: exactly
// the producers queued before the call), and the compute stream does not wait for it: kernels
// issued after the collective run while it is in flight, and Work::Wait (the host waits for the
// op's end event) is where the layer code may use its output. Builds and links; never ran on a GPU
// (docs/gpu.md).
#ifndef TPBENCH_LAYERS_CUDA_CUDA_COMPUTE_H_
#define TPBENCH_LAYERS_CUDA_CUDA_COMPUTE_H_

#include "layers/compute.h"

namespace tpbench {

class CudaCompute : public Compute {
 public:
  // tf32: f32 GEMMs may use TF32 tensor cores (cuBLAS TF32 math mode). Throws BackendError
  // without a usable GPU.
  explicit CudaCompute(bool tf32 = false);
  ~CudaCompute() override;
  CudaCompute(const CudaCompute&) = delete;
  CudaCompute& operator=(const CudaCompute&) = delete;

  void* stream() const { return stream_; }  // a cudaStream_t

  const char* name() const override { return tf32_ ? "cuda-tf32" : "cuda"; }
  MemoryType memory() const override { return MemoryType::kCuda; }
  Tensor NewTensor(const Shape& shape, DataType dtype) override;
  void Synchronize() override;
  Stream CommStream(bool async) const override;

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
  bool tf32_ = false;
  void* stream_ = nullptr;       // cudaStream_t
  void* comm_stream_ = nullptr;  // cudaStream_t: CommStream(true)
  void* producers_ = nullptr;    // cudaEvent_t recorded by CommStream(true)
  void* blas_ = nullptr;         // cublasHandle_t
};

// Registers the kCuda MemoryOps (cudaMalloc/cudaFree/cudaMemcpy2D) with layers/tensor.h; done
// when the library is linked (and by CudaCompute's constructor). Idempotent.
void RegisterCudaMemory();

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_CUDA_CUDA_COMPUTE_H_
