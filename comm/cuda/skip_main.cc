// comm/cuda/skip_main.cc: the main of a GPU test in a build without --config=cuda: reports
// the test skipped (gpu_test.h). argv[1] names the test.
#include "comm/cuda/gpu_test.h"

int main(int argc, char** argv) {
  tpbench::SkipWithoutGpu(argc > 1 ? argv[1] : "gpu_test");
  return 0;
}
