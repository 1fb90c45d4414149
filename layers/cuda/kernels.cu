// layers/cuda/kernels.cu: the CUDA kernels behind CudaCompute. See kernels.h. Reductions
// accumulate in double, as HostCompute does, so f32 results match it to rounding.
// Row kernels use one block of kThreads threads per row.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "layers/cuda/kernels.h"

namespace tpbench {
namespace cuda_kernels {
namespace {

constexpr int kThreads = 256;

cudaStream_t S(void* s) { return static_cast<cudaStream_t>(s); }

unsigned Blocks(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 65535 ? (b > 0 ? b : 1) : 65535);
}

// Sum of v over the block (kThreads threads); every thread gets the result.
__device__ double BlockSum(double v) {
  __shared__ double buf[kThreads];
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) buf[threadIdx.x] += buf[threadIdx.x + w];
    __syncthreads();
  }
  const double r = buf[0];
  __syncthreads();
  return r;
}

__device__ double BlockMax(double v) {
  __shared__ double buf[kThreads];
  buf[threadIdx.x] = v;
  __syncthreads();
  for (int w = kThreads / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) buf[threadIdx.x] = fmax(buf[threadIdx.x], buf[threadIdx.x + w]);
    __syncthreads();
  }
  const double r = buf[0];
  __syncthreads();
  return r;
}

template <typename T>
__device__ T GeluOf(T x) {
  const T c = static_cast<T>(0.7978845608028654);  // sqrt(2/pi)
  return T(0.5) * x * (T(1) + tanh(c * (x + T(0.044715) * x * x * x)));
}

template <typename T>
__device__ T GeluGradOf(T x) {
  const T c = static_cast<T>(0.7978845608028654);
  const T u = c * (x + T(0.044715) * x * x * x);
  const T t = tanh(u);
  return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * c * (T(1) + T(3 * 0.044715) * x * x);
}

#define TP_GRID_LOOP(i, n)                                                  \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); \
       i += int64_t(blockDim.x) * gridDim.x)

template <typename T>
__global__ void AddBiasK(const T* bias, T* y, int64_t R, int64_t C) {
  TP_GRID_LOOP(i, R * C) { y[i] += bias[i % C]; }
}

template <typename T>
__global__ void BiasGradK(const T* dy, T* dbias, int64_t R, int64_t C) {
  TP_GRID_LOOP(j, C) {
    double acc = 0;
    for (int64_t r = 0; r < R; ++r) acc += dy[r * C + j];
    dbias[j] = static_cast<T>(acc);
  }
}

template <typename T>
__global__ void GeluFwdK(const T* x, T* y, int64_t n) {
  TP_GRID_LOOP(i, n) { y[i] = GeluOf(x[i]); }
}

template <typename T>
__global__ void GeluBwdK(const T* x, const T* dy, T* dx, int64_t n) {
  TP_GRID_LOOP(i, n) { dx[i] = GeluGradOf(x[i]) * dy[i]; }
}

template <typename T>
__global__ void SoftmaxFwdK(const T* x, T* y, int64_t C, bool causal) {
  const int64_t r = blockIdx.x;
  const int64_t n = causal ? (r % C) + 1 : C;
  const T* xr = x + r * C;
  T* yr = y + r * C;
  double mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) mx = fmax(mx, double(xr[j]));
  const T m = static_cast<T>(BlockMax(mx));
  double sum = 0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const T e = exp(xr[j] - m);
    yr[j] = e;
    sum += e;
  }
  const T inv = static_cast<T>(1.0 / BlockSum(sum));
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) yr[j] = j < n ? yr[j] * inv : T(0);
}

template <typename T>
__global__ void SoftmaxBwdK(const T* y, const T* dy, T* dx, int64_t C) {
  const int64_t o = blockIdx.x * C;
  double dot = 0;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) dot += double(dy[o + j]) * y[o + j];
  const T d = static_cast<T>(BlockSum(dot));
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) dx[o + j] = y[o + j] * (dy[o + j] - d);
}

