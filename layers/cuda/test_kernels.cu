// layers/cuda/test_kernels.cu: see test_kernels.h.
#include <cuda_runtime.h>

#include "layers/cuda/test_kernels.h"

namespace tpbench {
namespace cuda_test {
namespace {

__global__ void SpinKernel(volatile int* flag, int value) {
  while (*flag != value) {
  }
}

__global__ void StoreKernel(volatile int* flag, int value) {
  *flag = value;
  __threadfence_system();
}

}  // namespace

void SpinUntil(int* flag, int value, void* stream) {
  SpinKernel<<<1, 1, 0, static_cast<cudaStream_t>(stream)>>>(flag, value);
}

void Store(int* flag, int value, void* stream) {
  StoreKernel<<<1, 1, 0, static_cast<cudaStream_t>(stream)>>>(flag, value);
}

}  // namespace cuda_test
}  // namespace tpbench
