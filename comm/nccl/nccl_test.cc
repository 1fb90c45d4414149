// comm/nccl/nccl_test.cc: the nccl backend on one rank (NCCL refuses two ranks on one GPU):
// every collective on device memory with small integers (exact in every dtype), the number of
// wrong elements counted and required to be 0; a split; CUDA-event durations; the payload
// counters. Without a GPU the test reports itself skipped (comm/cuda/gpu_test.h).
#include <cuda_runtime.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "comm/bootstrap.h"
#include "comm/communicator.h"
#include "comm/cuda/gpu_test.h"
#include "comm/nccl/nccl_communicator.h"
#include "comm/types.h"

namespace tpbench {
namespace {

int wrong = 0;

void Expect(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
    ++wrong;
  }
}

// Runs op on device buffers holding in[] and checks the result against want[].
void Check(const std::string& what, Communicator& c, const std::vector<float>& in,
           const std::vector<float>& want,
           const std::function<WorkPtr(Communicator&, float*, float*)>& op) {
  float *d_in = nullptr, *d_out = nullptr;
  cudaMalloc(&d_in, in.size() * sizeof(float) + 4);
  cudaMalloc(&d_out, want.size() * sizeof(float) + 4);
  cudaMemcpy(d_in, in.data(), in.size() * sizeof(float), cudaMemcpyHostToDevice);
  cudaMemset(d_out, 0, want.size() * sizeof(float));
  WorkPtr w = op(c, d_in, d_out);
  w->Wait();
  std::vector<float> got(want.size());
  cudaMemcpy(got.data(), d_out, got.size() * sizeof(float), cudaMemcpyDeviceToHost);
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) bad += got[i] != want[i];
  Expect(bad == 0, what + ": #wrong " + std::to_string(bad));
  Expect(w->DurationUs() > 0, what + ": no CUDA-event duration");
  std::printf("%-16s #wrong %d  %.1f us\n", what.c_str(), bad, w->DurationUs());
  cudaFree(d_in);
  cudaFree(d_out);
}

int Run() {
  std::unique_ptr<Communicator> world = CreateNcclWorld();
  Communicator& c = *world;
  Expect(c.size() == 1 && c.rank() == 0, "one rank");
  const std::vector<float> v = {1, 2, 3, 4, 5, 6, 7, 8};
  const size_t n = v.size();
  const DataType f = DataType::kF32;
  Check("all_reduce", c, v, v, [&](Communicator& k, float* i, float* o) {
    return k.AllReduce(i, o, n, f, ReduceOp::kSum);
  });
  Check("all_gather", c, v, v,
        [&](Communicator& k, float* i, float* o) { return k.AllGather(i, o, n, f); });
  Check("reduce_scatter", c, v, v, [&](Communicator& k, float* i, float* o) {
    return k.ReduceScatter(i, o, n, f, ReduceOp::kSum);
  });
  Check("broadcast", c, v, v,
        [&](Communicator& k, float* i, float* o) { return k.Broadcast(i, o, n, f, 0); });
  Check("reduce", c, v, v, [&](Communicator& k, float* i, float* o) {
    return k.Reduce(i, o, n, f, ReduceOp::kSum, 0);
  });
  Check("all_to_all", c, v, v,
        [&](Communicator& k, float* i, float* o) { return k.AllToAll(i, o, n, f); });
  Check("sendrecv", c, v, v,
        [&](Communicator& k, float* i, float* o) { return k.SendRecv(i, 0, o, 0, n, f); });
  Check("all_reduce avg", c, v, v, [&](Communicator& k, float* i, float* o) {
    return k.AllReduce(i, o, n, f, ReduceOp::kAvg);
  });
  c.Barrier()->Wait();
  Expect(c.counters().Get(OpKind::kAllReduce).msgs == 2, "all_reduce counted twice");
  std::unique_ptr<Communicator> sub = c.Split(0, 0);
  Expect(sub && sub->size() == 1 && sub->world_ranks() == std::vector<int>{0}, "split");
  if (sub) {
    Check("split all_reduce", *sub, v, v, [&](Communicator& k, float* i, float* o) {
      return k.AllReduce(i, o, n, f, ReduceOp::kSum);
    });
  }
  std::printf(wrong ? "FAILED\n" : "OK\n");
  return wrong ? 1 : 0;
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  if (tpbench::SkipWithoutGpu("nccl_test")) return 0;
  tpbench::Bootstrap::Init(&argc, &argv);
  const int rc = tpbench::Run();
  tpbench::Bootstrap::Finalize();
  return rc;
}