template <typename T>
__global__ void LnFwdK(const T* x, const T* gamma, const T* beta, double eps, T* y, T* mean,
                       T* rstd, int64_t C) {
  const int64_t r = blockIdx.x;
  const T* xr = x + r * C;
  double s = 0;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) s += xr[j];
  const double mu = BlockSum(s) / C;
  double v = 0;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) v += (xr[j] - mu) * (xr[j] - mu);
  const double rs = 1.0 / sqrt(BlockSum(v) / C + eps);
  if (threadIdx.x == 0) {
    mean[r] = static_cast<T>(mu);
    rstd[r] = static_cast<T>(rs);
  }
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
    y[r * C + j] = static_cast<T>((xr[j] - mu) * rs) * gamma[j] + beta[j];
  }
}

// dx of one row from the row sums a = sum(g)/h, c = sum(g*xhat)/h (g = dy*gamma).
template <typename T>
__device__ void LnDxRow(const T* xr, const T* gamma, const T* gyr, double mu, double rs, double a,
                        double c, T* dxr, int64_t C) {
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
    const double xh = (xr[j] - mu) * rs;
    const double gx = double(gyr[j]) * gamma[j];
    dxr[j] = static_cast<T>(rs * (gx - a - xh * c));
  }
}

template <typename T>
__global__ void LnBwdDxK(const T* x, const T* gamma, const T* mean, const T* rstd, const T* dy,
                         T* dx, int64_t C) {
  const int64_t r = blockIdx.x;
  const double mu = mean[r], rs = rstd[r];
  double m1 = 0, m2 = 0;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
    const double xh = (x[r * C + j] - mu) * rs;
    const double gx = double(dy[r * C + j]) * gamma[j];
    m1 += gx;
    m2 += gx * xh;
  }
  const double a = BlockSum(m1) / C, c = BlockSum(m2) / C;
  LnDxRow(x + r * C, gamma, dy + r * C, mu, rs, a, c, dx + r * C, C);
}

// dgamma[j] = sum_r dy xhat, dbeta[j] = sum_r dy (one thread per column).
template <typename T>
__global__ void LnParamGradK(const T* x, const T* mean, const T* rstd, const T* dy, T* dgamma,
                             T* dbeta, int64_t R, int64_t C) {
  TP_GRID_LOOP(j, C) {
    double g = 0, b = 0;
    for (int64_t r = 0; r < R; ++r) {
      const double xh = (x[r * C + j] - double(mean[r])) * double(rstd[r]);
      g += double(dy[r * C + j]) * xh;
      b += dy[r * C + j];
    }
    dgamma[j] = static_cast<T>(g);
    dbeta[j] = static_cast<T>(b);
  }
}

template <typename T>
__global__ void LnStatsK(const T* x, T* stats, int64_t R, int64_t C) {
  const int64_t r = blockIdx.x;
  double s1 = 0, s2 = 0;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
    const double v = x[r * C + j];
    s1 += v;
    s2 += v * v;
  }
  s1 = BlockSum(s1);
  s2 = BlockSum(s2);
  if (threadIdx.x == 0) {
    stats[r] = static_cast<T>(s1);
    stats[R + r] = static_cast<T>(s2);
  }
}

template <typename T>
__global__ void LnApplyK(const T* x, const T* stats, int64_t h, double eps, const T* gamma,
                         const T* beta, T* y, T* mean, T* rstd, int64_t R, int64_t C) {
  const int64_t r = blockIdx.x;
  const double mu = double(stats[r]) / double(h);
  const double var = double(stats[R + r]) / double(h) - mu * mu;
  const double rs = 1.0 / sqrt(var + eps);
  if (threadIdx.x == 0) {
    mean[r] = static_cast<T>(mu);
    rstd[r] = static_cast<T>(rs);
  }
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
    y[r * C + j] = static_cast<T>((x[r * C + j] - mu) * rs) * gamma[j] + beta[j];
  }
}

