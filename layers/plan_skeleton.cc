// layers/plan_skeleton.cc: see plan_skeleton.h.
#include "layers/plan_skeleton.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "comm/bootstrap.h"
#include "comm/error.h"

namespace tpbench {

// --- Skeleton ---

PlanSkeleton::PlanSkeleton(Mesh* mesh, CommPlan plan, DataType dtype)
    : mesh_(mesh), plan_(std::move(plan)), dtype_(dtype) {
  int64_t most = 0;
  for (const CommOp& o : plan_.ops) {
    most = std::max(most, o.n);
    mesh_->Group(plan_.groups.at(o.group));  // every group split up front, in plan order
  }
  const size_t bytes = static_cast<size_t>(most) * DataTypeSize(dtype);
  device_ = mesh_->comm().device_memory();
  if (device_) {
    da_ = DeviceBuffer(std::max<size_t>(bytes, 1));  // zeroed
    db_ = DeviceBuffer(std::max<size_t>(bytes, 1));
  } else {
    a_.assign(bytes, 0);
    b_.assign(bytes, 0);
  }
}

uint64_t PlanSkeleton::ModelBytesPerRank() const {
  return PlanBytesPerRank(plan_, mesh_->shape(), dtype_);
}

void PlanSkeleton::Run(size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    const CommOp& o = plan_.ops[i];
    Communicator& g = mesh_->Group(plan_.groups.at(o.group));
    const OpOptions opt{SchemeAlgorithm(g, o.kind), Stream::Inline()};
    const size_t n = static_cast<size_t>(o.n), gs = static_cast<size_t>(g.size());
    for (int64_t c = 0; c < o.calls; ++c) {
      const int root = static_cast<int>(c % g.size());
      switch (o.kind) {
        case OpKind::kAllReduce:
          g.AllReduce(a(), a(), n, dtype_, ReduceOp::kSum, opt)->Wait();
          break;
        case OpKind::kAllGather: g.AllGather(a(), b(), n / gs, dtype_, opt)->Wait(); break;
        case OpKind::kReduceScatter:
          g.ReduceScatter(a(), b(), n / gs, dtype_, ReduceOp::kSum, opt)->Wait();
          break;
        case OpKind::kBroadcast: g.Broadcast(a(), a(), n, dtype_, root, opt)->Wait(); break;
        case OpKind::kReduce:
          g.Reduce(a(), b(), n, dtype_, ReduceOp::kSum, root, opt)->Wait();
          break;
        default: TP_CHECK(false);
      }
    }
  }
}

double PlanSkeleton::Time(int warmup, int64_t iters) {
  for (int i = 0; i < warmup; ++i) Step();
  Bootstrap::Barrier();
  double total = 0;
  for (int64_t i = 0; i < iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    Step();
    total += Bootstrap::MaxOverRanks(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return total / static_cast<double>(std::max<int64_t>(iters, 1));
}

}  // namespace tpbench
