// comm/smoke.cc: the multi-rank smoke test of a backend through the public Communicator API,
// with comm/verify's exactly checkable data. Run under mpirun by smoke_test.sh, or
// self-launched (smoke --backend ucx --np 8).
//
//   smoke --backend ucx|mpi          identity; every op x dtype x reduction (avg too) through
//                                    the named methods, in place and out of place; large
//                                    counts; every all_reduce algorithm; ring shifts and
//                                    send/recv order (inline and async) with exact counters;
//                                    barriers; async ops; unknown algorithms; splits (order,
//                                    names, nested, color < 0, interleaved with the world);
//                                    counters (exact, or unmeasured and 0); exit 0 or 7
//   smoke --backend B --hang barrier|recv|allreduce [--algo A]
//                                    rank 1 never joins the op: the others must exit 4 naming
//                                    the op (TPBENCH_TIMEOUT_S=2); rank 2 waits 60 s and is
//                                    ended by the launcher (its SIGTERM note names the op)
//   smoke --backend B --perf         quick timings: send/recv exchange and all_reduce per algorithm
//
// The exhaustive all-backends matrix (every algorithm, sizes, guards, volumes) is
// patterns/multirank_test.cc; this one checks what each backend maps onto its library.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "comm/bootstrap.h"
#include "comm/communicator.h"
#include "comm/error.h"
#include "comm/verify.h"
#include "comm/world.h"

