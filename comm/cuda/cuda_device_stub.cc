// comm/cuda/cuda_device_stub.cc: cuda_device.h without --config=cuda: no GPU parts built.
#include <string>

#include "comm/cuda/cuda_device.h"

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

}  // namespace tpbench
