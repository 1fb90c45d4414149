// patterns/algorithms_test.cc: every registered algorithm over the in-process ThreadTransport:
// world sizes 1..9, empty/odd/uneven counts, every dtype x reduction, in place and out of
// place, every root, eager and rendezvous sends, results checked exactly, guard bytes around
// every buffer and out-of-place inputs checked untouched. Iterates AllAlgorithms(), so a newly
// registered algorithm is covered without editing this file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "comm/coll.h"
#include "comm/error.h"
#include "comm/types.h"
#include "patterns/registry.h"
#include "patterns/testing/thread_transport.h"

namespace tpbench {
namespace {

constexpr size_t kGuard = 64;
constexpr char kGuardByte = 0x5C;
constexpr char kGarbage = 0x77;

bool Reduces(OpKind k) {
  return k == OpKind::kAllReduce || k == OpKind::kReduceScatter || k == OpKind::kReduce;
}
bool Rooted(OpKind k) { return k == OpKind::kBroadcast || k == OpKind::kReduce; }

struct Case {
  const Algorithm* alg = nullptr;
  int n = 1;
  size_t count = 0;
  DataType t = DataType::kF32;
  ReduceOp op = ReduceOp::kSum;
  bool in_place = false;
  int root = 0;
  bool rendezvous = false;

