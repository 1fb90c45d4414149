// layers/plan_skeleton.h: a scheme's communication plan (layers/scheme.h) run alone.
//
//   PlanSkeleton skel(&mesh, scheme.Plan(cfg, "block", mesh.shape(), opt), DataType::kF32);
//   skel.Step();                                        // one step's collectives, no compute
//   double secs = skel.Time(/*warmup=*/2, /*iters=*/10);  // per step, max over ranks
//   uint64_t model = skel.ModelBytesPerRank();          // PlanBytesPerRank
#ifndef TPBENCH_LAYERS_PLAN_SKELETON_H_
#define TPBENCH_LAYERS_PLAN_SKELETON_H_

#include <cstdint>
#include <vector>

#include "comm/cuda/cuda_device.h"
#include "layers/mesh.h"
#include "layers/scheme.h"

namespace tpbench {

// The communication of a plan alone: the same collectives in the same order on the same
// sizes, no compute, every op inline; the groups of a mesh run concurrently (every rank runs
// its own ROW group's op, ...). //bench:layers times it (comm_ms), //bench:patterns reports it.
// The buffers are in the communicator's memory: device memory (comm/cuda DeviceBuffer) when
// the mesh's communicator says device_memory() (nccl), host memory otherwise.
class PlanSkeleton {
 public:
  PlanSkeleton(Mesh* mesh, CommPlan plan, DataType dtype);
  const CommPlan& plan() const { return plan_; }
  uint64_t ModelBytesPerRank() const;
  size_t forward_ops() const { return plan_.forward_ops(); }
  size_t num_ops() const { return plan_.ops.size(); }
  // Ops [begin, end) of one step; Step() runs them all.
  void Run(size_t begin, size_t end);
  void Step() { Run(0, plan_.ops.size()); }
  // Mean seconds per step over iters lockstep steps after warmup, max over ranks.
  double Time(int warmup, int64_t iters);

 private:
  char* a() { return device_ ? da_.data() : a_.data(); }
  char* b() { return device_ ? db_.data() : b_.data(); }

  Mesh* mesh_;
  CommPlan plan_;
  DataType dtype_;
  bool device_ = false;
  std::vector<char> a_, b_;  // host communicators
  DeviceBuffer da_, db_;     // device communicators
};

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_PLAN_SKELETON_H_
