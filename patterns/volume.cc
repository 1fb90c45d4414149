// patterns/volume.cc: the per-algorithm send-volume formulas behind ModelSent.
#include "patterns/volume.h"

#include <algorithm>

#include "comm/error.h"
#include "patterns/registry.h"
#include "patterns/schedule/binomial_tree.h"
#include "patterns/schedule/blocks.h"
#include "patterns/schedule/bruck.h"
#include "patterns/schedule/chain.h"
#include "patterns/schedule/recursive_doubling.h"
#include "patterns/segments.h"

namespace tpbench {
namespace {

// Accumulates messages, ignoring empty ones as the transports do.
struct Tally {
  VolumeModel v;
  void Send(uint64_t bytes, uint64_t msgs = 1) {
    if (bytes == 0) return;
    v.bytes += bytes;
    v.msgs += msgs;
  }
};

// Recursive halving (non-extra ranks): at step s the half of the window the partner keeps
// is sent; in all, every group but its own leaves once.
template <typename GroupBytes>
void Halving(Tally& t, const Fold& f, int nr, GroupBytes span) {
  for (int s = 0; s < f.steps; ++s) {
    const HalvingStep h = RecursiveHalvingStep(nr, f.pof2, s);
    t.Send(span(h.send_lo, h.send_hi));
  }
}

// Recursive doubling all-gather: at step s the aligned window of 2^s groups is sent.
template <typename GroupBytes>
void Doubling(Tally& t, const Fold& f, int nr, GroupBytes span) {
  for (int s = 0; s < f.steps; ++s) {
    const int lo = nr & ~((1 << s) - 1);
    t.Send(span(lo, lo + (1 << s)));
  }
}

VolumeModel AllReduce(const std::string& a, size_t count, size_t es, int n, int r) {
  Tally t;
  const uint64_t S = count * es;
  if (n == 1 || count == 0) return t.v;
  if (a == "ring" || a == "hierarchical") {  // hierarchical on one node is the ring
    // Reduce-scatter sends every block but r (in segments), all-gather every block but r+1.
    const BlockPartition part{count, n};
    const size_t seg = SegmentElems(kRingSegmentBytes, es);
    const size_t ag_seg = SegmentElems(kRingAllGatherSegmentBytes, es);
    t.v.bytes = (2 * count - part.Size(r) - part.Size((r + 1) % n)) * es;
    for (int j = 0; j < n; ++j) {
      if (j != r) t.v.msgs += NumSegments(part.Size(j), seg);
      if (j != (r + 1) % n) t.v.msgs += NumSegments(part.Size(j), ag_seg);
    }
    return t.v;
  }
  const Fold f(n);
  if (a == "recursive_doubling" || a == "rabenseifner") {
    if (f.IsExtra(r)) return t.Send(S), t.v;  // its vector to the proxy
    if (a == "recursive_doubling") {
      for (int s = 0; s < f.steps; ++s) t.Send(S);  // the whole vector every step
    } else {
      const BlockPartition part{count, f.pof2};
      const int nr = f.NewRank(r);
      auto span = [&](int lo, int hi) { return part.Span(lo, hi) * es; };
      Halving(t, f, nr, span);
      Doubling(t, f, nr, span);
    }
    if (f.IsProxy(r)) t.Send(S);  // the result back to the extra rank
    return t.v;
  }
  if (a == "reduce_bcast") {
    // Up the tree once, then down to each child.
    const BinomialNode node = BinomialTreeNode(r, n, 0);
    if (node.parent >= 0) t.Send(S);
    for (int i = 0; i < node.num_children; ++i) t.Send(S);
    return t.v;
  }
  throw UsageError("volume model: no formula for all_reduce/" + a);
}

VolumeModel AllGather(const std::string& a, size_t count, size_t es, int n, int r) {
  Tally t;
  const uint64_t blk = count * es;
  if (n == 1 || blk == 0) return t.v;
  if (a == "ring") {
    return t.Send((n - 1) * blk,
                  (n - 1) * NumSegments(count, SegmentElems(kRingAllGatherSegmentBytes, es))),
           t.v;
  }
  if (a == "bruck") return t.Send((n - 1) * blk, BruckSteps(n)), t.v;
  if (a == "recursive_doubling") {
    const Fold f(n);
    if (f.IsExtra(r)) return t.Send(blk), t.v;
    Doubling(t, f, f.NewRank(r), [&](int lo, int hi) { return (f.First(hi) - f.First(lo)) * blk; });
    if (f.IsProxy(r)) t.Send((r - 1) * blk), t.Send((n - r) * blk);  // all but r-1's block
    return t.v;
  }
  throw UsageError("volume model: no formula for all_gather/" + a);
}

VolumeModel ReduceScatter(const std::string& a, size_t count, size_t es, int n, int r) {
  Tally t;
  const uint64_t blk = count * es;
  if (n == 1 || blk == 0) return t.v;
  if (a == "ring") {
    return t.Send((n - 1) * blk, (n - 1) * NumSegments(count, SegmentElems(kRingSegmentBytes, es))),
           t.v;
  }
  if (a == "recursive_halving") {
    const Fold f(n);
    if (f.IsExtra(r)) return t.Send(n * blk), t.v;  // the whole input to the proxy
    const int nr = f.NewRank(r);
    Halving(t, f, nr, [&](int lo, int hi) { return (f.First(hi) - f.First(lo)) * blk; });
    if (f.IsProxy(r)) t.Send(blk);  // the extra rank's block
    return t.v;
  }
  throw UsageError("volume model: no formula for reduce_scatter/" + a);
}

VolumeModel Broadcast(const std::string& a, size_t count, size_t es, int n, int r, int root) {
  Tally t;
  const uint64_t S = count * es;
  if (n == 1 || S == 0) return t.v;
  if (a == "binomial") {
    const BinomialNode node = BinomialTreeNode(r, n, root);
    for (int i = 0; i < node.num_children; ++i) t.Send(S);
    return t.v;
  }
  if (a == "chain") {
    if (ChainNext(r, n, root) >= 0) {
      t.Send(S, NumSegments(S, SegmentElems(kChainSegmentBytes, es) * es));
    }
    return t.v;
  }
  if (a == "scatter_allgather") {
    const BlockPartition part{count, n};
    const BinomialNode node = BinomialTreeNode(r, n, root);
    // Scatter: each child gets its subtree's blocks.
    for (int i = 0; i < node.num_children; ++i) {
      t.Send(part.Span(node.children[i].vrank, node.children[i].vend) * es);
    }
    // Ring: every block but v+1, except the root's left neighbour (the root has them all).
    const int v = node.vrank;
    if (v != n - 1) {
      const size_t seg = SegmentElems(kRingAllGatherSegmentBytes, es);
      for (int j = 0; j < n; ++j) {
        if (j != (v + 1) % n) t.Send(part.Size(j) * es, NumSegments(part.Size(j), seg));
      }
    }
    return t.v;
  }
  throw UsageError("volume model: no formula for broadcast/" + a);
}

}  // namespace

VolumeModel ModelSent(OpKind kind, const std::string& algo, size_t count, size_t es, int n,
                      int rank, int root) {
  const bool per_rank =
      kind == OpKind::kAllGather || kind == OpKind::kReduceScatter || kind == OpKind::kAllToAll;
  const std::string a = ResolveAlgorithm(kind, algo, count * es * (per_rank ? n : 1), n).name;
  switch (kind) {
    case OpKind::kAllReduce: return AllReduce(a, count, es, n, rank);
    case OpKind::kAllGather: return AllGather(a, count, es, n, rank);
    case OpKind::kReduceScatter: return ReduceScatter(a, count, es, n, rank);
    case OpKind::kBroadcast: return Broadcast(a, count, es, n, rank, root);
    case OpKind::kReduce: {
      if (a != "binomial") break;
      Tally t;  // binomial: every rank but the root sends its subtree's partial once
      if (n > 1 && rank != root) t.Send(count * es);
      return t.v;
    }
    case OpKind::kAllToAll: {
      if (a != "pairwise") break;
      Tally t;  // pairwise: one block to each other rank
      if (n > 1) t.Send((n - 1) * count * es, n - 1);
      return t.v;
    }
    default: break;
  }
  throw UsageError(std::string("volume model: no formula for ") + OpKindName(kind) + "/" + a);
}

VolumeModel ModelSentMax(OpKind kind, const std::string& algo, size_t count, size_t es, int n,
                         int root) {
  VolumeModel m;
  for (int r = 0; r < n; ++r) {
    const VolumeModel v = ModelSent(kind, algo, count, es, n, r, root);
    m.bytes = std::max(m.bytes, v.bytes);
    m.msgs = std::max(m.msgs, v.msgs);
  }
  return m;
}

NodeSplit ModelSentByNode(OpKind kind, const std::string& algo, size_t count, size_t es,
                          int per_node, int nodes, int rank) {
  const int n = per_node * nodes, l = rank % per_node, k = rank / per_node;
  if (kind != OpKind::kAllReduce || (algo != "ring" && algo != "hierarchical")) {
    throw UsageError("volume model by node: only all_reduce ring and hierarchical, not " +
                     std::string(OpKindName(kind)) + "/" + algo);
  }
  NodeSplit s;
  if (algo == "ring" || nodes == 1 || per_node == 1) {
    // Every message of the flat ring goes to the right neighbour.
    const uint64_t b = ModelSent(kind, "ring", count, es, n, rank).bytes;
    ((rank + 1) % n / per_node == k ? s.intra : s.inter) = b;
    return s;
  }
  // Ring reduce-scatter and all-gather on the node (every block but l, but l+1), and the
  // same on the node's block l across nodes (every sub-block but k, but k+1).
  const BlockPartition local{count, per_node};
  const size_t bc = local.Size(l);
  const BlockPartition cross{bc, nodes};
  s.intra = (2 * count - local.Size(l) - local.Size((l + 1) % per_node)) * es;
  if (bc > 0) s.inter = (2 * bc - cross.Size(k) - cross.Size((k + 1) % nodes)) * es;
  return s;
}

}  // namespace tpbench
