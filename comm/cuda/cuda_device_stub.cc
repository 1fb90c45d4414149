// comm/cuda/cuda_device_stub.cc: cuda_device.h without --config=cuda: no GPU parts built.
#include <string>

#include "comm/cuda/cuda_device.h"
#include "comm/error.h"

namespace tpbench {

bool CudaBuilt() { return false; }

bool GpuAvailable(std::string* reason) {
  if (reason) *reason = "built without --config=cuda";
  return false;
}

CudaInfo QueryCuda() {
  CudaInfo info;
  info.error = "built without --config=cuda";
  return info;
}

DeviceBuffer::DeviceBuffer(size_t) {
  throw BackendError("device memory needs a build with --config=cuda");
}
DeviceBuffer::~DeviceBuffer() = default;
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  p_ = o.p_;
  bytes_ = o.bytes_;
  o.p_ = nullptr;
  return *this;
}
void DeviceBuffer::CopyFromHost(const void*, size_t) {}
void DeviceBuffer::CopyToHost(void*, size_t) const {}

}  // namespace tpbench
