// comm/cuda/device_reduce.cu: see device_reduce.h. Grid-stride loops, one kernel per call.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "comm/cuda/device_reduce.h"

namespace tpbench {
namespace {

// Mirrors of comm/types.h's enum values (DataType, ReduceOp); device_reduce.h says why.
enum Dtype { kF32, kF64, kF16, kBF16, kI8, kU8, kI32, kI64 };
enum Op { kSum, kProd, kMin, kMax, kAvg };

// The accumulation type of each storage type (comm/reduce.cc's Acc) and the conversions.
template <typename T>
struct Arith {
  using Acc = T;
  __device__ static Acc Load(T v) { return v; }
  __device__ static T Store(Acc v) { return v; }
};
template <>
struct Arith<__half> {
  using Acc = float;
  __device__ static float Load(__half v) { return __half2float(v); }
  __device__ static __half Store(float v) { return __float2half_rn(v); }
};
template <>
struct Arith<__nv_bfloat16> {
  using Acc = float;
  __device__ static float Load(__nv_bfloat16 v) { return __bfloat162float(v); }
  __device__ static __nv_bfloat16 Store(float v) { return __float2bfloat16_rn(v); }
};
template <>
struct Arith<int8_t> {
  using Acc = int;
  __device__ static int Load(int8_t v) { return v; }
  __device__ static int8_t Store(int v) { return static_cast<int8_t>(v); }
};
template <>
struct Arith<uint8_t> {
  using Acc = unsigned;
  __device__ static unsigned Load(uint8_t v) { return v; }
  __device__ static uint8_t Store(unsigned v) { return static_cast<uint8_t>(v); }
};

template <typename Acc>
__device__ Acc Combine(Acc u, Acc v, int op) {
  switch (op) {
    case kProd: return u * v;
    case kMin: return (v < u) ? v : u;  // std::min(u, v)
    case kMax: return (u < v) ? v : u;  // std::max(u, v)
    default: return u + v;              // kSum, kAvg
  }
}

template <typename T>
__global__ void ReduceKernel(T* out, const T* a, const T* b, size_t n, int op) {
  using A = Arith<T>;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    out[i] = A::Store(Combine(A::Load(a[i]), A::Load(b[i]), op));
  }
}

template <typename T>
__global__ void DivideKernel(T* buf, size_t n, int d) {
  using A = Arith<T>;
  using Acc = typename A::Acc;
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    buf[i] = A::Store(A::Load(buf[i]) / static_cast<Acc>(d));
  }
}

constexpr int kThreads = 256;

unsigned Blocks(size_t n) {
  const size_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 4096 ? (b == 0 ? 1 : b) : 4096);
}

template <typename T>
int LaunchReduce(void* out, const void* a, const void* b, size_t n, int op, void* stream) {
  ReduceKernel<T><<<Blocks(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      static_cast<T*>(out), static_cast<const T*>(a), static_cast<const T*>(b), n, op);
  return static_cast<int>(cudaGetLastError());
}

template <typename T>
int LaunchDivide(void* buf, size_t n, int d, void* stream) {
  DivideKernel<T>
      <<<Blocks(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(static_cast<T*>(buf), n, d);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int DeviceReduce(void* out, const void* a, const void* b, size_t n, int dtype, int op,
                 void* stream) {
  if (n == 0) return 0;
  switch (dtype) {
    case kF32: return LaunchReduce<float>(out, a, b, n, op, stream);
    case kF64: return LaunchReduce<double>(out, a, b, n, op, stream);
    case kF16: return LaunchReduce<__half>(out, a, b, n, op, stream);
    case kBF16: return LaunchReduce<__nv_bfloat16>(out, a, b, n, op, stream);
    case kI8: return LaunchReduce<int8_t>(out, a, b, n, op, stream);
    case kU8: return LaunchReduce<uint8_t>(out, a, b, n, op, stream);
    case kI32: return LaunchReduce<int32_t>(out, a, b, n, op, stream);
    case kI64: return LaunchReduce<int64_t>(out, a, b, n, op, stream);
  }
  return static_cast<int>(cudaErrorInvalidValue);
}

int DeviceDivide(void* buf, size_t n, int dtype, int d, void* stream) {
  if (n == 0) return 0;
  switch (dtype) {
    case kF32: return LaunchDivide<float>(buf, n, d, stream);
    case kF64: return LaunchDivide<double>(buf, n, d, stream);
    case kF16: return LaunchDivide<__half>(buf, n, d, stream);
    case kBF16: return LaunchDivide<__nv_bfloat16>(buf, n, d, stream);
    case kI8: return LaunchDivide<int8_t>(buf, n, d, stream);
    case kU8: return LaunchDivide<uint8_t>(buf, n, d, stream);
    case kI32: return LaunchDivide<int32_t>(buf, n, d, stream);
    case kI64: return LaunchDivide<int64_t>(buf, n, d, stream);
  }
  return static_cast<int>(cudaErrorInvalidValue);
}

}  // namespace tpbench
