// patterns/segments.h: segment sizes of the pipelined algorithms, shared by the algorithms
// and the volume model (the number of messages depends on them). Provisional until measured.
#ifndef TPBENCH_PATTERNS_SEGMENTS_H_
#define TPBENCH_PATTERNS_SEGMENTS_H_

#include <algorithm>
#include <cstddef>

namespace tpbench {

// Ring reduce-scatter (all_reduce/ring, reduce_scatter/ring): each step's block travels in
// segments so the reduction of segment i overlaps the transfer of the next and the received
// segment is reduced while still in cache (2 MiB L2 on the development machine).
constexpr size_t kRingSegmentBytes = 256 * 1024;
constexpr int kRingInflight = 2;  // receive buffers in flight per step

// Ring all-gather (all_reduce/ring, all_gather/ring, broadcast/scatter_allgather): blocks
// travel in segments, each forwarded as soon as it arrives (and large single transfers are
// slower than several smaller ones on shared memory).
constexpr size_t kRingAllGatherSegmentBytes = 1024 * 1024;

// Final reduced blocks at least this large are written with non-temporal stores
// (ReduceIntoStreaming): they exceed the caches and the peer reads them from memory anyway.
constexpr size_t kStreamingMinBytes = 4u << 20;

// Pipelined chain broadcast.
constexpr size_t kChainSegmentBytes = 256 * 1024;

// Segment length in elements for a byte target (at least one element).
inline size_t SegmentElems(size_t seg_bytes, size_t elem_size) {
  return std::max<size_t>(1, seg_bytes / elem_size);
}

}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_SEGMENTS_H_
