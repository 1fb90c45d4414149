// layers/cuda/test_kernels.h: two one-thread kernels for stream-ordering tests
// (test_kernels.cu): spin until a word in mapped host memory holds a value, and store one.
// Plain C++ (streams as void*). Test-only.
#ifndef TPBENCH_LAYERS_CUDA_TEST_KERNELS_H_
#define TPBENCH_LAYERS_CUDA_TEST_KERNELS_H_

namespace tpbench {
namespace cuda_test {

// Enqueues a kernel that returns once *flag == value (flag: cudaHostAllocMapped memory).
void SpinUntil(int* flag, int value, void* stream);
// Enqueues a kernel that stores value into *flag.
void Store(int* flag, int value, void* stream);

}  // namespace cuda_test
}  // namespace tpbench

#endif  // TPBENCH_LAYERS_CUDA_TEST_KERNELS_H_
