// bench/tp1d_skeleton.cc: see tp1d_skeleton.h.
#include "bench/tp1d_skeleton.h"

#include <algorithm>
#include <chrono>

#include "comm/bootstrap.h"

namespace tpbench {

Tp1dSkeleton::Tp1dSkeleton(Communicator* comm, const LayerConfig& cfg, const std::string& kind,
                           bool sp, DataType dtype)
    : comm_(comm), dtype_(dtype) {
  const int64_t Bh = cfg.tokens() * cfg.hidden, h = cfg.hidden;
  const int pairs = kind == "block" ? 2 : 1;
  for (int i = 0; i < pairs; ++i) {
    if (sp) {
      ops_.push_back({OpKind::kAllGather, Bh});
      ops_.push_back({OpKind::kReduceScatter, Bh});
    } else {
      ops_.push_back({OpKind::kAllReduce, Bh});
    }
  }
  forward_ops_ = ops_.size();
  for (int i = 0; i < pairs; ++i) {
    if (sp) {
      ops_.push_back({OpKind::kAllGather, Bh});
      ops_.push_back({OpKind::kAllReduce, h});
      ops_.push_back({OpKind::kAllGather, Bh});
      ops_.push_back({OpKind::kReduceScatter, Bh});
    } else {
      ops_.push_back({OpKind::kAllReduce, Bh});
    }
  }
  if (sp && kind == "block") {
    for (int i = 0; i < 4; ++i) ops_.push_back({OpKind::kAllReduce, h});
  }
  int64_t most = 0;
  for (const Op& o : ops_) most = std::max(most, o.n);
  a_.assign(static_cast<size_t>(most) * DataTypeSize(dtype), 0);
  b_.assign(a_.size(), 0);
}

uint64_t Tp1dSkeleton::ModelBytesPerRank() const {
  const uint64_t t = static_cast<uint64_t>(comm_->size()), es = DataTypeSize(dtype_);
  uint64_t sum = 0;
  for (const Op& o : ops_) {
    const uint64_t chunk = static_cast<uint64_t>(o.n) / t;
    sum += (o.kind == OpKind::kAllReduce ? 2 : 1) * (t - 1) * chunk * es;
  }
  return sum;
}

void Tp1dSkeleton::Run(size_t begin, size_t end) {
  const OpOptions opt{Tp1dAlgorithm(*comm_), Stream::Inline()};
  const size_t t = static_cast<size_t>(comm_->size());
  for (size_t i = begin; i < end; ++i) {
    const Op& o = ops_[i];
    const size_t n = static_cast<size_t>(o.n);
    if (o.kind == OpKind::kAllReduce) {
      comm_->AllReduce(a_.data(), a_.data(), n, dtype_, ReduceOp::kSum, opt)->Wait();
    } else if (o.kind == OpKind::kAllGather) {
      comm_->AllGather(a_.data(), b_.data(), n / t, dtype_, opt)->Wait();
    } else {
      comm_->ReduceScatter(a_.data(), b_.data(), n / t, dtype_, ReduceOp::kSum, opt)->Wait();
    }
  }
}

double Tp1dSkeleton::Time(int warmup, int64_t iters) {
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
