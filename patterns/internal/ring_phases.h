// patterns/internal/ring_phases.h: the two ring phases shared by all_reduce/ring,
// reduce_scatter/ring, all_gather/ring and broadcast/scatter_allgather.
//
// Blocks follow a BlockPartition of elements; `r` is this rank's position on a ring of n and
// `left`/`right` are the real ranks of its ring neighbours.
#ifndef TPBENCH_PATTERNS_INTERNAL_RING_PHASES_H_
#define TPBENCH_PATTERNS_INTERNAL_RING_PHASES_H_

#include <cstddef>
#include <vector>

#include "comm/p2p.h"
#include "comm/types.h"
#include "patterns/schedule/blocks.h"

namespace tpbench {
namespace internal {

struct RingReduceScatterArgs {
  const char* src = nullptr;  // this rank's contribution, block b at src + Offset(b)*elem
  char* partial = nullptr;    // where partials of block b go (partial + Offset(b)*elem), or
                              // nullptr: two scratch blocks (P2P slot 1) are used instead
  char* out = nullptr;        // where the complete block r lands
  BlockPartition part;
  DataType dtype = DataType::kF32;
  ReduceOp op = ReduceOp::kSum;
  int r = 0, n = 1, left = 0, right = 0;
  int tag = 0;
};

// Segmented, pipelined ring reduce-scatter: every block travels in kRingSegmentBytes
// segments; a segment is reduced as soon as it arrives and forwarded at once. Receives go to
// P2P scratch slot 0 (kRingInflight segments).
void RingReduceScatter(P2P& p, const RingReduceScatterArgs& a);

// Ring all-gather in place in `buf` (block b at buf + Offset(b)*elem), rank r holding block
// r. All receives are posted first. has_all: this rank already holds every block (it
// receives nothing); skip_send: the right neighbour has_all (this rank sends nothing).
void RingAllGather(P2P& p, char* buf, const BlockPartition& part, size_t elem, int r, int n,
                   int left, int right, int tag, bool has_all = false, bool skip_send = false);

// Bytes at `at` (a piece of a bundle: blocks that travel together but need not be adjacent).
struct Piece {
  char* at = nullptr;
  size_t bytes = 0;
};

// Ring all-gather of n bundles, bundle b being bundles[b] (pieces anywhere, received in
// place); rank r holds bundle r. Each piece travels in kRingAllGatherSegmentBytes segments
// (whole elements of `elem` bytes), forwarded as soon as it has arrived; all receives are
// posted first. Per rank: every bundle but r+1's is sent to the right, piece by piece.
void RingAllGatherPieces(P2P& p, const std::vector<std::vector<Piece>>& bundles, size_t elem, int r,
                         int n, int left, int right, int tag);

}  // namespace internal
}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_INTERNAL_RING_PHASES_H_