namespace tpbench {
namespace {

constexpr int kSeed = 3;

bool Reduces(OpKind k) {
  return k == OpKind::kAllReduce || k == OpKind::kReduceScatter || k == OpKind::kReduce;
}

struct Checker {
  int rank = 0;
  int failures = 0;
  int cases = 0;
  void Expect(bool ok, const Communicator& c, const std::string& what) {
    ++cases;
    if (ok) return;
    if (failures < 20) {
      std::fprintf(stderr, "smoke: rank %d of '%s': FAIL %s\n", c.rank(), c.name().c_str(),
                   what.c_str());
    }
    ++failures;
  }
};

// The op of `a` through its named method (AllReduce, ..., Barrier), not Run().
WorkPtr Issue(Communicator& c, const CollArgs& a, const OpOptions& o) {
  switch (a.kind) {
    case OpKind::kAllReduce: return c.AllReduce(a.send, a.recv, a.count, a.dtype, a.op, o);
    case OpKind::kAllGather: return c.AllGather(a.send, a.recv, a.count, a.dtype, o);
    case OpKind::kReduceScatter: return c.ReduceScatter(a.send, a.recv, a.count, a.dtype, a.op, o);
    case OpKind::kBroadcast: return c.Broadcast(a.send, a.recv, a.count, a.dtype, a.root, o);
    case OpKind::kReduce: return c.Reduce(a.send, a.recv, a.count, a.dtype, a.op, a.root, o);
    case OpKind::kAllToAll: return c.AllToAll(a.send, a.recv, a.count, a.dtype, o);
    case OpKind::kSendRecv:
      if (a.peer_recv < 0) return c.Send(a.send, a.count, a.dtype, a.peer_send, o);
      if (a.peer_send < 0) return c.Recv(a.recv, a.count, a.dtype, a.peer_recv, o);
      return c.SendRecv(a.send, a.peer_send, a.recv, a.peer_recv, a.count, a.dtype, o);
    case OpKind::kBarrier: return c.Barrier(o);
    case OpKind::kInternal: break;
  }
  throw UsageError("smoke: no named method for this op");
}

// Buffers of one case, laid out per comm/coll.h (in place or not), send filled by FillInput.
struct Buffers {
  std::vector<char> send, recv;
};
CollArgs Prepare(CollArgs a, bool in_place, Buffers* b) {
  const size_t es = DataTypeSize(a.dtype), ns = SendElements(a), nr = RecvElements(a);
  b->recv.assign((in_place ? std::max(ns, nr) : nr) * es + 1, static_cast<char>(0xA5));
  char* recv = b->recv.data();
  char* send = recv;
  if (!in_place) {
    b->send.assign(ns * es + 1, 0);
    send = b->send.data();
  } else if (a.kind == OpKind::kAllGather) {
    send = recv + a.rank * a.count * es;
  } else if (a.kind == OpKind::kReduceScatter) {
    recv = send + a.rank * a.count * es;
  }
  const bool is_root = a.rank == a.root;
  if (!(a.kind == OpKind::kBroadcast && !is_root)) FillInput(a, send, kSeed);
  a.send = a.kind == OpKind::kBroadcast && !is_root ? nullptr : send;
  a.recv = a.kind == OpKind::kReduce && !is_root && !in_place ? nullptr : recv;
  return a;
}

std::string CaseName(const CollArgs& a, const std::string& algo, bool in_place) {
  return std::string(OpKindName(a.kind)) + "/" + algo + " " + DataTypeName(a.dtype) + " " +
         (Reduces(a.kind) ? std::string(ReduceOpName(a.op)) + " " : "") +
         (in_place ? "in place" : "out of place") + " n=" + std::to_string(a.count) +
         " root=" + std::to_string(a.root);
}

// Runs a (rank, size filled here) and checks the result with comm/verify.
void Case(Communicator& c, Checker& ck, CollArgs a, bool in_place, const std::string& algo,
          Stream stream = Stream::Inline()) {
  a.rank = c.rank();
  a.size = c.size();
  Buffers b;
  a = Prepare(a, in_place, &b);
  Issue(c, a, OpOptions{algo, stream})->Wait();
  const bool checks = !(a.kind == OpKind::kReduce && a.rank != a.root);
  const uint64_t wrong = checks ? CountWrong(a, a.recv, kSeed) : 0;
  ck.Expect(wrong == 0, c, CaseName(a, algo, in_place) + ": " + std::to_string(wrong) + " wrong");
}

CollArgs Args(OpKind kind, size_t n, DataType t, ReduceOp op = ReduceOp::kSum, int root = 0) {
  CollArgs a;
  a.kind = kind;
  a.count = n;
  a.dtype = t;
  a.op = op;
  a.root = root;
  return a;
}

// Every op x dtype x reduction, in place and out of place, n = 1 and 7 (mapping onto the
// library: MPI_IN_PLACE, user ops for f16/bf16, avg).
void Matrix(Communicator& c, Checker& ck) {
  const int me = c.rank(), n = c.size();
  for (OpKind kind : AllCollectives()) {
    for (DataType t : AllDataTypes()) {
      const std::vector<ReduceOp> ops =
          Reduces(kind) ? AllReduceOps() : std::vector<ReduceOp>{ReduceOp::kSum};
      for (ReduceOp op : ops) {
        for (size_t count : {size_t{1}, size_t{7}}) {
          for (bool in_place : {false, true}) {
            // comm/coll.h defines no in-place sendrecv; mpi maps send == recv onto
            // MPI_Sendrecv_replace, ucx's concurrent send and receive would race.
            if (kind == OpKind::kSendRecv && in_place && c.backend() != "mpi") continue;
            const int root = kind == OpKind::kReduce ? n - 1 : n / 2;
            CollArgs a = Args(kind, count, t, op, root);
            a.peer_send = kind == OpKind::kSendRecv ? (me + 1) % n : -1;
            a.peer_recv = kind == OpKind::kSendRecv ? (me + n - 1) % n : -1;
            Case(c, ck, a, in_place, "auto");
          }
        }
      }
    }
    // Send / Recv halves: even ranks send to the next odd rank.
    if (kind != OpKind::kSendRecv) continue;
    for (DataType t : AllDataTypes()) {
      CollArgs a = Args(kind, 7, t);
      if (me % 2 == 0 && me + 1 < n) a.peer_send = me + 1;
      if (me % 2 == 1) a.peer_recv = me - 1;
      if (a.peer_send >= 0 || a.peer_recv >= 0) Case(c, ck, a, false, "auto");
    }
  }
}

// Larger counts (segmented library algorithms, many user-op calls), and every algorithm of
// all_reduce at sizes around the eager/rendezvous switch.
void Large(Communicator& c, Checker& ck) {
  for (DataType t : {DataType::kF32, DataType::kF16, DataType::kBF16, DataType::kI8}) {
    Case(c, ck, Args(OpKind::kAllReduce, 20000, t), true, "auto");
    Case(c, ck, Args(OpKind::kReduceScatter, 20000, t, ReduceOp::kMax), false, "auto");
  }
  ck.Expect(c.Algorithms(OpKind::kAllReduce).size() > 1, c, "all_reduce algorithms linked");
  for (const std::string& algo : c.Algorithms(OpKind::kAllReduce)) {
    for (size_t count : {size_t{1}, size_t{7}, size_t{1000}, size_t{70000}}) {
      Case(c, ck, Args(OpKind::kAllReduce, count, DataType::kI32), false, algo);
    }
  }
}

// Ring shift (send to rank+1, receive from rank-1) for sizes around the eager/rendezvous
// switch; the send/recv counters must count exactly these messages.
void RingShift(Communicator& c, Checker& ck) {
  const int n = c.size(), me = c.rank();
  const OpCount before = c.counters().Get(OpKind::kSendRecv);
  uint64_t bytes = before.bytes, msgs = before.msgs;
  for (size_t count : {size_t{0}, size_t{1}, size_t{1000}, size_t{5000}, size_t{1} << 20}) {
    CollArgs a = Args(OpKind::kSendRecv, count, DataType::kI32);
    a.peer_send = (me + 1) % n;
    a.peer_recv = (me + n - 1) % n;
    Case(c, ck, a, false, "auto");
    if (count) bytes += count * 4, msgs += 1;
  }
  if (!c.counters().measured) return;
  const OpCount got = c.counters().Get(OpKind::kSendRecv);
  ck.Expect(got.bytes == bytes && got.msgs == msgs, c,
            "sendrecv counters: " + std::to_string(got.bytes) + " bytes / " +
                std::to_string(got.msgs) + " msgs, expected " + std::to_string(bytes) + " / " +
                std::to_string(msgs));
}

// Pairs (0,1), (2,3), ...: several sends in a row, inline then async, arrive in order.
void SendOrder(Communicator& c, Checker& ck) {
  const int me = c.rank(), peer = me ^ 1;
  if (peer >= c.size()) return;
  const bool sender = me % 2 == 0;
  for (int msg = 0; msg < 5; ++msg) {
    const Stream s = msg < 3 ? Stream::Inline() : Stream::Async();
    CollArgs a = Args(OpKind::kSendRecv, msg == 3 ? size_t{1} << 18 : 3000 + msg, DataType::kI32);
    (sender ? a.peer_send : a.peer_recv) = peer;
    Case(c, ck, a, false, "auto", s);
  }
  // Two async ops in flight at once, waited on in issue order.
  std::vector<int32_t> big(1 << 18, sender ? 7 : 0), one(1, sender ? 9 : 0);
  auto opts = OpOptions{"auto", Stream::Async()};
  WorkPtr w1 = sender ? c.Send(big.data(), big.size(), DataType::kI32, peer, opts)
                      : c.Recv(big.data(), big.size(), DataType::kI32, peer, opts);
  WorkPtr w2 = sender ? c.Send(one.data(), 1, DataType::kI32, peer, opts)
                      : c.Recv(one.data(), 1, DataType::kI32, peer, opts);
  w1->Wait();
  w2->Wait();
  ck.Expect(w1->Ok() && w2->Ok() && big[0] == 7 && one[0] == 9, c, "two async send/recv");
}

void Barriers(Communicator& c, Checker& ck) {
  for (int i = 0; i < 20; ++i) c.Barrier();
  if (c.counters().measured) {
    ck.Expect(c.counters().Get(OpKind::kBarrier).msgs > 0 || c.size() == 1, c, "barrier counted");
  }
}

// Async ops run in issue order on the progress thread; avg divides like the dtype rounds.
void Async(Communicator& c, Checker& ck) {
  Case(c, ck, Args(OpKind::kAllReduce, 5, DataType::kF32), true, "auto", Stream::Async());
  CollArgs s = Args(OpKind::kAllReduce, 5, DataType::kF32), v = s;
  v.op = ReduceOp::kAvg;
  s.rank = v.rank = c.rank();
  s.size = v.size = c.size();
  Buffers bs, bv;
  s = Prepare(s, true, &bs);
  v = Prepare(v, true, &bv);
  const OpOptions async{"auto", Stream::Async()};
  WorkPtr w1 = Issue(c, s, async), w2 = Issue(c, v, async);
  w2->Wait();
  w1->Wait();
  ck.Expect(w1->Ok() && w2->Ok(), c, "async ops ok");
  ck.Expect(CountWrong(s, s.recv, kSeed) == 0 && CountWrong(v, v.recv, kSeed) == 0, c,
            "async all_reduce sum and avg");
}

// An unknown algorithm is a usage error listing the valid ones, raised before any traffic.
void UnknownAlgorithm(Communicator& c, Checker& ck) {
  std::string valid;
  for (const std::string& a : c.Algorithms(OpKind::kAllReduce))
    valid += (valid.empty() ? "" : ", ") + a;
  float x = 1;
  std::string what;
  try {
    c.AllReduce(&x, &x, 1, DataType::kF32, ReduceOp::kSum, OpOptions{"no-such-algo", {}});
  } catch (const Error& e) {
    if (e.code() == ExitCode::kUsage) what = e.what();
  }
  ck.Expect(what.find("'no-such-algo'") != std::string::npos &&
                what.find("valid: " + valid) != std::string::npos,
            c, "unknown algorithm: usage error listing '" + valid + "', got '" + what + "'");
}

void Identity(Communicator& c, Checker& ck, const std::string& backend) {
  ck.Expect(c.backend() == backend, c, "backend() " + c.backend());
  ck.Expect(c.name() == "world", c, "name()");
  ck.Expect(c.size() == Bootstrap::size() && c.rank() == Bootstrap::rank(), c, "rank/size");
  for (int r = 0; r < c.size(); ++r) ck.Expect(c.world_ranks()[r] == r, c, "world_ranks");
  const std::vector<std::string> algos = c.Algorithms(OpKind::kAllReduce);
  ck.Expect(!algos.empty() && algos[0] == "auto", c, "Algorithms() starts with auto");
  if (backend == "mpi") {
    ck.Expect(algos == std::vector<std::string>{"auto", "native"}, c, "mpi: auto, native");
  }
}

// Sum of world ranks over a group, in i32 and bf16 (exact).
void GroupSum(Communicator& g, Checker& ck, const std::vector<int>& members) {
  for (DataType t : {DataType::kI32, DataType::kBF16}) {
    std::vector<char> v(3 * DataTypeSize(t));
    for (size_t i = 0; i < 3; ++i) StoreFromDouble(v.data(), i, t, Bootstrap::rank() + double(i));
    g.AllReduce(v.data(), v.data(), 3, t, ReduceOp::kSum);
    double s = 0;
    for (int r : members) s += r;
    bool ok = true;
    for (size_t i = 0; i < 3; ++i)
      ok &= LoadAsDouble(v.data(), i, t) == s + double(i) * members.size();
    ck.Expect(ok, g, std::string("split all_reduce of world ranks in ") + DataTypeName(t));
  }
}

void Split(Communicator& world, Checker& ck) {
  const int n = world.size(), me = world.rank();
  // Two groups by parity, ordered by descending world rank.
  auto half = world.Split(me % 2, -me);
  ck.Expect(half != nullptr, world, "split returned null for color >= 0");
  if (!half) return;
  std::vector<int> want;
  for (int r = n - 1; r >= 0; --r) {
    if (r % 2 == me % 2) want.push_back(r);
  }
  ck.Expect(half->world_ranks() == want, *half, "split world_ranks ordered by (key, rank)");
  ck.Expect(half->size() == static_cast<int>(want.size()), *half, "split size");
  ck.Expect(half->world_ranks()[half->rank()] == me, *half, "split world rank of self");
  ck.Expect(half->name() == "world/split(color=" + std::to_string(me % 2) + ")", *half,
            "split name " + half->name());
  ck.Expect(half->counters().Total().msgs == 0, *half, "a new group counts nothing");
  ck.Expect(half->timeout() == world.timeout(), *half, "a new group keeps the timeout");
  RingShift(*half, ck);
  Barriers(*half, ck);
  GroupSum(*half, ck, want);
  // A rank outside every group (color < 0), and nested splits.
  auto some = world.Split(me == 0 ? -1 : 0, me);
  ck.Expect((me == 0) == (some == nullptr), world, "color < 0 gives nullptr");
  auto nested = half->Split(0, 0);
  ck.Expect(nested->size() == half->size() && nested->rank() == half->rank(), *nested,
            "nested split");
  RingShift(*nested, ck);
  if (some) Barriers(*some, ck);
  auto tail = half->Split(half->rank() == 0 ? -1 : 0, 0);
  ck.Expect((tail == nullptr) == (half->rank() == 0), *half, "nested split with color -1");
  if (tail) {
    ck.Expect(tail->size() == half->size() - 1, *tail, "nested split size");
    ck.Expect(tail->name() == half->name() + "/split(color=0)", *tail, "nested split name");
    tail->Barrier();
  }
  // Interleave ops on the world and the groups: they must stay apart.
  RingShift(world, ck);
  world.Barrier();
  Large(*half, ck);
}

void Counters(Communicator& c, Checker& ck) {
  if (!c.counters().measured) {
    ck.Expect(c.counters().Total().bytes == 0, c, "unmeasured counters read 0");
    c.ResetCounters();
    ck.Expect(!c.counters().measured, c, "counters stay unmeasured after ResetCounters");
    return;
  }
  ck.Expect(c.counters().Total().bytes > 0, c, "measured counters count");
  c.ResetCounters();
  ck.Expect(c.counters().Total().msgs == 0 && c.counters().measured, c, "ResetCounters");
}

int Smoke(const std::string& backend) {
  auto world = CreateWorld(backend);
  Checker ck;
  const auto t0 = std::chrono::steady_clock::now();
  Identity(*world, ck, backend);
  RingShift(*world, ck);
  SendOrder(*world, ck);
  Barriers(*world, ck);
  Matrix(*world, ck);
  Large(*world, ck);
  Async(*world, ck);
  UnknownAlgorithm(*world, ck);
  Split(*world, ck);
  world->Barrier();
  Counters(*world, ck);
  const int64_t failures = Bootstrap::SumOverRanks(ck.failures);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (world->rank() == 0) {
    std::printf("smoke: %s: %d ranks, %d checks per rank, %lld failures, %.0f ms (%s progress)\n",
                backend.c_str(), world->size(), ck.cases, static_cast<long long>(failures), ms,
                Bootstrap::oversubscribed() ? "blocking" : "spinning");
  }
  world.reset();
  if (failures) throw WrongError("smoke: " + std::to_string(failures) + " failed checks");
  return 0;
}

// Quick timing figures (not a benchmark: bench/ is): send/recv exchange and all_reduce per
// algorithm.
int Perf(const std::string& backend) {
  auto world = CreateWorld(backend);
  Communicator& c = *world;
  const int n = c.size(), me = c.rank();
  std::vector<char> a(16 << 20, 1), b(16 << 20);
  auto time = [&](const char* what, size_t bytes, int iters, double factor, auto&& op) {
    c.Barrier();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) op();
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() /
        iters;
    if (me == 0) {
      std::printf("%-28s %10zu B %10.2f us  busbw %7.2f GB/s\n", what, bytes, us,
                  bytes * factor / us / 1e3);
    }
  };
  for (size_t bytes : {size_t{8}, size_t{65536}, size_t{1} << 20, size_t{16} << 20}) {
    const int iters = bytes <= 65536 ? 2000 : bytes <= (1 << 20) ? 200 : 20;
    if (n == 2) {  // both ranks send and receive at once: one-way latency per op
      time("sendrecv exchange", bytes, iters, 1.0,
           [&] { c.SendRecv(a.data(), 1 - me, b.data(), 1 - me, bytes, DataType::kU8); });
    }
    for (const std::string& algo : c.Algorithms(OpKind::kAllReduce)) {
      time(("all_reduce " + algo).c_str(), bytes, iters, 2.0 * (n - 1) / n, [&] {
        c.AllReduce(a.data(), b.data(), bytes / 4, DataType::kF32, ReduceOp::kSum, {algo});
      });
    }
  }
  return 0;
}

// Rank 1 stays away from the op; every other rank must time out naming it.
int Hang(const std::string& backend, const std::string& what, const std::string& algo) {
  auto world = CreateWorld(backend);
  if (world->size() < 2) throw UsageError("--hang needs at least 2 ranks");
  world->Barrier();  // everyone is up and connected
  if (world->rank() == 1) {
    std::this_thread::sleep_for(std::chrono::seconds(30));  // the launcher ends this rank
    return 0;
  }
  // Rank 2 waits longer than the others: when the launcher ends it, its SIGTERM handler
  // reports the op in flight (and, where the backend knows, the peers it waits for).
  if (world->rank() == 2) world->set_timeout(std::chrono::seconds(60));
  if (what == "barrier") {
    world->Barrier();
  } else if (what == "recv") {
    int32_t x = 0;
    world->Recv(&x, 1, DataType::kI32, 1);
  } else if (what == "allreduce") {
    std::vector<float> x(1 << 16, 1.0f);
    world->AllReduce(x.data(), x.data(), x.size(), DataType::kF32, ReduceOp::kSum, {algo});
  } else {
    throw UsageError("--hang: '" + what + "' is not barrier, recv or allreduce");
  }
  throw WrongError("smoke: the op finished although rank 1 never joined it");
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  using namespace tpbench;
  int relaunch = -1;
  int rc = RunMain([&] {
    relaunch = MaybeRelaunch(argc, argv);
    return 0;
  });
  if (rc != 0) return rc;
  if (relaunch >= 0) return relaunch;
  std::string backend, hang, algo = "auto";
  bool perf = false;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--backend") == 0 && has_value) backend = argv[i + 1];
    if (std::strcmp(argv[i], "--hang") == 0 && has_value) hang = argv[i + 1];
    if (std::strcmp(argv[i], "--algo") == 0 && has_value) algo = argv[i + 1];
    if (std::strcmp(argv[i], "--perf") == 0) perf = true;
  }
  rc = RunMain([&] {
    Bootstrap::Init(&argc, &argv);
    if (backend.empty()) throw UsageError("--backend is required (ucx, mpi)");
    if (perf) return Perf(backend);
    return hang.empty() ? Smoke(backend) : Hang(backend, hang, algo);
  });
  // On failure, skip MPI_Finalize (it would wait for the stuck peers): the launcher sees the
  // exit code and ends the job.
  if (rc == 0) Bootstrap::Finalize();
  return rc;
}
