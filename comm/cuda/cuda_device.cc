// comm/cuda/cuda_device.cc: CudaBuilt, GpuAvailable, QueryCuda with the CUDA runtime, cuBLAS
// and NCCL (built with --config=cuda; cuda_device_stub.cc otherwise).
#include "comm/cuda/cuda_device.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <library_types.h>
#include <nccl.h>

#include <string>

#include "comm/cuda/cuda_check.h"
#include "comm/error.h"

namespace tpbench {

void ThrowCudaError(const char* call, const char* file, int line, const char* what) {
  throw BackendError(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                     what);
}

bool CudaBuilt() { return true; }

bool GpuAvailable(std::string* reason) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    if (reason) *reason = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(e);
    return false;
  }
  if (n == 0) {
    if (reason) *reason = "cudaGetDeviceCount: 0 devices";
    return false;
  }
  return true;
}

CudaInfo QueryCuda() {
  CudaInfo info;
  info.built = true;
  cudaRuntimeGetVersion(&info.runtime_version);
  cudaDriverGetVersion(&info.driver_version);
  ncclGetVersion(&info.nccl_version);
  int major = 0, minor = 0, patch = 0;
  if (cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS) {
    info.cublas_version = major * 10000 + minor * 100 + patch;
  }
  const cudaError_t e = cudaGetDeviceCount(&info.device_count);
  if (e != cudaSuccess) {
    info.device_count = 0;
    info.error = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(e);
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return info;
  }
  if (info.device_count > 0) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, 0) == cudaSuccess) info.gpu_model = p.name;
  }
  return info;
}

DeviceBuffer::DeviceBuffer(size_t bytes) : bytes_(bytes) {
  CUDA_CHECK(cudaMalloc(&p_, bytes ? bytes : 1));
  CUDA_CHECK(cudaMemset(p_, 0, bytes ? bytes : 1));
}

DeviceBuffer::~DeviceBuffer() {
  if (p_) cudaFree(p_);
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (p_) cudaFree(p_);
    p_ = o.p_;
    bytes_ = o.bytes_;
    o.p_ = nullptr;
  }
  return *this;
}

void DeviceBuffer::CopyFromHost(const void* src, size_t bytes) {
  if (bytes) CUDA_CHECK(cudaMemcpy(p_, src, bytes, cudaMemcpyHostToDevice));
}

void DeviceBuffer::CopyToHost(void* dst, size_t bytes) const {
  if (bytes) CUDA_CHECK(cudaMemcpy(dst, p_, bytes, cudaMemcpyDeviceToHost));
}

}  // namespace tpbench
