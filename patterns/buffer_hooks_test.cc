// patterns/buffer_hooks_test.cc: every algorithm touches buffer contents only through the
// transport's hooks (P2P::Reduce, P2P::Copy), which is what lets the same algorithms run on
// device memory (comm/nccl). A wrapper P2P over the in-process transport counts the hook calls
// and can swap the reduction: with the hook's op forced to max, a sum must come out as the
// max on every rank, which fails if any reduction bypasses the hook (a direct ReduceInto).
// Copies are counted and the results checked; the copy path's bypass check is the grep-able
// rule in comm/p2p.h (no memcpy in patterns/), not a test.
// Also the NCCL transport's matching rule (comm/nccl/nccl_transport.h): messages are matched
// per ordered pair in posting order with tags ignored, sizes equal. With every tag mapped to
// 0 and rendezvous sends, every algorithm must still be exact. Even world sizes run on 2
// emulated nodes, so the hierarchical algorithms take their two-level path.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "comm/coll.h"
#include "comm/p2p.h"
#include "comm/types.h"
#include "patterns/registry.h"
#include "patterns/testing/thread_transport.h"

namespace tpbench {
namespace {

// Forwards everything to `inner`; Reduce and Copy go through the default (host) hooks of the
// inner transport after being counted, with the reduction optionally replaced.
class HookedP2P final : public P2P {
 public:
  HookedP2P(P2P& inner, const ReduceOp* force, bool tag_blind = false)
      : inner_(inner), force_(force), tag_blind_(tag_blind) {}
  int rank() const override { return inner_.rank(); }
  int size() const override { return inner_.size(); }
  Request Isend(const void* b, size_t n, int peer, int tag) override {
    return inner_.Isend(b, n, peer, tag_blind_ ? 0 : tag);
  }
  Request Irecv(void* b, size_t n, int peer, int tag) override {
    return inner_.Irecv(b, n, peer, tag_blind_ ? 0 : tag);
  }
  void WaitAll(Request* r, int n) override { inner_.WaitAll(r, n); }
  char* Scratch(size_t bytes, int slot) override { return inner_.Scratch(bytes, slot); }
  int node(int r) const override { return inner_.node(r); }
  void Reduce(void* out, const void* a, const void* b, size_t count, DataType t, ReduceOp op,
              bool streaming) override {
    ++reduces;
    inner_.Reduce(out, a, b, count, t, force_ ? *force_ : op, streaming);
  }
  void Copy(void* dst, const void* src, size_t bytes) override {
    if (bytes > 0 && dst != src) ++copies;
    inner_.Copy(dst, src, bytes);
  }
  int reduces = 0, copies = 0;

