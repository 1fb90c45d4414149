// comm/cuda/cuda_check.h: error checks for CUDA, cuBLAS and NCCL calls (CUDA builds only).
//
//   CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDefault, stream));
//   CUBLAS_CHECK(cublasSgemm(...));
//   NCCL_CHECK(ncclAllReduce(...));
//
// A failure throws BackendError (exit 3) naming the call, the file:line and the library's
// error string.
#ifndef TPBENCH_COMM_CUDA_CUDA_CHECK_H_
#define TPBENCH_COMM_CUDA_CUDA_CHECK_H_

#include <cuda_runtime.h>

#include <string>

#include "comm/error.h"

namespace tpbench {

[[noreturn]] void ThrowCudaError(const char* call, const char* file, int line, const char* what);

}  // namespace tpbench

#define CUDA_CHECK(call)                                                                      \
  do {                                                                                        \
    cudaError_t tp_cuda_err_ = (call);                                                        \
    if (tp_cuda_err_ != cudaSuccess) {                                                        \
      ::tpbench::ThrowCudaError(#call, __FILE__, __LINE__, cudaGetErrorString(tp_cuda_err_)); \
    }                                                                                         \
  } while (0)

#endif  // TPBENCH_COMM_CUDA_CUDA_CHECK_H_
