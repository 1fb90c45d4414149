// comm/cuda/cuda_version.cc: version strings (no CUDA header needed).
#include <string>

#include "comm/cuda/cuda_device.h"

namespace tpbench {

std::string CudaVersionString(int v) {
  if (v <= 0) return "";
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

std::string NcclVersionString(int v) {
  if (v <= 0) return "";
  // NCCL >= 2.9: major*10000 + minor*100 + patch.
  return std::to_string(v / 10000) + "." + std::to_string((v % 10000) / 100) + "." +
         std::to_string(v % 100);
}

}  // namespace tpbench
