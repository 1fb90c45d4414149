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
#include <vector>

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

// One collective as data (nccl-tests' `struct testColl`): what every benchmark, checker and
// report needs to know about it, in one table. //bench:collectives --list --json exports it
// for the Python tools.
//
//   const CollectiveInfo& c = Collective(OpKind::kAllGather);
//   size_t count = c.CountFor(bytes, DataType::kF32, n);   // elements per rank for S = bytes
//   double busbw = algbw * c.BusFactor(n);                  // (n-1)/n
struct CollectiveInfo {
  OpKind kind;
  const char* name;       // OpKindName(kind)
  bool reduces;           // takes a reduction (-o)
  bool has_root;          // takes a root (-r)
  bool split_over_ranks;  // S is the whole gathered/scattered buffer: count = S / (size * n)
  bool has_in_place;      // has an in-place form (coll.h conventions)
  // nccl-tests' bus-bandwidth factor bus_scale * (n + bus_shift) / n, e.g. 2(n-1)/n.
  int bus_scale, bus_shift;
  const char* bus_formula;  // the same, for people: "2(n-1)/n"

  double BusFactor(int n) const {
    return n > 0 ? static_cast<double>(bus_scale) * (n + bus_shift) / n : 0;
  }
  // Elements per rank of a case of S = bytes (0 when S does not fill one element per rank).
  size_t CountFor(size_t bytes, DataType t, int n) const {
    const size_t c = bytes / DataTypeSize(t);
    return split_over_ranks ? c / static_cast<size_t>(n > 0 ? n : 1) : c;
  }
};

// Every collective, in AllCollectives() order.
const std::vector<CollectiveInfo>& Collectives();
// The entry of a collective (TP_CHECK: kind is one of AllCollectives()).
const CollectiveInfo& Collective(OpKind kind);

// Bus-bandwidth factor of nccl-tests for this op on n ranks (busbw = algbw * factor), and the
// byte count S that algbw divides by (the whole gathered/scattered buffer for
// all_gather/reduce_scatter/all_to_all). 1 for ops that are not collectives.
double BusBandwidthFactor(OpKind kind, int n);
size_t AlgorithmBytes(const CollArgs& a);

}  // namespace tpbench

#endif  // TPBENCH_COMM_COLL_H_
