// bench/tp1d_skeleton.h: the communication skeleton of a 1D / 1D-SP tensor-parallel case
// (layers/tp1d): the same collectives, in the same order and on the same sizes as one
// forward+backward step, with no compute. //bench:layers times it for comm_frac and
// //bench:patterns reports it alone.
//
//   Tp1dSkeleton s(&comm, cfg, "block", /*sp=*/false, DataType::kF32);
//   double secs = s.Time(/*warmup=*/2, /*iters=*/10);   // per step, max over ranks
//   uint64_t model = s.ModelBytesPerRank();             // TP_SCHEMES.md section 6, ring
//
// Ops per step (B = batch*seq tokens, full-tensor element counts, all "ring"):
//   1D,    linear/mlp/attention: all-reduce B*h (row forward), all-reduce B*h (column dX)
//   1D,    block: 4 all-reduces of B*h
//   1D-SP, linear/mlp/attention: all-gather B*h, reduce-scatter B*h (forward); all-gather B*h
//          (row dY), all-reduce h (row db), all-gather B*h (column x again), reduce-scatter
//          B*h (column dX)
//   1D-SP, block: twice that and 4 all-reduces of h (LayerNorm gamma and beta gradients)
#ifndef TPBENCH_BENCH_TP1D_SKELETON_H_
#define TPBENCH_BENCH_TP1D_SKELETON_H_

#include <cstdint>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "layers/reference.h"
#include "layers/tp1d/tp1d.h"

namespace tpbench {

class Tp1dSkeleton {
 public:
  struct Op {
    OpKind kind;
    int64_t n;  // elements of the whole tensor (all-reduce: the buffer; AG: output; RS: input)
  };
  Tp1dSkeleton(Communicator* comm, const LayerConfig& cfg, const std::string& kind, bool sp,
               DataType dtype);
  const std::vector<Op>& ops() const { return ops_; }
  // Ring formula: all-reduce 2(t-1)/t * n, all-gather / reduce-scatter (t-1)/t * n, in bytes.
  uint64_t ModelBytesPerRank() const;
  // Ops [0, forward_ops()) are the forward's, the rest the backward's.
  size_t forward_ops() const { return forward_ops_; }
  // Ops [begin, end) of one step (inline, one after another); Step() runs them all.
  void Run(size_t begin, size_t end);
  void Step() { Run(0, ops_.size()); }
  // Mean seconds per step over iters lockstep steps after warmup, max over ranks.
  double Time(int warmup, int64_t iters);

 private:
  Communicator* comm_;
  DataType dtype_;
  std::vector<Op> ops_;
  size_t forward_ops_ = 0;
  std::vector<char> a_, b_;
};

}  // namespace tpbench

#endif  // TPBENCH_BENCH_TP1D_SKELETON_H_
