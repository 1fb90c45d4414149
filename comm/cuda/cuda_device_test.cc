// comm/cuda/cuda_device_test.cc: QueryCuda on a GPU (device count, model, versions); without
// one the test reports itself skipped (gpu_test.h). Also checks the version strings, which
// need no GPU, before deciding.
#include "comm/cuda/cuda_device.h"

#include <cstdio>
#include <string>

#include "comm/cuda/gpu_test.h"

namespace {

int Fail(const std::string& m) {
  std::fprintf(stderr, "FAIL: %s\n", m.c_str());
  return 1;
}

}  // namespace

int main() {
  using tpbench::CudaVersionString;
  using tpbench::NcclVersionString;
  if (CudaVersionString(13000) != "13.0") return Fail("CudaVersionString(13000)");
  if (NcclVersionString(22809) != "2.28.9") return Fail("NcclVersionString(22809)");
  if (tpbench::SkipWithoutGpu("cuda_device_test")) return 0;
  const tpbench::CudaInfo info = tpbench::QueryCuda();
  if (info.device_count < 1) return Fail("device_count " + std::to_string(info.device_count));
  if (info.gpu_model.empty()) return Fail("empty gpu_model");
  if (info.runtime_version < 13000) return Fail("runtime version");
  if (info.nccl_version <= 0) return Fail("nccl version");
  std::printf("OK: %d GPU(s), %s, CUDA %s, driver %s, NCCL %s\n", info.device_count,
              info.gpu_model.c_str(), CudaVersionString(info.runtime_version).c_str(),
              CudaVersionString(info.driver_version).c_str(),
              NcclVersionString(info.nccl_version).c_str());
  return 0;
}
