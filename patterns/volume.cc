// patterns/volume.cc: the per-algorithm send-volume formulas behind ModelSent.
#include "patterns/volume.h"

#include <algorithm>
#include <vector>

#include "comm/error.h"
#include "patterns/registry.h"
#include "patterns/schedule/binomial_tree.h"
#include "patterns/schedule/blocks.h"
#include "patterns/schedule/bruck.h"
#include "patterns/schedule/chain.h"
#include "patterns/schedule/hierarchy.h"
#include "patterns/schedule/recursive_doubling.h"
#include "patterns/segments.h"

namespace tpbench {
namespace {

// Accumulates messages per destination rank, ignoring empty ones as the transports do.
struct Tally {
  VolumeModel v;
  std::vector<uint64_t> to;  // bytes sent to each rank
  explicit Tally(int n) : to(static_cast<size_t>(std::max(n, 1)), 0) {}
  void Send(int peer, uint64_t bytes, uint64_t msgs = 1) {
    if (bytes == 0) return;
    v.bytes += bytes;
    v.msgs += msgs;
    to.at(static_cast<size_t>(peer)) += bytes;
  }
};

// Recursive halving (non-extra ranks): at step s the half of the window the partner keeps
// is sent; in all, every group but its own leaves once.
template <typename GroupBytes>
void Halving(Tally& t, const Fold& f, int nr, GroupBytes span) {
  for (int s = 0; s < f.steps; ++s) {
    const HalvingStep h = RecursiveHalvingStep(nr, f.pof2, s);
    t.Send(f.OldRank(h.partner), span(h.send_lo, h.send_hi));
  }
}

// Recursive doubling all-gather: at step s the aligned window of 2^s groups is sent.
template <typename GroupBytes>
void Doubling(Tally& t, const Fold& f, int nr, GroupBytes span) {
  for (int s = 0; s < f.steps; ++s) {
    const int lo = nr & ~((1 << s) - 1);
    t.Send(f.OldRank(nr ^ (1 << s)), span(lo, lo + (1 << s)));
  }
}

Tally AllReduce(const std::string& a, size_t count, size_t es, int n, int r) {
  Tally t(n);
  const uint64_t S = count * es;
  if (n == 1 || count == 0) return t;
  if (a == "ring" || a == "hierarchical") {  // hierarchical on one node is the ring
    // Reduce-scatter sends every block but r (in segments), all-gather every block but r+1,
    // all to the right.
    const BlockPartition part{count, n};
    const size_t seg = SegmentElems(kRingSegmentBytes, es);
    const size_t ag_seg = SegmentElems(kRingAllGatherSegmentBytes, es);
    uint64_t msgs = 0;
    for (int j = 0; j < n; ++j) {
      if (j != r) msgs += NumSegments(part.Size(j), seg);
      if (j != (r + 1) % n) msgs += NumSegments(part.Size(j), ag_seg);
    }
    t.Send((r + 1) % n, (2 * count - part.Size(r) - part.Size((r + 1) % n)) * es, msgs);
    return t;
  }
  const Fold f(n);
  if (a == "recursive_doubling" || a == "rabenseifner") {
    if (f.IsExtra(r)) return t.Send(r + 1, S), t;  // its vector to the proxy
    const int nr = f.NewRank(r);
    if (a == "recursive_doubling") {
      // The whole vector to partner nr ^ 2^s every step.
      for (int s = 0; s < f.steps; ++s) t.Send(f.OldRank(nr ^ (1 << s)), S);
    } else {
      const BlockPartition part{count, f.pof2};
      auto span = [&](int lo, int hi) { return part.Span(lo, hi) * es; };
      Halving(t, f, nr, span);
      Doubling(t, f, nr, span);
    }
    if (f.IsProxy(r)) t.Send(r - 1, S);  // the result back to the extra rank
    return t;
  }
  if (a == "reduce_bcast") {
    // Up the tree once, then down to each child.
    const BinomialNode node = BinomialTreeNode(r, n, 0);
    if (node.parent >= 0) t.Send(node.parent, S);
    for (int i = 0; i < node.num_children; ++i) t.Send(node.children[i].rank, S);
    return t;
  }
  throw UsageError("volume model: no formula for all_reduce/" + a);
}

Tally AllGather(const std::string& a, size_t count, size_t es, int n, int r) {
  Tally t(n);
  const uint64_t blk = count * es;
  if (n == 1 || blk == 0) return t;
  if (a == "ring" || a == "hierarchical") {  // hierarchical on one node is the ring
    return t.Send((r + 1) % n, (n - 1) * blk,
                  (n - 1) * NumSegments(count, SegmentElems(kRingAllGatherSegmentBytes, es))),
           t;
  }
  if (a == "bruck") {
    for (int k = 0; k < BruckSteps(n); ++k) {
      const BruckStep s = BruckAllGatherStep(r, n, k);
      t.Send(s.send_to, s.blocks * blk);
    }
    return t;
  }
  if (a == "recursive_doubling") {
    const Fold f(n);
    if (f.IsExtra(r)) return t.Send(r + 1, blk), t;
    Doubling(t, f, f.NewRank(r), [&](int lo, int hi) { return (f.First(hi) - f.First(lo)) * blk; });
    if (f.IsProxy(r)) t.Send(r - 1, (r - 1) * blk), t.Send(r - 1, (n - r) * blk);  // not r-1's
    return t;
  }
  throw UsageError("volume model: no formula for all_gather/" + a);
}

Tally ReduceScatter(const std::string& a, size_t count, size_t es, int n, int r) {
  Tally t(n);
  const uint64_t blk = count * es;
  if (n == 1 || blk == 0) return t;
  if (a == "ring" || a == "hierarchical") {  // hierarchical on one node is the ring
    return t.Send((r + 1) % n, (n - 1) * blk,
                  (n - 1) * NumSegments(count, SegmentElems(kRingSegmentBytes, es))),
           t;
  }
  if (a == "recursive_halving") {
    const Fold f(n);
    if (f.IsExtra(r)) return t.Send(r + 1, n * blk), t;  // the whole input to the proxy
    const int nr = f.NewRank(r);
    Halving(t, f, nr, [&](int lo, int hi) { return (f.First(hi) - f.First(lo)) * blk; });
    if (f.IsProxy(r)) t.Send(r - 1, blk);  // the extra rank's block
    return t;
  }
  throw UsageError("volume model: no formula for reduce_scatter/" + a);
}

Tally Broadcast(const std::string& a, size_t count, size_t es, int n, int r, int root) {
  Tally t(n);
  const uint64_t S = count * es;
  if (n == 1 || S == 0) return t;
  if (a == "binomial") {
    const BinomialNode node = BinomialTreeNode(r, n, root);
    for (int i = 0; i < node.num_children; ++i) t.Send(node.children[i].rank, S);
    return t;
  }
  if (a == "chain") {
    const int next = ChainNext(r, n, root);
    if (next >= 0) t.Send(next, S, NumSegments(S, SegmentElems(kChainSegmentBytes, es) * es));
    return t;
  }
  if (a == "scatter_allgather") {
    const BlockPartition part{count, n};
    const BinomialNode node = BinomialTreeNode(r, n, root);
    // Scatter: each child gets its subtree's blocks.
    for (int i = 0; i < node.num_children; ++i) {
      const BinomialChild& c = node.children[i];
      t.Send(c.rank, part.Span(c.vrank, c.vend) * es);
    }
    // Ring to the right: every block but v+1, except the root's left neighbour (the root
    // has them all).
    const int v = node.vrank;
    if (v != n - 1) {
      const size_t seg = SegmentElems(kRingAllGatherSegmentBytes, es);
      for (int j = 0; j < n; ++j) {
        if (j != (v + 1) % n) {
          t.Send((r + 1) % n, part.Size(j) * es, NumSegments(part.Size(j), seg));
        }
      }
    }
    return t;
  }
  throw UsageError("volume model: no formula for broadcast/" + a);
}

// The tally of any kind (algorithm already resolved).
Tally TallyOf(OpKind kind, const std::string& a, size_t count, size_t es, int n, int rank,
              int root) {
  switch (kind) {
    case OpKind::kAllReduce: return AllReduce(a, count, es, n, rank);
    case OpKind::kAllGather: return AllGather(a, count, es, n, rank);
    case OpKind::kReduceScatter: return ReduceScatter(a, count, es, n, rank);
    case OpKind::kBroadcast: return Broadcast(a, count, es, n, rank, root);
    case OpKind::kReduce: {
      if (a != "binomial") break;
      Tally t(n);  // binomial: every rank but the root sends its subtree's partial once
      if (n > 1 && rank != root) t.Send(BinomialTreeNode(rank, n, root).parent, count * es);
      return t;
    }
    case OpKind::kAllToAll: {
      if (a != "pairwise") break;
      Tally t(n);  // pairwise: one block to each other rank
      for (int p = 0; p < n; ++p) {
        if (p != rank) t.Send(p, count * es);
      }
      return t;
    }
    case OpKind::kSendRecv: {
      Tally t(n);  // the benchmark's ring shift: one message to rank + 1 (itself on 1 rank)
      t.Send((rank + 1) % n, count * es);
      return t;
    }
    default: break;
  }
  throw UsageError(std::string("volume model: no formula for ") + OpKindName(kind) + "/" + a);
}

// "auto" resolved as the communicator does (sendrecv has no algorithms: "").
std::string Resolve(OpKind kind, const std::string& algo, size_t count, size_t es, int n,
                    int nodes) {
  if (kind == OpKind::kSendRecv) return "";
  const bool per_rank =
      kind == OpKind::kAllGather || kind == OpKind::kReduceScatter || kind == OpKind::kAllToAll;
  return ResolveAlgorithm(kind, algo, count * es * (per_rank ? n : 1), n, nodes).name;
}

// The hierarchical algorithms' split on a two-level group (patterns/*_hierarchical.cc).
NodeSplit HierarchicalSplit(OpKind kind, size_t count, size_t es, const Hierarchy& h) {
  const int N = h.nodes, L = h.per_node, k = h.node_index, l = h.local;
  NodeSplit s;
  if (kind == OpKind::kAllReduce) {
    // Ring reduce-scatter and all-gather on the node (every block but l, but l+1), and the
    // same on the node's block l across nodes (every sub-block but k, but k+1).
    const BlockPartition local{count, L};
    const size_t bc = local.Size(l);
    const BlockPartition cross{bc, N};
    s.intra = (2 * count - local.Size(l) - local.Size((l + 1) % L)) * es;
    if (bc > 0) s.inter = (2 * bc - cross.Size(k) - cross.Size((k + 1) % N)) * es;
    return s;
  }
  // all_gather / reduce_scatter: N-1 blocks across nodes, then (or before) L-1 bundles of N
  // blocks inside the node.
  s.inter = static_cast<uint64_t>(N - 1) * count * es;
  s.intra = static_cast<uint64_t>(L - 1) * static_cast<uint64_t>(N) * count * es;
  return s;
}

}  // namespace

VolumeModel ModelSent(OpKind kind, const std::string& algo, size_t count, size_t es, int n,
                      int rank, int root) {
  if (kind == OpKind::kSendRecv) {
    throw UsageError("volume model: sendrecv has no algorithms (ModelSentByNode models it)");
  }
  return TallyOf(kind, Resolve(kind, algo, count, es, n, 1), count, es, n, rank, root).v;
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
                          const std::vector<int>& node_of, int rank, int root) {
  const int n = static_cast<int>(node_of.size());
  TP_CHECK_MSG(rank >= 0 && rank < n, "volume model by node: rank out of range");
  std::vector<int> ids = node_of;
  std::sort(ids.begin(), ids.end());
  const int nodes = static_cast<int>(std::unique(ids.begin(), ids.end()) - ids.begin());
  const std::string a = Resolve(kind, algo, count, es, n, nodes);
  const Hierarchy h = HierarchyOf(node_of, rank);
  if (a == "hierarchical" && h.TwoLevel()) return HierarchicalSplit(kind, count, es, h);
  // Otherwise (hierarchical falls back to the flat ring) by the destination of every byte.
  const Tally t = TallyOf(kind, a, count, es, n, rank, root);
  NodeSplit s;
  for (int p = 0; p < n; ++p) (node_of[p] == node_of[rank] ? s.intra : s.inter) += t.to[p];
  return s;
}

NodeSplit ModelSentByNode(OpKind kind, const std::string& algo, size_t count, size_t es,
                          int per_node, int nodes, int rank, int root) {
  std::vector<int> node_of;
  for (int k = 0; k < nodes; ++k) node_of.insert(node_of.end(), static_cast<size_t>(per_node), k);
  return ModelSentByNode(kind, algo, count, es, node_of, rank, root);
}

}  // namespace tpbench
