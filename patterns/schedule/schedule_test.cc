// patterns/schedule/schedule_test.cc: the schedules simulated symbolically for world sizes
// 1..9 (every root): each rank's state is the set of blocks it holds or, for reductions, the
// set of ranks whose contributions a partial contains. Reduce-scatter steps must combine
// disjoint sets, every block must reach every rank that needs it exactly once, and the final
// state must be complete.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

#include "patterns/schedule/binomial_tree.h"
#include "patterns/schedule/blocks.h"
#include "patterns/schedule/bruck.h"
#include "patterns/schedule/chain.h"
#include "patterns/schedule/pairwise.h"
#include "patterns/schedule/recursive_doubling.h"
#include "patterns/schedule/ring.h"

namespace tpbench {
namespace {

using Mask = uint32_t;  // set of ranks (n <= 9) or of blocks
Mask All(int n) { return (Mask{1} << n) - 1; }
Mask Bit(int i) { return Mask{1} << i; }

TEST(Blocks, PartitionCoversCountWithNearlyEqualBlocks) {
  for (int n = 1; n <= 9; ++n) {
    for (size_t count = 0; count <= 40; ++count) {
      const BlockPartition p{count, n};
      size_t total = 0;
      for (int i = 0; i < n; ++i) {
        EXPECT_EQ(p.Offset(i), total);
        EXPECT_LE(p.Size(i), p.Size(0));
        EXPECT_GE(p.Size(i) + 1, p.Size(0));
        total += p.Size(i);
      }
      EXPECT_EQ(total, count);
      EXPECT_EQ(p.Offset(n), count);
      EXPECT_EQ(p.Span(0, n), count);
    }
  }
  EXPECT_EQ(NumSegments(0, 4), 0u);
  EXPECT_EQ(NumSegments(9, 4), 3u);
}

TEST(Ring, ReduceScatterCombinesDisjointPartialsAndCompletes) {
  for (int n = 1; n <= 9; ++n) {
    // part[r][b]: contributions in rank r's partial of block b.
    std::vector<std::vector<Mask>> part(n, std::vector<Mask>(n));
    for (int r = 0; r < n; ++r) {
      for (int b = 0; b < n; ++b) part[r][b] = Bit(r);
    }
    for (int k = 0; k < n - 1; ++k) {
      std::vector<std::vector<Mask>> next = part;
      for (int r = 0; r < n; ++r) {
        const RingStep s = RingReduceScatterStep(r, n, k);
        const int to = RingRight(r, n);
        const RingStep t = RingReduceScatterStep(to, n, k);
        ASSERT_EQ(t.recv_block, s.send_block) << "n=" << n << " k=" << k;
        ASSERT_EQ(part[r][s.send_block] & part[to][s.send_block], 0u) << "overlap";
        next[to][s.send_block] |= part[r][s.send_block];
      }
      part = next;
    }
    for (int r = 0; r < n; ++r) EXPECT_EQ(part[r][r], All(n)) << "n=" << n << " r=" << r;
  }
}

TEST(Ring, AllGatherDeliversEveryBlockOnce) {
  for (int n = 1; n <= 9; ++n) {
    std::vector<Mask> have(n);
    for (int r = 0; r < n; ++r) have[r] = Bit(r);
    for (int k = 0; k < n - 1; ++k) {
      std::vector<Mask> next = have;
      for (int r = 0; r < n; ++r) {
        const RingStep s = RingAllGatherStep(r, n, k);
        const int to = RingRight(r, n);
        ASSERT_TRUE(have[r] & Bit(s.send_block)) << "sends a block it lacks";
        ASSERT_EQ(RingAllGatherStep(to, n, k).recv_block, s.send_block);
        ASSERT_FALSE(next[to] & Bit(s.send_block)) << "delivered twice";
        next[to] |= Bit(s.send_block);
      }
      have = next;
    }
    for (int r = 0; r < n; ++r) EXPECT_EQ(have[r], All(n));
  }
}

TEST(Fold, GroupsAreContiguousAndCoverAllRanks) {
  for (int n = 1; n <= 9; ++n) {
    const Fold f(n);
    EXPECT_EQ(f.pof2 + f.rem, n);
    EXPECT_EQ(1 << f.steps, f.pof2);
    EXPECT_LT(f.rem, f.pof2 == 1 ? 1 : f.pof2);
    EXPECT_EQ(f.First(0), 0);
    EXPECT_EQ(f.First(f.pof2), n);
    std::set<int> news;
    for (int r = 0; r < n; ++r) {
      const int nr = f.NewRank(r);
      EXPECT_EQ(nr < 0, f.IsExtra(r));
      if (nr >= 0) {
        EXPECT_EQ(f.OldRank(nr), r);
        EXPECT_TRUE(news.insert(nr).second);
        EXPECT_GE(r, f.First(nr));
        EXPECT_LT(r, f.First(nr + 1));
      } else {
        EXPECT_TRUE(f.IsProxy(f.FoldPartner(r)));
        EXPECT_EQ(f.FoldPartner(f.FoldPartner(r)), r);
        EXPECT_EQ(f.First(f.NewRank(r + 1)), r);  // the proxy's group starts at its extra
      }
    }
    EXPECT_EQ(static_cast<int>(news.size()), f.pof2);
    for (int g = 0; g < f.pof2; ++g) {
      const int len = f.First(g + 1) - f.First(g);
      EXPECT_TRUE(len == 1 || len == 2);
    }
  }
}

// Folded recursive halving as a reduce-scatter of n blocks (one per original rank, grouped by
// new rank) followed by recursive doubling: the reduce_scatter/recursive_halving,
// all_reduce/rabenseifner and all_gather/recursive_doubling schedules.
TEST(RecursiveHalvingDoubling, FoldedReduceScatterAndAllGatherComplete) {
  for (int n = 1; n <= 9; ++n) {
    const Fold f(n);
    const int p = f.pof2;
    // part[nr][g]: contributions in new rank nr's partial of group g; the fold merges each
    // extra rank into its proxy.
    std::vector<std::vector<Mask>> part(p, std::vector<Mask>(p));
    for (int nr = 0; nr < p; ++nr) {
      Mask m = Bit(f.OldRank(nr));
      if (f.IsProxy(f.OldRank(nr))) {
        ASSERT_EQ(m & Bit(f.OldRank(nr) - 1), 0u);
        m |= Bit(f.OldRank(nr) - 1);
      }
      for (int g = 0; g < p; ++g) part[nr][g] = m;
    }
    std::vector<Mask> resp(p, All(p));  // groups each new rank is still responsible for
    for (int s = 0; s < f.steps; ++s) {
      auto next = part;
      for (int nr = 0; nr < p; ++nr) {
        const HalvingStep h = RecursiveHalvingStep(nr, p, s);
        const HalvingStep ph = RecursiveHalvingStep(h.partner, p, s);
        ASSERT_EQ(ph.partner, nr);
        ASSERT_EQ(ph.keep_lo, h.send_lo);
        ASSERT_EQ(ph.keep_hi, h.send_hi);
        ASSERT_EQ(h.keep_hi - h.keep_lo, p >> (s + 1));
        ASSERT_TRUE(h.keep_lo <= nr && nr < h.keep_hi);
        for (int g = h.keep_lo; g < h.keep_hi; ++g) {
          ASSERT_TRUE(resp[nr] & Bit(g));
          ASSERT_EQ(part[nr][g] & part[h.partner][g], 0u) << "overlap n=" << n;
          next[nr][g] |= part[h.partner][g];
        }
        Mask keep = 0;
        for (int g = h.keep_lo; g < h.keep_hi; ++g) keep |= Bit(g);
        resp[nr] &= keep;
      }
      part = next;
    }
    for (int nr = 0; nr < p; ++nr) {
      EXPECT_EQ(resp[nr], Bit(nr));
      EXPECT_EQ(part[nr][nr], All(n)) << "n=" << n << " nr=" << nr;
    }
    // Recursive doubling all-gather of the groups.
    std::vector<Mask> have(p);
    for (int nr = 0; nr < p; ++nr) have[nr] = Bit(nr);
    for (int s = 0; s < f.steps; ++s) {
      auto next = have;
      for (int nr = 0; nr < p; ++nr) {
        const DoublingStep d = RecursiveDoublingStep(nr, s);
        const DoublingStep pd = RecursiveDoublingStep(d.partner, s);
        ASSERT_EQ(pd.have_lo, d.recv_lo);
        ASSERT_EQ(pd.have_hi, d.recv_hi);
        for (int g = d.have_lo; g < d.have_hi; ++g) ASSERT_TRUE(have[nr] & Bit(g));
        for (int g = d.recv_lo; g < d.recv_hi; ++g) {
          ASSERT_FALSE(next[nr] & Bit(g)) << "delivered twice";
          next[nr] |= Bit(g);
        }
      }
      have = next;
    }
    for (int nr = 0; nr < p; ++nr) EXPECT_EQ(have[nr], All(p));
  }
}

TEST(Bruck, EveryBlockArrivesOnceInSlotOrder) {
  for (int n = 1; n <= 9; ++n) {
    // slots[r][j] = block held in slot j (-1: empty).
    std::vector<std::vector<int>> slots(n, std::vector<int>(n, -1));
    for (int r = 0; r < n; ++r) slots[r][0] = r;
    for (int k = 0; k < BruckSteps(n); ++k) {
      auto next = slots;
      for (int r = 0; r < n; ++r) {
        const BruckStep s = BruckAllGatherStep(r, n, k);
        const BruckStep t = BruckAllGatherStep(s.send_to, n, k);
        ASSERT_EQ(t.recv_from, r);
        ASSERT_EQ(t.blocks, s.blocks);
        for (int j = 0; j < s.blocks; ++j) {
          ASSERT_GE(slots[r][j], 0) << "sends an empty slot";
          ASSERT_EQ(next[s.send_to][t.recv_at + j], -1) << "slot filled twice";
          next[s.send_to][t.recv_at + j] = slots[r][j];
        }
      }
      slots = next;
    }
    for (int r = 0; r < n; ++r) {
      for (int j = 0; j < n; ++j) EXPECT_EQ(slots[r][j], (r + j) % n) << "n=" << n;
    }
  }
}

TEST(BinomialTree, EveryRankReceivesOnceAndSubtreesPartition) {
  for (int n = 1; n <= 9; ++n) {
    int depth_bound = 0;
    while ((1 << depth_bound) < n) ++depth_bound;
    for (int root = 0; root < n; ++root) {
      std::vector<BinomialNode> t(n);
      for (int r = 0; r < n; ++r) t[r] = BinomialTreeNode(r, n, root);
      std::vector<int> received(n, 0), depth(n, 0);
      EXPECT_EQ(t[root].parent, -1);
      EXPECT_EQ(t[root].vrank, 0);
      EXPECT_EQ(t[root].vend, n);
      // Deliver breadth first from the root; each child must name its parent back.
      std::vector<int> frontier = {root};
      received[root] = 1;
      while (!frontier.empty()) {
        std::vector<int> next;
        for (int r : frontier) {
          int covered = t[r].vrank + 1;  // children's subtrees tile (vrank, vend) in order
          for (int i = t[r].num_children - 1; i >= 0; --i) {
            const BinomialChild& c = t[r].children[i];
            EXPECT_EQ(t[c.rank].parent, r);
            EXPECT_EQ(t[c.rank].vrank, c.vrank);
            EXPECT_EQ(t[c.rank].vend, c.vend);
            EXPECT_EQ(c.vrank, covered);
            covered = c.vend;
            ++received[c.rank];
            depth[c.rank] = depth[r] + 1;
            next.push_back(c.rank);
          }
          EXPECT_EQ(covered, t[r].vend);
          if (t[r].num_children == 0) {
            EXPECT_EQ(t[r].vend, t[r].vrank + 1);
          }
        }
        frontier = next;
      }
      for (int r = 0; r < n; ++r) {
        EXPECT_EQ(received[r], 1) << "n=" << n << " root=" << root << " r=" << r;
        EXPECT_LE(depth[r], depth_bound);
      }
    }
  }
}

TEST(Chain, VisitsEveryRankOnceFromTheRoot) {
  for (int n = 1; n <= 9; ++n) {
    for (int root = 0; root < n; ++root) {
      std::vector<int> seen(n, 0);
      int r = root, hops = 0;
      EXPECT_EQ(ChainPrev(root, n, root), -1);
      while (r >= 0) {
        ++seen[r];
        const int next = ChainNext(r, n, root);
        if (next >= 0) {
          EXPECT_EQ(ChainPrev(next, n, root), r);
        }
        r = next;
        ASSERT_LE(++hops, n);
      }
      for (int q = 0; q < n; ++q) EXPECT_EQ(seen[q], 1);
    }
  }
}

TEST(Pairwise, EveryOrderedPairExchangesOnce) {
  for (int n = 1; n <= 9; ++n) {
    std::vector<std::vector<int>> got(n, std::vector<int>(n, 0));
    for (int k = 1; k < n; ++k) {
      for (int r = 0; r < n; ++r) {
        const PairwiseStep s = PairwiseExchangeStep(r, n, k);
        EXPECT_NE(s.send_to, r);
        EXPECT_EQ(PairwiseExchangeStep(s.send_to, n, k).recv_from, r);
        ++got[s.send_to][r];
      }
    }
    for (int a = 0; a < n; ++a) {
      for (int b = 0; b < n; ++b) EXPECT_EQ(got[a][b], a == b ? 0 : 1);
    }
  }
}

// broadcast/scatter_allgather: the binomial scatter hands every relative rank its block
// from a holder, then the ring all-gather (root receives nothing, its left neighbour sends
// nothing) completes every rank with each missing block arriving once.
TEST(ScatterAllGather, ScatterThenRingDeliversEverything) {
  for (int n = 1; n <= 9; ++n) {
    for (int root = 0; root < n; ++root) {
      std::vector<Mask> have(n, 0);  // relative blocks held, by relative rank
      have[0] = All(n);
      // Scatter, breadth first.
      std::vector<int> frontier = {root};
      while (!frontier.empty()) {
        std::vector<int> next;
        for (int r : frontier) {
          const BinomialNode t = BinomialTreeNode(r, n, root);
          for (int i = 0; i < t.num_children; ++i) {
            const BinomialChild& c = t.children[i];
            for (int b = c.vrank; b < c.vend; ++b) {
              ASSERT_TRUE(have[t.vrank] & Bit(b));
              have[c.vrank] |= Bit(b);
            }
            next.push_back(c.rank);
          }
        }
        frontier = next;
      }
      for (int v = 0; v < n; ++v) ASSERT_TRUE(have[v] & Bit(v));
      // Ring in relative ranks; only own blocks count as held before it.
      std::vector<Mask> ring(n);
      for (int v = 0; v < n; ++v) ring[v] = v == 0 ? All(n) : Bit(v);
      for (int k = 0; k < n - 1; ++k) {
        auto next = ring;
        for (int v = 0; v < n - 1; ++v) {  // v = n-1 sends nothing
          const RingStep s = RingAllGatherStep(v, n, k);
          ASSERT_TRUE(ring[v] & Bit(s.send_block));
          ASSERT_FALSE(next[v + 1] & Bit(s.send_block)) << "delivered twice";
          next[v + 1] |= Bit(s.send_block);
        }
        ring = next;
      }
      for (int v = 0; v < n; ++v) EXPECT_EQ(ring[v], All(n)) << "n=" << n << " root=" << root;
    }
  }
}

}  // namespace
}  // namespace tpbench