template <typename T>
__global__ void LnBwdStatsK(const T* x, const T* gamma, const T* mean, const T* rstd, const T* dy,
                            T* stats, int64_t R, int64_t C) {
  const int64_t r = blockIdx.x;
  const double mu = mean[r], rs = rstd[r];
  double s1 = 0, s2 = 0;
  for (int64_t j = threadIdx.x; j < C; j += blockDim.x) {
    const double gx = double(dy[r * C + j]) * gamma[j];
    s1 += gx;
    s2 += gx * (x[r * C + j] - mu) * rs;
  }
  s1 = BlockSum(s1);
  s2 = BlockSum(s2);
  if (threadIdx.x == 0) {
    stats[r] = static_cast<T>(s1);
    stats[R + r] = static_cast<T>(s2);
  }
}

template <typename T>
__global__ void LnBwdApplyDxK(const T* x, const T* gamma, const T* mean, const T* rstd, const T* dy,
                              const T* stats, int64_t h, T* dx, int64_t R, int64_t C) {
  const int64_t r = blockIdx.x;
  const double a = double(stats[r]) / double(h), c = double(stats[R + r]) / double(h);
  LnDxRow(x + r * C, gamma, dy + r * C, double(mean[r]), double(rstd[r]), a, c, dx + r * C, C);
}

template <typename T>
__global__ void AddK(const T* a, const T* b, T* out, int64_t n) {
  TP_GRID_LOOP(i, n) { out[i] = a[i] + b[i]; }
}

template <typename T>
__global__ void AxpyK(T alpha, const T* x, T* y, int64_t n) {
  TP_GRID_LOOP(i, n) { y[i] += alpha * x[i]; }
}

template <typename T>
__global__ void ScaleK(T alpha, const T* x, T* y, int64_t n) {
  TP_GRID_LOOP(i, n) { y[i] = alpha * x[i]; }
}

// Element i of the head layout [b*nh*s, hd]: ((bi*nh + n)*s + si)*hd + d.
template <typename T>
__global__ void PermuteHeadsK(T* rows, int64_t width, T* heads, int64_t b, int64_t s, int64_t nh,
                              int64_t hd, int64_t stride, int64_t offset, bool to_heads) {
  TP_GRID_LOOP(i, b * nh * s * hd) {
    const int64_t d = i % hd, si = (i / hd) % s, n = (i / (hd * s)) % nh, bi = i / (hd * s * nh);
    T* rp = rows + (bi * s + si) * width + n * stride + offset + d;
    if (to_heads) {
      heads[i] = *rp;
    } else {
      *rp = heads[i];
    }
  }
}

}  // namespace

