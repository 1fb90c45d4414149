// comm/cuda/cuda_device.h: what every GPU part of tpbench asks first: was this binary built
// with --config=cuda, is there a usable GPU, and which versions and model. Includes no CUDA
// header, so host-only code and host-only builds can call it (then CudaBuilt() is false).
//
//   std::string why;
//   if (!GpuAvailable(&why)) { std::printf("SKIPPED: no GPU (%s)\n", why.c_str()); return 0; }
//   CudaInfo info = QueryCuda();   // versions and GPU model for the JSON context
#ifndef TPBENCH_COMM_CUDA_CUDA_DEVICE_H_
#define TPBENCH_COMM_CUDA_CUDA_DEVICE_H_

#include <cstddef>
#include <string>

namespace tpbench {

// True when this binary was built with --config=cuda (the CUDA parts are linked in).
bool CudaBuilt();

// True when a CUDA device can be used; otherwise *reason (if given) says why, e.g. "built
// without --config=cuda" or "cudaGetDeviceCount: CUDA driver version is insufficient ...".
bool GpuAvailable(std::string* reason = nullptr);

struct CudaInfo {
  bool built = false;       // --config=cuda
  int runtime_version = 0;  // cudaRuntimeGetVersion, e.g. 13000
  int driver_version = 0;   // cudaDriverGetVersion (0 without a driver)
  int nccl_version = 0;     // ncclGetVersion, e.g. 22809
  int cublas_version = 0;   // cublasGetProperty major*10000 + minor*100 + patch
  int device_count = 0;     // 0 without a GPU
  std::string gpu_model;    // device 0's name, "" without a GPU
  std::string error;        // why device_count is 0, if it is
};
CudaInfo QueryCuda();

// "13.0" from 13000 (CUDA's encoding); "2.28.9" from 22809 (NCCL's).
std::string CudaVersionString(int v);
std::string NcclVersionString(int v);

// Device memory for host-side tools (benchmark buffers): cudaMalloc'd on the current device,
// zeroed, freed with the object. Copies are synchronous. Throws BackendError without
// --config=cuda or without a GPU.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  char* data() const { return static_cast<char*>(p_); }
  size_t bytes() const { return bytes_; }
  void CopyFromHost(const void* src, size_t bytes);
  void CopyToHost(void* dst, size_t bytes) const;

 private:
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace tpbench

#endif  // TPBENCH_COMM_CUDA_CUDA_DEVICE_H_