 private:
  P2P& inner_;
  const ReduceOp* force_;
  bool tag_blind_;
};

bool Reduces(OpKind k) {
  return k == OpKind::kAllReduce || k == OpKind::kReduceScatter || k == OpKind::kReduce;
}

// Rank q's element i: small integers, exact in f32.
float In(int q, size_t i) { return static_cast<float>((q * 7 + i * 3) % 5); }

struct Outcome {
  std::vector<std::vector<float>> out;  // per rank
  int reduces = 0, copies = 0;
};

// Runs alg on n ranks over HookedP2P: f32, `count` elements per block, out of place.
// n_nodes > 1: ranks spread over that many emulated nodes in consecutive runs (P2P::node), so
// the hierarchical algorithms take their two-level path.
Outcome RunHooked(const Algorithm& alg, int n, size_t count, const ReduceOp* force,
                  bool tag_blind = false, int n_nodes = 1) {
  const bool split = alg.kind == OpKind::kReduceScatter || alg.kind == OpKind::kAllToAll;
  const bool gathers = alg.kind == OpKind::kAllGather || alg.kind == OpKind::kAllToAll;
  const size_t in_n = split ? count * n : count, out_n = gathers ? count * n : count;
  Outcome o;
  o.out.assign(n, std::vector<float>(out_n, -1.f));
  std::vector<std::vector<float>> in(n, std::vector<float>(in_n));
  for (int q = 0; q < n; ++q) {
    for (size_t i = 0; i < in_n; ++i) in[q][i] = In(q, i);
  }
  std::atomic<int> reduces{0}, copies{0};
  ThreadTransportOptions opts;
  opts.rendezvous = tag_blind;
  for (int r = 0; r < n && n_nodes > 1; ++r) opts.nodes.push_back(r * n_nodes / n);
  RunRanks(
      n,
      [&](P2P& p) {
        HookedP2P h(p, force, tag_blind);
        CollArgs a;
        a.kind = alg.kind;
        a.send = in[p.rank()].data();
        a.recv = o.out[p.rank()].data();
        a.count = count;
        a.op = ReduceOp::kSum;
        a.rank = p.rank();
        a.size = n;
        alg.run(h, a);
        reduces += h.reduces;
        copies += h.copies;
      },
      opts);
  o.reduces = reduces;
  o.copies = copies;
  return o;
}

// Expected element i of rank r's output when reducing with `op` (sum or max).
float Expected(OpKind k, int n, int r, size_t count, size_t i, ReduceOp op) {
  const size_t idx = k == OpKind::kReduceScatter ? r * count + i : i;
  float v = In(0, idx);
  for (int q = 1; q < n; ++q) v = op == ReduceOp::kMax ? std::max(v, In(q, idx)) : v + In(q, idx);
  return v;
}

TEST(BufferHooks, EveryReductionGoesThroughTheHook) {
  const ReduceOp kMax = ReduceOp::kMax;
  for (const Algorithm& alg : AllAlgorithms()) {
    if (!Reduces(alg.kind)) continue;
    for (int n : {2, 3, 4, 5, 6}) {
      const size_t count = 1000;
      const std::string what =
          std::string(OpKindName(alg.kind)) + "/" + alg.name + " n=" + std::to_string(n);
      for (const ReduceOp* force : {static_cast<const ReduceOp*>(nullptr), &kMax}) {
        const ReduceOp expect_op = force ? kMax : ReduceOp::kSum;
        Outcome o = RunHooked(alg, n, count, force, false, n % 2 == 0 ? 2 : 1);
        EXPECT_GT(o.reduces, 0) << what;
        for (int r = 0; r < n; ++r) {
          if (alg.kind == OpKind::kReduce && r != 0) continue;  // root 0 only
          for (size_t i = 0; i < count; ++i) {
            ASSERT_EQ(o.out[r][i], Expected(alg.kind, n, r, count, i, expect_op))
                << what << (force ? " (hook forced to max)" : "") << " rank " << r << " elem " << i;
          }
        }
      }
    }
  }
}

// What every rank's output must be (sum for the reducing kinds).
void ExpectExact(const Algorithm& alg, int n, size_t count, const Outcome& o,
                 const std::string& what) {
  for (int r = 0; r < n; ++r) {
    if (alg.kind == OpKind::kReduce && r != 0) continue;
    const std::vector<float>& out = o.out[r];
    for (size_t i = 0; i < out.size(); ++i) {
      float want = In(0, i);  // broadcast from root 0
      if (Reduces(alg.kind)) want = Expected(alg.kind, n, r, count, i, ReduceOp::kSum);
      if (alg.kind == OpKind::kAllGather) want = In(static_cast<int>(i / count), i % count);
      if (alg.kind == OpKind::kAllToAll) {
        want = In(static_cast<int>(i / count), r * count + i % count);
      }
      ASSERT_EQ(out[i], want) << what << " rank " << r << " elem " << i;
    }
  }
}

TEST(BufferHooks, AlgorithmsNeedNoTags) {
  for (const Algorithm& alg : AllAlgorithms()) {
    for (int n : {2, 3, 4, 5, 8}) {
      for (size_t count : {size_t{1}, size_t{300}, size_t{70000}}) {
        const std::string what = std::string(OpKindName(alg.kind)) + "/" + alg.name +
                                 " n=" + std::to_string(n) + " count=" + std::to_string(count) +
                                 " (tags ignored, rendezvous)";
        Outcome o;
        try {
          o = RunHooked(alg, n, count, nullptr, /*tag_blind=*/true, n % 2 == 0 ? 2 : 1);
        } catch (const std::exception& e) {
          ADD_FAILURE() << what << ": " << e.what();
          continue;
        }
        ExpectExact(alg, n, count, o, what);
      }
    }
  }
}

// The failure the test above exists to catch: a pattern that relies on tags (rank 1 receives
// tag 2 before tag 1, of other sizes) is exact with tags and broken without them.
TEST(BufferHooks, TagBlindMatchingBreaksATagReliantPattern) {
  auto run = [](bool tag_blind) {
    bool ok = true;
    ThreadTransportOptions opts;
    opts.rendezvous = true;
    opts.timeout = std::chrono::milliseconds(2000);
    try {
      RunRanks(
          2,
          [&](P2P& p) {
            HookedP2P h(p, nullptr, tag_blind);
            int a[1] = {11}, b[2] = {21, 22};
            if (h.rank() == 0) {
              Request r[2] = {h.Isend(a, sizeof a, 1, 1), h.Isend(b, sizeof b, 1, 2)};
              h.WaitAll(r, 2);
            } else {
              int x[1] = {0}, y[2] = {0, 0};
              Request r[2] = {h.Irecv(y, sizeof y, 0, 2), h.Irecv(x, sizeof x, 0, 1)};
              h.WaitAll(r, 2);
              ok = x[0] == 11 && y[0] == 21 && y[1] == 22;
            }
          },
          opts);
    } catch (const std::exception&) {
      ok = false;  // sizes do not match, or a timeout
    }
    return ok;
  };
  EXPECT_TRUE(run(false));
  EXPECT_FALSE(run(true));
}

TEST(BufferHooks, MovingAlgorithmsCopyThroughTheHook) {
  for (const Algorithm& alg : AllAlgorithms()) {
    if (Reduces(alg.kind)) continue;
    const int n = 3;
    const size_t count = 257;
    Outcome o = RunHooked(alg, n, count, nullptr, false, 1);
    Outcome o2 = RunHooked(alg, 4, count, nullptr, false, 2);  // hierarchical: two levels
    EXPECT_GT(o2.copies, 0) << OpKindName(alg.kind) << "/" << alg.name << " on 2 nodes";
    ExpectExact(alg, 4, count, o2, std::string(alg.name) + " on 2 nodes");
    const std::string what = std::string(OpKindName(alg.kind)) + "/" + alg.name;
    // Out of place, every algorithm copies at least the root's / its own block locally.
    EXPECT_GT(o.copies, 0) << what;
    for (int r = 0; r < n; ++r) {
      const std::vector<float>& out = o.out[r];
      for (size_t i = 0; i < out.size(); ++i) {
        float want = In(0, i);  // broadcast from root 0
        if (alg.kind == OpKind::kAllGather) want = In(static_cast<int>(i / count), i % count);
        if (alg.kind == OpKind::kAllToAll) {
          want = In(static_cast<int>(i / count), r * count + i % count);
        }
        ASSERT_EQ(out[i], want) << what << " rank " << r << " elem " << i;
      }
    }
  }
}

}  // namespace
}  // namespace tpbench
