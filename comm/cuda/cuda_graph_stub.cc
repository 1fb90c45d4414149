// comm/cuda/cuda_graph_stub.cc: cuda_graph.h without --config=cuda.
#include "comm/cuda/cuda_graph.h"
#include "comm/error.h"

namespace tpbench {

CudaGraph::CudaGraph(const std::function<void(void*)>&) {
  throw UsageError("--cuda-graph needs a build with --config=cuda");
}
CudaGraph::~CudaGraph() = default;
double CudaGraph::Replay(std::chrono::milliseconds) { return 0; }

}  // namespace tpbench