  std::string Describe() const {
    std::ostringstream s;
    s << OpKindName(alg->kind) << "/" << alg->name << " n=" << n << " count=" << count << " "
      << DataTypeName(t);
    if (Reduces(alg->kind)) s << " " << ReduceOpName(op);
    if (Rooted(alg->kind)) s << " root=" << root;
    s << (in_place ? " in-place" : " out-of-place") << (rendezvous ? " rendezvous" : " eager");
    return s.str();
  }
};

// Input element idx of rank q: small integers whose reduction over <= 9 ranks is exact in
// every dtype (sums <= 18, products <= 4, values < 97 otherwise).
double Input(const Case& c, int q, size_t idx) {
  if (!Reduces(c.alg->kind)) return static_cast<double>((q * 31 + idx) % 97);
  switch (c.op) {
    case ReduceOp::kSum: return static_cast<double>((q + idx) % 3);
    case ReduceOp::kProd: return (q + idx) % 7 == 0 ? 2.0 : 1.0;
    default: return static_cast<double>((q * 3 + idx * 5) % 7);
  }
}

double Combine(ReduceOp op, double x, double y) {
  switch (op) {
    case ReduceOp::kProd: return x * y;
    case ReduceOp::kMin: return std::min(x, y);
    case ReduceOp::kMax: return std::max(x, y);
    default: return x + y;
  }
}

double ReducedInput(const Case& c, size_t idx) {
  double v = Input(c, 0, idx);
  for (int q = 1; q < c.n; ++q) v = Combine(c.op, v, Input(c, q, idx));
  return v;
}

// Expected output element i on rank r.
double Expected(const Case& c, int r, size_t i) {
  const size_t cnt = c.count;
  switch (c.alg->kind) {
    case OpKind::kAllReduce:
    case OpKind::kReduce: return ReducedInput(c, i);
    case OpKind::kAllGather: return Input(c, static_cast<int>(i / cnt), i % cnt);
    case OpKind::kReduceScatter: return ReducedInput(c, r * cnt + i);
    case OpKind::kBroadcast: return Input(c, c.root, i);
    case OpKind::kAllToAll: return Input(c, static_cast<int>(i / cnt), r * cnt + i % cnt);
    default: return 0;
  }
}

// One rank's buffers: `in` elements of input at send, `out` elements of output at recv.
struct RankBufs {
  std::vector<char> a, b;  // storage with guards
  char* send = nullptr;
  char* recv = nullptr;
  size_t in = 0, out = 0;
};

void Alloc(std::vector<char>& v, size_t bytes) {
  v.assign(bytes + 2 * kGuard, kGarbage);
  std::memset(v.data(), kGuardByte, kGuard);
  std::memset(v.data() + kGuard + bytes, kGuardByte, kGuard);
}

bool GuardsIntact(const std::vector<char>& v) {
  if (v.empty()) return true;
  for (size_t i = 0; i < kGuard; ++i) {
    if (v[i] != kGuardByte || v[v.size() - 1 - i] != kGuardByte) return false;
  }
  return true;
}

struct Outcome {
  std::vector<RankStats> stats;
  std::vector<std::vector<char>> outputs;  // each rank's output bytes (if any)
};

// Runs one case; returns "" or a description of the first problem.
std::string RunCase(const Case& c, Outcome* outcome = nullptr,
                    const std::function<void(int, void*, size_t)>& fill = nullptr) {
  const OpKind k = c.alg->kind;
  const int n = c.n;
  const size_t es = DataTypeSize(c.t), cnt = c.count, nc = cnt * n;
  std::vector<RankBufs> bufs(n);
  for (int r = 0; r < n; ++r) {
    RankBufs& b = bufs[r];
    switch (k) {
      case OpKind::kAllGather: b.in = cnt, b.out = nc; break;
      case OpKind::kReduceScatter: b.in = nc, b.out = cnt; break;
      case OpKind::kAllToAll: b.in = nc, b.out = nc; break;
      default: b.in = cnt, b.out = cnt; break;
    }
    if (c.in_place) {
      const size_t io = std::max(b.in, b.out);
      Alloc(b.a, io * es);
      char* base = b.a.data() + kGuard;
      b.send = b.recv = base;
      if (k == OpKind::kAllGather) b.send = base + r * cnt * es;
      if (k == OpKind::kReduceScatter) b.recv = base + r * cnt * es;
    } else {
      const bool has_send = !(k == OpKind::kBroadcast && r != c.root);
      const bool has_recv = !(k == OpKind::kReduce && r != c.root);
      if (has_send) Alloc(b.a, b.in * es), b.send = b.a.data() + kGuard;
      if (has_recv) Alloc(b.b, b.out * es), b.recv = b.b.data() + kGuard;
    }
    if (b.send) {
      if (fill) {
        fill(r, b.send, b.in);
      } else {
        for (size_t i = 0; i < b.in; ++i) StoreFromDouble(b.send, i, c.t, Input(c, r, i));
      }
    }
  }
  std::vector<char> inputs_before;
  ThreadTransportOptions opts;
  opts.rendezvous = c.rendezvous;
  std::vector<RankStats> stats;
  try {
    stats = RunRanks(
        n,
        [&](P2P& p) {
          CollArgs a;
          a.kind = k;
          a.send = bufs[p.rank()].send;
          a.recv = bufs[p.rank()].recv;
          a.count = cnt;
          a.dtype = c.t;
          a.op = c.op;
          a.root = c.root;
          a.rank = p.rank();
          a.size = n;
          c.alg->run(p, a);
        },
        opts);
  } catch (const std::exception& e) {
    return c.Describe() + ": threw: " + e.what();
  }
  if (outcome) outcome->stats = stats, outcome->outputs.assign(n, {});
  for (int r = 0; r < n; ++r) {
    const RankBufs& b = bufs[r];
    if (!GuardsIntact(b.a) || !GuardsIntact(b.b)) {
      return c.Describe() + ": rank " + std::to_string(r) + " wrote outside its buffers";
    }
    if (!c.in_place && b.send && !fill) {
      for (size_t i = 0; i < b.in; ++i) {
        if (LoadAsDouble(b.send, i, c.t) != Input(c, r, i)) {
          return c.Describe() + ": rank " + std::to_string(r) + " modified its input at " +
                 std::to_string(i);
        }
      }
    }
    const bool has_result = !(k == OpKind::kReduce && r != c.root);
    if (!has_result) continue;
    if (outcome) outcome->outputs[r].assign(b.recv, b.recv + b.out * es);
    if (fill) continue;
    for (size_t i = 0; i < b.out; ++i) {
      const double got = LoadAsDouble(b.recv, i, c.t), want = Expected(c, r, i);
      if (got != want) {
        std::ostringstream s;
        s << c.Describe() << ": rank " << r << " element " << i << " is " << got << ", expected "
          << want;
        return s.str();
      }
    }
  }
  return "";
}

std::vector<int> Roots(const Algorithm& a, int n) {
  std::vector<int> roots = {0};
  if (Rooted(a.kind)) {
    for (int r = 1; r < n; ++r) roots.push_back(r);
  }
  return roots;
}

// Collects failures, reporting at most a few so one bug does not flood the log.
class Failures {
 public:
  // Runs the case unless enough failures were seen (a hanging bug costs a timeout each).
  void Run(const Case& c) {
    if (count_ <= 5) Check(RunCase(c));
  }
  void Check(const std::string& err) {
    ++runs_;
    if (err.empty()) return;
    if (++count_ <= 5) ADD_FAILURE() << err;
  }
  ~Failures() {
    if (count_ > 5) ADD_FAILURE() << count_ << " failing cases in total";
  }
  int runs() const { return runs_; }

