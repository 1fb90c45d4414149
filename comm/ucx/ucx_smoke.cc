// comm/ucx/ucx_smoke.cc: a multi-rank smoke test of the ucx backend, run under mpirun by
// ucx_smoke_test.sh (or self-launched: ucx_smoke --np 8).
//
//   ucx_smoke [--np N]                     send/recv, barrier, split, collectives; exit 0
//   ucx_smoke --perf [--np 2]              quick timings: ping-pong and all_reduce
//   ucx_smoke --hang barrier|recv|allreduce rank 1 never joins the op; the others must fail
//                                          with exit code 4 naming the op and rank 1
//                                          (run with TPBENCH_TIMEOUT_S=2); rank 2 waits
//                                          60 s and is ended by the launcher instead
//
// Every result is checked exactly; a mismatch exits 7 naming the check and rank.
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "comm/bootstrap.h"
#include "comm/error.h"
#include "comm/ucx/ucx_communicator.h"

namespace tpbench {
namespace {

void Expect(bool ok, const Communicator& c, const std::string& what) {
  if (!ok) {
    throw WrongError("ucx_smoke: " + what + " (rank " + std::to_string(c.rank()) + " of '" +
                     c.name() + "')");
  }
}

int32_t Value(int rank, size_t i) { return static_cast<int32_t>(rank * 1000003 + i * 7 + 1); }

// Ring shift: send to rank+1, receive from rank-1, for sizes around the eager/rendezvous
// switch; checks data and the send/recv counters exactly.
void TestRingShift(Communicator& c) {
  const int n = c.size(), me = c.rank();
  const int right = (me + 1) % n, left = (me - 1 + n) % n;
  const OpCount before = c.counters().Get(OpKind::kSendRecv);
  uint64_t bytes = before.bytes, msgs = before.msgs;
  for (size_t count : {size_t{0}, size_t{1}, size_t{1000}, size_t{5000}, size_t{1} << 20}) {
    std::vector<int32_t> s(count), r(count, -1);
    for (size_t i = 0; i < count; ++i) s[i] = Value(me, i);
    c.SendRecv(s.data(), right, r.data(), left, count, DataType::kI32);
    for (size_t i = 0; i < count; ++i) {
      if (r[i] != Value(left, i)) {
        Expect(false, c,
               "ring shift of " + std::to_string(count) + " x i32: element " + std::to_string(i) +
                   " is " + std::to_string(r[i]));
      }
    }
    if (count) bytes += count * 4, msgs += 1;
  }
  OpCount got = c.counters().Get(OpKind::kSendRecv);
  Expect(got.bytes == bytes && got.msgs == msgs, c,
         "sendrecv counters: " + std::to_string(got.bytes) + " bytes / " +
             std::to_string(got.msgs) + " msgs, expected " + std::to_string(bytes) + " / " +
             std::to_string(msgs));
}

// Pairs (0,1), (2,3), ...: several sends in a row (inline and async) arrive in order.
void TestSendRecv(Communicator& c) {
  const int me = c.rank();
  const int peer = me ^ 1;
  if (peer >= c.size()) return;
  const size_t kCount = 3000;
  std::vector<int32_t> a(kCount), b(kCount), big(1 << 18);
  if (me % 2 == 0) {
    for (int msg = 0; msg < 3; ++msg) {
      for (size_t i = 0; i < kCount; ++i) a[i] = Value(me, i + msg);
      c.Send(a.data(), kCount, DataType::kI32, peer);
    }
    for (size_t i = 0; i < big.size(); ++i) big[i] = Value(me, i);
    WorkPtr w1 = c.Send(big.data(), big.size(), DataType::kI32, peer, {"auto", Stream::Async()});
    WorkPtr w2 = c.Send(a.data(), 1, DataType::kI32, peer, {"auto", Stream::Async()});
    w1->Wait();
    w2->Wait();
  } else {
    for (int msg = 0; msg < 3; ++msg) {
      c.Recv(b.data(), kCount, DataType::kI32, peer);
      for (size_t i = 0; i < kCount; ++i) {
        Expect(b[i] == Value(peer, i + msg), c, "send/recv message " + std::to_string(msg));
      }
    }
    std::vector<int32_t> one(1);
    WorkPtr w1 = c.Recv(big.data(), big.size(), DataType::kI32, peer, {"auto", Stream::Async()});
    WorkPtr w2 = c.Recv(one.data(), 1, DataType::kI32, peer, {"auto", Stream::Async()});
    w1->Wait();
    w2->Wait();
    for (size_t i = 0; i < big.size(); ++i) Expect(big[i] == Value(peer, i), c, "async recv");
    Expect(one[0] == Value(peer, 2), c, "second async recv");
  }
}

void TestBarrier(Communicator& c) {
  for (int i = 0; i < 20; ++i) c.Barrier();
  Expect(c.counters().Get(OpKind::kBarrier).msgs > 0 || c.size() == 1, c, "barrier counted");
}

// all_reduce with every registered algorithm: sum of Value(r, i) % 1000 over ranks (exact).
void TestAllReduce(Communicator& c) {
  const int n = c.size();
  Expect(c.Algorithms(OpKind::kAllReduce).size() > 1, c, "no all_reduce algorithms linked");
  for (const std::string& algo : c.Algorithms(OpKind::kAllReduce)) {
    for (size_t count : {size_t{1}, size_t{7}, size_t{1000}, size_t{70000}}) {
      std::vector<int32_t> s(count), r(count, -1);
      for (size_t i = 0; i < count; ++i) s[i] = Value(c.rank(), i) % 1000;
      c.AllReduce(s.data(), r.data(), count, DataType::kI32, ReduceOp::kSum, {algo});
      for (size_t i = 0; i < count; ++i) {
        int64_t want = 0;
        for (int p = 0; p < n; ++p) want += Value(p, i) % 1000;
        if (r[i] != want) {
          Expect(false, c,
                 "all_reduce/" + algo + " of " + std::to_string(count) + " x i32: element " +
                     std::to_string(i) + " is " + std::to_string(r[i]) + ", expected " +
                     std::to_string(want));
        }
      }
    }
  }
}

void TestSplit(Communicator& world) {
  const int n = world.size(), me = world.rank();
  // Two groups by parity, ordered by descending world rank.
  auto half = world.Split(me % 2, -me);
  Expect(half != nullptr, world, "split returned null for color >= 0");
  const int want_size = (n - me % 2 + 1) / 2;
  Expect(half->size() == want_size, *half, "split size " + std::to_string(half->size()));
  for (int r = 0; r < half->size(); ++r) {
    const int w = half->world_ranks()[r];
    Expect(w % 2 == me % 2 && (r == 0 || w < half->world_ranks()[r - 1]), *half,
           "split order (key, parent rank)");
  }
  Expect(half->world_ranks()[half->rank()] == me, *half, "split world rank of self");
  Expect(half->name() == "world/split(color=" + std::to_string(me % 2) + ")", *half,
         "split name " + half->name());
  Expect(half->counters().Total().msgs == 0, *half, "new group counts nothing");
  TestRingShift(*half);
  TestBarrier(*half);
  // A rank outside every group (color < 0), and a nested split.
  auto some = world.Split(me == 0 ? -1 : 0, me);
  Expect((me == 0) == (some == nullptr), world, "color < 0 gives nullptr");
  auto nested = half->Split(0, 0);
  Expect(nested->size() == half->size() && nested->rank() == half->rank(), *nested, "nested split");
  TestRingShift(*nested);
  if (some) TestBarrier(*some);
  // Interleave ops on the world and groups: distinct context ids keep them apart.
  TestRingShift(world);
  world.Barrier();
  TestAllReduce(*half);
}

int Smoke() {
  auto world = CreateUcxWorld();
  Expect(world->backend() == "ucx", *world, "backend name");
  const auto t0 = std::chrono::steady_clock::now();
  TestRingShift(*world);
  TestSendRecv(*world);
  TestBarrier(*world);
  TestAllReduce(*world);
  TestSplit(*world);
  world->Barrier();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (world->rank() == 0) {
    std::printf("ucx_smoke: %d ranks ok in %.0f ms (%s progress)\n", world->size(), ms,
                Bootstrap::oversubscribed() ? "blocking" : "spinning");
  }
  return 0;
}

// Quick timing figures (not a benchmark: bench/ is): ping-pong send/recv and all_reduce.
int Perf() {
  auto world = CreateUcxWorld();
  Communicator& c = *world;
  const int n = c.size(), me = c.rank();
  auto report = [&](const char* what, size_t bytes, int iters, double secs, double factor) {
    double t = secs;  // max over ranks through an all-reduce would need an algorithm; rank 0's
    if (me != 0) return;
    const double us = t / iters * 1e6;
    std::printf("%-22s %10zu B  %10.2f us  busbw %7.2f GB/s\n", what, bytes, us,
                bytes * factor / (us * 1e-6) / 1e9);
  };
  std::vector<char> a(64 << 20), b(64 << 20);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<char>(i);
  // UCX_SMOKE_BYTES / UCX_SMOKE_ITERS pick one size and an iteration count.
  std::vector<size_t> sizes = {8, 65536, size_t{1} << 20, size_t{16} << 20, size_t{64} << 20};
  if (const char* only = std::getenv("UCX_SMOKE_BYTES")) {
    sizes = {std::min<size_t>(std::strtoull(only, nullptr, 10), a.size())};
  }
  for (size_t bytes : sizes) {
    int iters = bytes <= 65536 ? 2000 : bytes <= (1 << 20) ? 200 : 20;
    if (const char* it = std::getenv("UCX_SMOKE_ITERS")) iters = std::atoi(it);
    if (n == 2) {  // ping-pong: half a round trip per op
      c.Barrier();
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < iters; ++i) {
        if (me == 0) {
          c.Send(a.data(), bytes, DataType::kU8, 1);
          c.Recv(b.data(), bytes, DataType::kU8, 1);
        } else {
          c.Recv(b.data(), bytes, DataType::kU8, 0);
          c.Send(a.data(), bytes, DataType::kU8, 0);
        }
      }
      std::chrono::duration<double> d = std::chrono::steady_clock::now() - t0;
      report("pingpong (half rtt)", bytes, 2 * iters, d.count(), 1.0);
    }
    const size_t count = bytes / 4;
    for (const std::string& algo : c.Algorithms(OpKind::kAllReduce)) {
      if (algo != "auto" && std::getenv("UCX_SMOKE_ALL_ALGOS") == nullptr) continue;
      c.AllReduce(a.data(), b.data(), count, DataType::kF32, ReduceOp::kSum, {algo});
      c.Barrier();
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < iters; ++i) {
        c.AllReduce(a.data(), b.data(), count, DataType::kF32, ReduceOp::kSum, {algo});
      }
      std::chrono::duration<double> d = std::chrono::steady_clock::now() - t0;
      report(("all_reduce " + algo).c_str(), bytes, iters, d.count(), 2.0 * (n - 1) / n);
    }
    // The baseline the ucx backend is compared with: Open MPI's own MPI_Allreduce.
    MPI_Allreduce(a.data(), b.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) {
      MPI_Allreduce(a.data(), b.data(), static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
    }
    std::chrono::duration<double> d = std::chrono::steady_clock::now() - t0;
    report("MPI_Allreduce", bytes, iters, d.count(), 2.0 * (n - 1) / n);
  }
  return 0;
}

// Rank 1 stays away from the op; every other rank must time out naming it.
int Hang(const std::string& what) {
  auto world = CreateUcxWorld();
  if (world->size() < 2) throw UsageError("--hang needs at least 2 ranks");
  world->Barrier();  // everyone is up and connected
  if (world->rank() == 1) {
    std::this_thread::sleep_for(std::chrono::seconds(30));  // the launcher ends this rank
    return 0;
  }
  // Rank 2 waits longer than the others: when the launcher ends it, its SIGTERM handler
  // reports the op in flight and the peers it is waiting for.
  if (world->rank() == 2) world->set_timeout(std::chrono::seconds(60));
  if (what == "barrier") {
    world->Barrier();
  } else if (what == "recv") {
    int32_t x = 0;
    world->Recv(&x, 1, DataType::kI32, 1);
  } else if (what == "allreduce") {
    std::vector<float> x(1 << 16, 1.0f);
    world->AllReduce(x.data(), x.data(), x.size(), DataType::kF32, ReduceOp::kSum, {"ring"});
  } else {
    throw UsageError("--hang: '" + what + "' is not barrier, recv or allreduce");
  }
  throw WrongError("ucx_smoke: the op finished although rank 1 never joined it");
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
  std::string hang;
  bool perf = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--hang") == 0 && i + 1 < argc) hang = argv[i + 1];
    if (std::strcmp(argv[i], "--perf") == 0) perf = true;
  }
  rc = RunMain([&] {
    Bootstrap::Init(&argc, &argv);
    if (perf) return Perf();
    return hang.empty() ? Smoke() : Hang(hang);
  });
  // On failure, skip MPI_Finalize (it would wait for the stuck peers): the launcher sees the
  // exit code and ends the job.
  if (rc == 0) Bootstrap::Finalize();
  return rc;
}
