// comm/cuda/gpu_test.h: how a GPU test reports "skipped" to Bazel 4, which has no skipped
// status: without a usable GPU it prints "SKIPPED: no GPU (<reason>)", writes a JUnit file
// with one <skipped/> test case to $XML_OUTPUT_FILE (what Bazel shows in test.xml), and the
// test exits 0. Tag GPU tests "cuda" (docs/gpu.md).
//
//   int main(int argc, char** argv) {
//     if (SkipWithoutGpu("cuda_compute_test")) return 0;
//     ::testing::InitGoogleTest(&argc, argv);
//     return RUN_ALL_TESTS();
//   }
#ifndef TPBENCH_COMM_CUDA_GPU_TEST_H_
#define TPBENCH_COMM_CUDA_GPU_TEST_H_

#include <string>

namespace tpbench {

// True (and the skip reported) when no GPU can be used.
bool SkipWithoutGpu(const std::string& test_name);
// Writes the skipped JUnit file (no-op when $XML_OUTPUT_FILE is unset).
void WriteSkippedJunit(const std::string& test_name, const std::string& reason);

}  // namespace tpbench

#endif  // TPBENCH_COMM_CUDA_GPU_TEST_H_