 private:
  int count_ = 0, runs_ = 0;
};

TEST(Algorithms, RegistryIsNotEmpty) { ASSERT_GE(AllAlgorithms().size(), 14u); }

// Every algorithm, world size, awkward count, root and placement, f32 sum (and i32 max).
TEST(Algorithms, CountsWorldSizesRootsPlacement) {
  Failures f;
  for (const Algorithm& alg : AllAlgorithms()) {
    for (int n = 1; n <= 9; ++n) {
      std::vector<size_t> counts = {
          0, 1, 7, 1001, static_cast<size_t>(n - 1), static_cast<size_t>(n + 1)};
      std::sort(counts.begin(), counts.end());
      counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
      for (size_t count : counts) {
        for (int root : Roots(alg, n)) {
          for (bool in_place : {false, true}) {
            Case c{&alg, n, count, DataType::kF32, ReduceOp::kSum, in_place, root, false};
            f.Run(c);
          }
        }
      }
      Case c{&alg, n, 13, DataType::kI32, ReduceOp::kMax, false, n - 1, false};
      f.Run(c);
    }
  }
  EXPECT_GT(f.runs(), 3000);
}

// The full dtype x reduction matrix at a small odd count.
TEST(Algorithms, EveryDtypeAndReduction) {
  Failures f;
  for (const Algorithm& alg : AllAlgorithms()) {
    const bool reduces = Reduces(alg.kind);
    for (int n = 1; n <= 9; ++n) {
      for (DataType t : AllDataTypes()) {
        for (ReduceOp op : AllReduceOps()) {
          if (op == ReduceOp::kAvg) continue;  // mapped to sum + divide by the communicator
          if (!reduces && op != ReduceOp::kSum) continue;
          for (bool in_place : {false, true}) {
            Case c{&alg, n, 7, t, op, in_place, (n - 1) / 2, false};
            f.Run(c);
          }
        }
      }
    }
  }
  EXPECT_GT(f.runs(), 5000);
}

// Rendezvous sends: a send completes only when matched, as large UCX messages do.
TEST(Algorithms, RendezvousSends) {
  Failures f;
  for (const Algorithm& alg : AllAlgorithms()) {
    for (int n = 1; n <= 9; ++n) {
      for (size_t count : {size_t{1}, size_t{7}, size_t{1001}}) {
        for (bool in_place : {false, true}) {
          for (int root : {0, n - 1}) {
            Case c{&alg, n, count, DataType::kF32, ReduceOp::kSum, in_place, root, true};
            f.Run(c);
            if (!Rooted(alg.kind)) break;
          }
        }
      }
    }
  }
}

// About 1 MiB per op (several ring/chain segments) on a few world sizes.
TEST(Algorithms, OneMebibyte) {
  Failures f;
  for (const Algorithm& alg : AllAlgorithms()) {
    for (int n : {2, 3, 5, 8}) {
      const bool per_rank = alg.kind == OpKind::kAllGather || alg.kind == OpKind::kReduceScatter ||
                            alg.kind == OpKind::kAllToAll;
      const size_t count = (size_t{1} << 18) / (per_rank ? n : 1) + 3;  // f32: ~1 MiB, uneven
      Case c{&alg, n, count, DataType::kF32, ReduceOp::kSum, n % 2 == 1, 1 % n, n == 3};
      f.Run(c);
    }
  }
}

// all_reduce results are bit-identical on every rank even when rounding differs by order.
TEST(Algorithms, AllReduceBitIdenticalOnEveryRank) {
  Failures f;
  for (const Algorithm& alg : AllAlgorithms()) {
    if (alg.kind != OpKind::kAllReduce) continue;
    for (int n = 2; n <= 9; ++n) {
      for (DataType t : {DataType::kF32, DataType::kF16, DataType::kBF16}) {
        Case c{&alg, n, 1001, t, ReduceOp::kSum, false, 0, false};
        Outcome out;
        f.Check(RunCase(c, &out, [&](int r, void* buf, size_t cnt) {
          std::mt19937 rng(1234 + r);
          std::uniform_real_distribution<double> u(-1.0, 1.0);
          for (size_t i = 0; i < cnt; ++i) StoreFromDouble(buf, i, t, u(rng) * (1 + r));
        }));
        for (int r = 1; r < n; ++r) {
          f.Check(out.outputs[r] == out.outputs[0]
                      ? ""
                      : c.Describe() + ": rank " + std::to_string(r) + " differs from rank 0");
        }
      }
    }
  }
}

// ---- The transport itself -------------------------------------------------------------------

TEST(ThreadTransport, MatchesBySourceAndTagInOrderAndCounts) {
  auto stats = RunRanks(3, [](P2P& p) {
    if (p.rank() == 0) {
      int a = 1, b = 2, c = 3;
      p.Send(&a, sizeof a, 2, 5);
      p.Send(&b, sizeof b, 2, 5);
      p.Send(&c, sizeof c, 2, 6);
      p.Send(&c, 0, 2, 6);  // zero bytes: a no-op, not counted
    } else if (p.rank() == 1) {
      int d = 4;
      p.Send(&d, sizeof d, 2, 5);
    } else {
      int x = 0, y = 0, z = 0, w = 0;
      Request r[4] = {p.Irecv(&z, sizeof z, 0, 6), p.Irecv(&x, sizeof x, 0, 5),
                      p.Irecv(&y, sizeof y, 0, 5), p.Irecv(&w, sizeof w, 1, 5)};
      p.WaitAll(r, 4);
      EXPECT_EQ(x, 1);
      EXPECT_EQ(y, 2);
      EXPECT_EQ(z, 3);
      EXPECT_EQ(w, 4);
    }
  });
  EXPECT_EQ(stats[0].bytes, 12u);
  EXPECT_EQ(stats[0].msgs, 3u);
  EXPECT_EQ(stats[1].msgs, 1u);
  EXPECT_EQ(stats[2].msgs, 0u);
}

TEST(ThreadTransport, TimeoutNamesTheMissingPeer) {
  ThreadTransportOptions o;
  o.timeout = std::chrono::milliseconds(200);
  try {
    RunRanks(
        3,
        [](P2P& p) {
          int x = 0;
          if (p.rank() == 0) p.Recv(&x, sizeof x, 2, 7);
        },
        o);
    FAIL() << "expected a timeout";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kTimeout);
    EXPECT_NE(std::string(e.what()).find("recv from rank 2 (tag 7"), std::string::npos) << e.what();
  }
}

TEST(ThreadTransport, ExceptionInOneRankUnblocksTheOthers) {
  const auto start = std::chrono::steady_clock::now();
  try {
    RunRanks(4, [](P2P& p) {
      int x = 0;
      if (p.rank() == 3) throw UsageError("rank 3 failed on purpose");
      p.Recv(&x, sizeof x, 3, 0);
    });
    FAIL() << "expected the exception";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "rank 3 failed on purpose");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ThreadTransport, SizeMismatchIsAnError) {
  EXPECT_THROW(RunRanks(2,
                        [](P2P& p) {
                          char buf[8] = {};
                          if (p.rank() == 0) p.Send(buf, 8, 1, 0);
                          if (p.rank() == 1) p.Recv(buf, 4, 0, 0);
                        }),
               Error);
}

TEST(ThreadTransport, RendezvousSendWaitsForTheReceive) {
  ThreadTransportOptions o;
  o.rendezvous = true;
  o.timeout = std::chrono::milliseconds(200);
  // Both ranks send first and receive afterwards: fine eagerly, a deadlock in rendezvous.
  auto body = [](P2P& p) {
    int x = p.rank(), y = -1;
    p.Send(&x, sizeof x, 1 - p.rank(), 0);
    p.Recv(&y, sizeof y, 1 - p.rank(), 0);
  };
  EXPECT_NO_THROW(RunRanks(2, body));
  EXPECT_THROW(RunRanks(2, body, o), Error);
}

}  // namespace
}  // namespace tpbench
