// layers/cuda/kernels.h: launchers of the CUDA kernels behind CudaCompute (kernels.cu). Plain
// C++ (no CUDA header): streams are passed as void* (a cudaStream_t). T is float or double;
// every pointer is device memory; matrices are row-major [R, C]. Each launcher enqueues on
// stream and returns at once; launch errors are reported by the caller's next CUDA check.
// The semantics are HostCompute's (layers/compute.h), element for element.
#ifndef TPBENCH_LAYERS_CUDA_KERNELS_H_
#define TPBENCH_LAYERS_CUDA_KERNELS_H_

#include <cstdint>

namespace tpbench {
namespace cuda_kernels {

// y[r, j] += bias[j].
template <typename T>
void AddBias(const T* bias, T* y, int64_t R, int64_t C, void* stream);
// dbias[j] = sum_r dy[r, j].
template <typename T>
void BiasGrad(const T* dy, T* dbias, int64_t R, int64_t C, void* stream);
// y = gelu(x); dx = gelu'(x) dy (tanh approximation).
template <typename T>
void GeluForward(const T* x, T* y, int64_t n, void* stream);
template <typename T>
void GeluBackward(const T* x, const T* dy, T* dx, int64_t n, void* stream);
// Row softmax, causal: row r sees keys 0..(r mod C).
template <typename T>
void SoftmaxForward(const T* x, T* y, int64_t R, int64_t C, bool causal, void* stream);
template <typename T>
void SoftmaxBackward(const T* y, const T* dy, T* dx, int64_t R, int64_t C, void* stream);
// LayerNorm over rows; mean, rstd [R].
template <typename T>
void LayerNormForward(const T* x, const T* gamma, const T* beta, double eps, T* y, T* mean, T* rstd,
                      int64_t R, int64_t C, void* stream);
template <typename T>
void LayerNormBackward(const T* x, const T* gamma, const T* mean, const T* rstd, const T* dy, T* dx,
                       T* dgamma, T* dbeta, int64_t R, int64_t C, void* stream);
// The split-hidden variant (compute.h): stats [2, R].
template <typename T>
void LayerNormStats(const T* x, T* stats, int64_t R, int64_t C, void* stream);
template <typename T>
void LayerNormApply(const T* x, const T* stats, int64_t h_total, double eps, const T* gamma,
                    const T* beta, T* y, T* mean, T* rstd, int64_t R, int64_t C, void* stream);
template <typename T>
void LayerNormBackwardStats(const T* x, const T* gamma, const T* mean, const T* rstd, const T* dy,
                            T* stats, int64_t R, int64_t C, void* stream);
template <typename T>
void LayerNormBackwardApply(const T* x, const T* gamma, const T* mean, const T* rstd, const T* dy,
                            const T* stats, int64_t h_total, T* dx, T* dgamma, T* dbeta, int64_t R,
                            int64_t C, void* stream);
// out = a + b; y += alpha x; y = alpha x (out/y may alias the inputs).
template <typename T>
void Add(const T* a, const T* b, T* out, int64_t n, void* stream);
template <typename T>
void Axpy(double alpha, const T* x, T* y, int64_t n, void* stream);
template <typename T>
void ScaledCopy(double alpha, const T* x, T* y, int64_t n, void* stream);
// hd-wide blocks between a [b*s, width] row layout and a [b*nh*s, hd] head layout; head n's
// block of a row starts at column n*stride + offset (HostCompute's PermuteHeadsT).
template <typename T>
void PermuteHeads(T* rows, int64_t width, T* heads, int64_t b, int64_t s, int64_t nh, int64_t hd,
                  int64_t stride, int64_t offset, bool to_heads, void* stream);

// f16/bf16 storage <-> f32 (bf16: true for bf16, false for f16); to the 16-bit type rounds to
// nearest even. CudaCompute runs the ops above on f16/bf16 tensors through f32 copies.
void HalfToFloat(const void* src, bool bf16, float* dst, int64_t n, void* stream);
void FloatToHalf(const float* src, bool bf16, void* dst, int64_t n, void* stream);

}  // namespace cuda_kernels
}  // namespace tpbench

#endif  // TPBENCH_LAYERS_CUDA_KERNELS_H_