template <typename T>
void AddBias(const T* bias, T* y, int64_t R, int64_t C, void* stream) {
  AddBiasK<T><<<Blocks(R * C), kThreads, 0, S(stream)>>>(bias, y, R, C);
}
template <typename T>
void BiasGrad(const T* dy, T* dbias, int64_t R, int64_t C, void* stream) {
  BiasGradK<T><<<Blocks(C), kThreads, 0, S(stream)>>>(dy, dbias, R, C);
}
template <typename T>
void GeluForward(const T* x, T* y, int64_t n, void* stream) {
  GeluFwdK<T><<<Blocks(n), kThreads, 0, S(stream)>>>(x, y, n);
}
template <typename T>
void GeluBackward(const T* x, const T* dy, T* dx, int64_t n, void* stream) {
  GeluBwdK<T><<<Blocks(n), kThreads, 0, S(stream)>>>(x, dy, dx, n);
}
template <typename T>
void SoftmaxForward(const T* x, T* y, int64_t R, int64_t C, bool causal, void* stream) {
  if (R > 0 && C > 0) SoftmaxFwdK<T><<<R, kThreads, 0, S(stream)>>>(x, y, C, causal);
}
template <typename T>
void SoftmaxBackward(const T* y, const T* dy, T* dx, int64_t R, int64_t C, void* stream) {
  if (R > 0 && C > 0) SoftmaxBwdK<T><<<R, kThreads, 0, S(stream)>>>(y, dy, dx, C);
}
template <typename T>
void LayerNormForward(const T* x, const T* gamma, const T* beta, double eps, T* y, T* mean, T* rstd,
                      int64_t R, int64_t C, void* stream) {
  if (R > 0) LnFwdK<T><<<R, kThreads, 0, S(stream)>>>(x, gamma, beta, eps, y, mean, rstd, C);
}
template <typename T>
void LayerNormBackward(const T* x, const T* gamma, const T* mean, const T* rstd, const T* dy, T* dx,
                       T* dgamma, T* dbeta, int64_t R, int64_t C, void* stream) {
  if (R > 0) LnBwdDxK<T><<<R, kThreads, 0, S(stream)>>>(x, gamma, mean, rstd, dy, dx, C);
  LnParamGradK<T><<<Blocks(C), kThreads, 0, S(stream)>>>(x, mean, rstd, dy, dgamma, dbeta, R, C);
}
template <typename T>
void LayerNormStats(const T* x, T* stats, int64_t R, int64_t C, void* stream) {
  if (R > 0) LnStatsK<T><<<R, kThreads, 0, S(stream)>>>(x, stats, R, C);
}
template <typename T>
void LayerNormApply(const T* x, const T* stats, int64_t h_total, double eps, const T* gamma,
                    const T* beta, T* y, T* mean, T* rstd, int64_t R, int64_t C, void* stream) {
  if (R > 0) {
    LnApplyK<T>
        <<<R, kThreads, 0, S(stream)>>>(x, stats, h_total, eps, gamma, beta, y, mean, rstd, R, C);
  }
}
template <typename T>
void LayerNormBackwardStats(const T* x, const T* gamma, const T* mean, const T* rstd, const T* dy,
                            T* stats, int64_t R, int64_t C, void* stream) {
  if (R > 0) LnBwdStatsK<T><<<R, kThreads, 0, S(stream)>>>(x, gamma, mean, rstd, dy, stats, R, C);
}
template <typename T>
void LayerNormBackwardApply(const T* x, const T* gamma, const T* mean, const T* rstd, const T* dy,
                            const T* stats, int64_t h_total, T* dx, T* dgamma, T* dbeta, int64_t R,
                            int64_t C, void* stream) {
  if (R > 0) {
    LnBwdApplyDxK<T>
        <<<R, kThreads, 0, S(stream)>>>(x, gamma, mean, rstd, dy, stats, h_total, dx, R, C);
  }
  LnParamGradK<T><<<Blocks(C), kThreads, 0, S(stream)>>>(x, mean, rstd, dy, dgamma, dbeta, R, C);
}
template <typename T>
void Add(const T* a, const T* b, T* out, int64_t n, void* stream) {
  AddK<T><<<Blocks(n), kThreads, 0, S(stream)>>>(a, b, out, n);
}
template <typename T>
void Axpy(double alpha, const T* x, T* y, int64_t n, void* stream) {
  AxpyK<T><<<Blocks(n), kThreads, 0, S(stream)>>>(static_cast<T>(alpha), x, y, n);
}
template <typename T>
void ScaledCopy(double alpha, const T* x, T* y, int64_t n, void* stream) {
  ScaleK<T><<<Blocks(n), kThreads, 0, S(stream)>>>(static_cast<T>(alpha), x, y, n);
}
template <typename T>
void PermuteHeads(T* rows, int64_t width, T* heads, int64_t b, int64_t s, int64_t nh, int64_t hd,
                  int64_t stride, int64_t offset, bool to_heads, void* stream) {
  PermuteHeadsK<T><<<Blocks(b * nh * s * hd), kThreads, 0, S(stream)>>>(
      rows, width, heads, b, s, nh, hd, stride, offset, to_heads);
}

