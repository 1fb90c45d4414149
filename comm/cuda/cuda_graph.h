// comm/cuda/cuda_graph.h: capture what a function enqueues on a CUDA stream into a CUDA graph
// and replay it (nccl-tests' -G), for //bench:collectives --cuda-graph. No CUDA header.
//
//   CudaGraph g([&](void* stream) {        // stream: a cudaStream_t being captured
//     for (int i = 0; i < 10; ++i) comm.Run(args, {"auto", Stream::Device(stream)});
//   });
//   double s = g.Replay(timeout);           // GPU seconds of the 10 captured ops
//
// Capture uses cudaStreamCaptureModeRelaxed (the communicator may create events while it
// enqueues); whatever the function enqueues must already have its resources (run it once
// uncaptured first: NCCL's lazy set-up and the NcclTransport's pair communicators and
// scratch must not happen inside a capture). Without --config=cuda the constructor throws
// UsageError. Builds; never ran on a GPU.
#ifndef TPBENCH_COMM_CUDA_CUDA_GRAPH_H_
#define TPBENCH_COMM_CUDA_CUDA_GRAPH_H_

#include <chrono>
#include <functional>

namespace tpbench {

class CudaGraph {
 public:
  explicit CudaGraph(const std::function<void(void* stream)>& enqueue);
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  // Launches the graph once on its stream and waits for it, polling; returns the time
  // between CUDA events around the launch, in seconds. Throws TimeoutError (exit 4) when it
  // has not finished after `timeout`.
  double Replay(std::chrono::milliseconds timeout);

 private:
  void* stream_ = nullptr;  // cudaStream_t
  void* graph_ = nullptr;   // cudaGraph_t
  void* exec_ = nullptr;    // cudaGraphExec_t
  void* start_ = nullptr;   // cudaEvent_t
  void* stop_ = nullptr;
};

}  // namespace tpbench

#endif  // TPBENCH_COMM_CUDA_CUDA_GRAPH_H_
