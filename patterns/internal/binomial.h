// patterns/internal/binomial.h: binomial-tree broadcast and reduce phases shared by
// broadcast/binomial, reduce/binomial and all_reduce/reduce_bcast.
#ifndef TPBENCH_PATTERNS_INTERNAL_BINOMIAL_H_
#define TPBENCH_PATTERNS_INTERNAL_BINOMIAL_H_

#include <cstddef>

#include "comm/p2p.h"
#include "comm/types.h"

namespace tpbench {
namespace internal {

// Broadcast `bytes` of buf from root down the binomial tree. At the root, data is sent from
// `root_src` (which may differ from buf; the caller fills the root's buf).
void BinomialBroadcast(P2P& p, const char* root_src, char* buf, size_t bytes, int root, int tag);

// Reduce `count` elements of src up the binomial tree: the root's result lands in acc; on
// other ranks acc is a work buffer (scratch slot 1 if nullptr). Children are combined in
// ascending order with this rank's (lower) partial as the left operand. Receives use scratch
// slot 0.
void BinomialReduce(P2P& p, const char* src, char* acc, size_t count, DataType t, ReduceOp op,
                    int root, int tag);

}  // namespace internal
}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_INTERNAL_BINOMIAL_H_