#define TP_INSTANTIATE(T)                                                                          \
  template void AddBias<T>(const T*, T*, int64_t, int64_t, void*);                                 \
  template void BiasGrad<T>(const T*, T*, int64_t, int64_t, void*);                                \
  template void GeluForward<T>(const T*, T*, int64_t, void*);                                      \
  template void GeluBackward<T>(const T*, const T*, T*, int64_t, void*);                           \
  template void SoftmaxForward<T>(const T*, T*, int64_t, int64_t, bool, void*);                    \
  template void SoftmaxBackward<T>(const T*, const T*, T*, int64_t, int64_t, void*);               \
  template void LayerNormForward<T>(const T*, const T*, const T*, double, T*, T*, T*, int64_t,     \
                                    int64_t, void*);                                               \
  template void LayerNormBackward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*, \
                                     int64_t, int64_t, void*);                                     \
  template void LayerNormStats<T>(const T*, T*, int64_t, int64_t, void*);                          \
  template void LayerNormApply<T>(const T*, const T*, int64_t, double, const T*, const T*, T*, T*, \
                                  T*, int64_t, int64_t, void*);                                    \
  template void LayerNormBackwardStats<T>(const T*, const T*, const T*, const T*, const T*, T*,    \
                                          int64_t, int64_t, void*);                                \
  template void LayerNormBackwardApply<T>(const T*, const T*, const T*, const T*, const T*,        \
                                          const T*, int64_t, T*, T*, T*, int64_t, int64_t, void*); \
  template void Add<T>(const T*, const T*, T*, int64_t, void*);                                    \
  template void Axpy<T>(double, const T*, T*, int64_t, void*);                                     \
  template void ScaledCopy<T>(double, const T*, T*, int64_t, void*);                               \
  template void PermuteHeads<T>(T*, int64_t, T*, int64_t, int64_t, int64_t, int64_t, int64_t,      \
                                int64_t, bool, void*);

TP_INSTANTIATE(float)
TP_INSTANTIATE(double)

namespace {

template <typename H>
__device__ float ToF(H v);
template <>
__device__ float ToF<__half>(__half v) {
  return __half2float(v);
}
template <>
__device__ float ToF<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
template <typename H>
__device__ H FromF(float v);
template <>
__device__ __half FromF<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __nv_bfloat16 FromF<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

template <typename H>
__global__ void HalfToFloatKernel(const H* src, float* dst, int64_t n) {
  TP_GRID_LOOP(i, n) { dst[i] = ToF<H>(src[i]); }
}
template <typename H>
__global__ void FloatToHalfKernel(const float* src, H* dst, int64_t n) {
  TP_GRID_LOOP(i, n) { dst[i] = FromF<H>(src[i]); }
}

}  // namespace

void HalfToFloat(const void* src, bool bf16, float* dst, int64_t n, void* stream) {
  if (n <= 0) return;
  if (bf16) {
    HalfToFloatKernel<<<Blocks(n), kThreads, 0, S(stream)>>>(static_cast<const __nv_bfloat16*>(src),
                                                             dst, n);
  } else {
    HalfToFloatKernel<<<Blocks(n), kThreads, 0, S(stream)>>>(static_cast<const __half*>(src), dst,
                                                             n);
  }
}

void FloatToHalf(const float* src, bool bf16, void* dst, int64_t n, void* stream) {
  if (n <= 0) return;
  if (bf16) {
    FloatToHalfKernel<<<Blocks(n), kThreads, 0, S(stream)>>>(src, static_cast<__nv_bfloat16*>(dst),
                                                             n);
  } else {
    FloatToHalfKernel<<<Blocks(n), kThreads, 0, S(stream)>>>(src, static_cast<__half*>(dst), n);
  }
}

}  // namespace cuda_kernels
}  // namespace tpbench
