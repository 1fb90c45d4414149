// patterns/volume.h: how many bytes and messages each rank sends in one op, per algorithm:
// the exact model of the algorithms in this folder (uneven blocks, folds and segments
// included), checked against the ThreadTransport's counters by volume_test. Benchmarks can
// print it next to the measured bytes_sent_per_rank.
//
//   uint64_t b = ModelBytesSent(OpKind::kAllReduce, "ring", count, 4, /*n=*/8, /*rank=*/3);
//   // == 2(n-1)/n * count * 4 when n divides count
//   VolumeModel m = ModelSentMax(OpKind::kBroadcast, "chain", count, 4, 8, /*root=*/0);
//
// `count` follows comm/coll.h (per-rank block for all_gather/reduce_scatter/all_to_all).
// "auto" is resolved as ResolveAlgorithm does; an unknown name throws UsageError. Zero-byte
// messages are not sent, hence not counted.
#ifndef TPBENCH_PATTERNS_VOLUME_H_
#define TPBENCH_PATTERNS_VOLUME_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "comm/types.h"

namespace tpbench {

struct VolumeModel {
  uint64_t bytes = 0;
  uint64_t msgs = 0;
};

VolumeModel ModelSent(OpKind kind, const std::string& algo, size_t count, size_t elem_size, int n,
                      int rank, int root = 0);
// Bytes a rank sends to ranks on its own node and to other nodes, node_of[r] being the node
// of group rank r (any placement; P2P::node): every algorithm ModelSent knows, "auto"
// resolved for a group spanning that many nodes, and sendrecv as the benchmark runs it
// (count elements to rank + 1). The hierarchical algorithms are modelled by their closed forms
// (L ranks on each of N nodes: all_gather and reduce_scatter send (N-1) count elements across
// and (L-1) N count inside), everything else by the destination of every message.
struct NodeSplit {
  uint64_t intra = 0, inter = 0;
};
NodeSplit ModelSentByNode(OpKind kind, const std::string& algo, size_t count, size_t elem_size,
                          const std::vector<int>& node_of, int rank, int root = 0);
// The same for `nodes` nodes of `per_node` ranks each, node-major (rank = node * per_node +
// position), as --ranks-per-node places them.
NodeSplit ModelSentByNode(OpKind kind, const std::string& algo, size_t count, size_t elem_size,
                          int per_node, int nodes, int rank, int root = 0);

// The largest per-rank figures over all ranks (what bytes_sent_per_rank reports).
VolumeModel ModelSentMax(OpKind kind, const std::string& algo, size_t count, size_t elem_size,
                         int n, int root = 0);

inline uint64_t ModelBytesSent(OpKind kind, const std::string& algo, size_t count, size_t elem_size,
                               int n, int rank, int root = 0) {
  return ModelSent(kind, algo, count, elem_size, n, rank, root).bytes;
}
inline uint64_t ModelMsgsSent(OpKind kind, const std::string& algo, size_t count, size_t elem_size,
                              int n, int rank, int root = 0) {
  return ModelSent(kind, algo, count, elem_size, n, rank, root).msgs;
}

}  // namespace tpbench

#endif  // TPBENCH_PATTERNS_VOLUME_H_
