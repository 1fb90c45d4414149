// comm/cuda/cuda_graph.cc: see cuda_graph.h.
#include "comm/cuda/cuda_graph.h"

#include <cuda_runtime.h>

#include <string>
#include <thread>

#include "comm/cuda/cuda_check.h"
#include "comm/error.h"

namespace tpbench {

CudaGraph::CudaGraph(const std::function<void(void*)>& enqueue) {
  cudaStream_t s = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  stream_ = s;
  cudaEvent_t a = nullptr, b = nullptr;
  CUDA_CHECK(cudaEventCreate(&a));
  CUDA_CHECK(cudaEventCreate(&b));
  start_ = a;
  stop_ = b;
  CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
  cudaGraph_t g = nullptr;
  try {
    enqueue(s);
  } catch (...) {
    cudaStreamEndCapture(s, &g);
    if (g) cudaGraphDestroy(g);
    throw;
  }
  CUDA_CHECK(cudaStreamEndCapture(s, &g));
  graph_ = g;
  cudaGraphExec_t e = nullptr;
  CUDA_CHECK(cudaGraphInstantiate(&e, g, 0));
  exec_ = e;
}

CudaGraph::~CudaGraph() {
  cudaStream_t s = static_cast<cudaStream_t>(stream_);
  if (s) cudaStreamSynchronize(s);
  if (exec_) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  if (graph_) cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
  if (start_) cudaEventDestroy(static_cast<cudaEvent_t>(start_));
  if (stop_) cudaEventDestroy(static_cast<cudaEvent_t>(stop_));
  if (s) cudaStreamDestroy(s);
}

double CudaGraph::Replay(std::chrono::milliseconds timeout) {
  cudaStream_t s = static_cast<cudaStream_t>(stream_);
  cudaEvent_t a = static_cast<cudaEvent_t>(start_), b = static_cast<cudaEvent_t>(stop_);
  CUDA_CHECK(cudaEventRecord(a, s));
  CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), s));
  CUDA_CHECK(cudaEventRecord(b, s));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const cudaError_t q = cudaEventQuery(b);
    if (q == cudaSuccess) break;
    if (q != cudaErrorNotReady) CUDA_CHECK(q);
    if (std::chrono::steady_clock::now() > deadline) {
      throw TimeoutError("timeout after " + std::to_string(timeout.count()) +
                         " ms: a CUDA graph replay (--cuda-graph) did not complete");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  float ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
  return static_cast<double>(ms) * 1e-3;
}

}  // namespace tpbench
