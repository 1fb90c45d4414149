// comm/coll.h: one collective call described as data (the arguments every backend receives).
//
// Buffer conventions follow NCCL:
//   all_reduce      count elements in send and recv; in place when send == recv.
//   all_gather      count = elements each rank contributes; recv holds size*count;
//                   in place when send == recv + rank*count.
//   reduce_scatter  count = elements each rank receives; send holds size*count;
//                   in place when recv == send + rank*count.
//   broadcast       count elements; root sends from send, every rank receives into recv
//                   (root too); in place when send == recv.
//   reduce          count elements; the result lands in recv on root only (recv may be null
//                   elsewhere); in place when send == recv.
//   all_to_all      count = elements per peer; send and recv hold size*count; block p of
//                   send goes to rank p and arrives as block rank of p's recv.
//   sendrecv        count elements: send to rank `peer_send`, receive from `peer_recv`
//                   (nccl-tests' ring shift uses rank+1 and rank-1).
#ifndef TPBENCH_COMM_COLL_H_
#define TPBENCH_COMM_COLL_H_

#include <cstddef>
#include <string>

#include "comm/types.h"

namespace tpbench {

struct CollArgs {
  OpKind kind = OpKind::kAllReduce;
  const void* send = nullptr;
  void* recv = nullptr;
  size_t count = 0;
  DataType dtype = DataType::kF32;
  ReduceOp op = ReduceOp::kSum;  // never kAvg once it reaches an algorithm (see CommBase)
  int root = 0;
  int peer_send = -1;
  int peer_recv = -1;

  size_t elem_size() const { return DataTypeSize(dtype); }
  bool in_place() const;  // per the conventions above, given the caller's rank
  int rank = 0;           // filled by the communicator
  int size = 1;
};

// Bus-bandwidth factor of nccl-tests for this op on n ranks (busbw = algbw * factor), and the
// byte count S that algbw divides by (the whole gathered/scattered buffer for
// all_gather/reduce_scatter/all_to_all).
double BusBandwidthFactor(OpKind kind, int n);
size_t AlgorithmBytes(const CollArgs& a);

}  // namespace tpbench

#endif  // TPBENCH_COMM_COLL_H_
