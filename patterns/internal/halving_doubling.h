// patterns/internal/halving_doubling.h: the folded recursive-halving reduce-scatter and
// recursive-doubling all-gather phases shared by all_reduce/rabenseifner,
// reduce_scatter/recursive_halving and all_gather/recursive_doubling.
//
// Both phases run on the pof2 new ranks of a Fold (schedule/recursive_doubling.h); group g
// (a new rank) covers bytes [group[g], group[g+1]) of the working buffers.
#ifndef TPBENCH_PATTERNS_INTERNAL_HALVING_DOUBLING_H_
#define TPBENCH_PATTERNS_INTERNAL_HALVING_DOUBLING_H_

#include <cstddef>
#include <vector>

#include "comm/p2p.h"
#include "comm/types.h"
#include "patterns/schedule/recursive_doubling.h"

namespace tpbench {
namespace internal {

// Recursive halving over new rank nr: the first step reads this rank's data from `src`,
// every step writes its combined half into `work` (which may equal src); after the last step
// work holds group nr reduced over all ranks. The lower new rank's data is always the left
// operand. If last_dst is set, the last step writes the kept bytes past the first last_skip
// into last_dst instead (so a reduce-scatter result lands in the user's buffer without a
// copy). Receives go to P2P scratch slot 0; uses tags [tag, tag + steps).
void RecursiveHalving(P2P& p, const Fold& f, int nr, const std::vector<size_t>& group,
                      const char* src, char* work, DataType t, ReduceOp op, int tag,
                      char* last_dst = nullptr, size_t last_skip = 0);

// Recursive doubling all-gather in place in buf: new rank nr holds group nr; afterwards it
// holds every group. Uses tags [tag, tag + steps).
void RecursiveDoublingGather(P2P& p, const Fold& f, int nr, const std::vector<size_t>& group,
                             char* buf, int tag);

}  // namespace internal
}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_INTERNAL_HALVING_DOUBLING_H_
