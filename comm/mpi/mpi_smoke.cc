// comm/mpi/mpi_smoke.cc: smoke test of the mpi backend through the public Communicator API.
//
//   mpirun -np N mpi_smoke            every op kind x dtype (f16/bf16 too) x reduction (and avg),
//                                     in place and out of place, async, splits; exit 0 or 7
//   mpirun -np N mpi_smoke --hang     rank 1 skips an all_reduce; the others must time out
//                                     (TPBENCH_TIMEOUT_S) and exit 4 naming the op
//   mpirun -np N mpi_smoke --overhead per-op cost of the backend over a bare MPI_Allreduce
//
// The big all-backends test is comm/multirank_test.cc; this one only checks the mapping onto MPI.
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "comm/bootstrap.h"
#include "comm/communicator.h"
#include "comm/error.h"
#include "comm/mpi/mpi_communicator.h"
#include "comm/reduce.h"

namespace tpbench {
namespace {

using Bytes = std::vector<unsigned char>;

struct Checker {
  int rank = 0;
  int failures = 0;
  int cases = 0;
  void Fail(const std::string& what) {
    if (failures < 20) std::fprintf(stderr, "mpi_smoke: rank %d: FAIL %s\n", rank, what.c_str());
    ++failures;
  }
  void Expect(bool ok, const std::string& what) {
    ++cases;
    if (!ok) Fail(what);
  }
};

// Small exact values: sums over 8 ranks stay below 2^7 (i8) and are exact in f16/bf16.
double Value(ReduceOp op, int rank, int size, size_t i) {
  switch (op) {
    case ReduceOp::kProd:  // at most two ranks hold 2 per element: products <= 4
      return (rank + static_cast<int>(i)) % size < 2 ? 2 : 1;
    case ReduceOp::kMin:
    case ReduceOp::kMax: return static_cast<double>((rank * 7 + static_cast<int>(i) * 3) % 11);
    default: return static_cast<double>((rank + static_cast<int>(i)) % 3 + 1);
  }
}

double Fold(ReduceOp op, double acc, double v) {
  switch (op) {
    case ReduceOp::kProd: return acc * v;
    case ReduceOp::kMin: return v < acc ? v : acc;
    case ReduceOp::kMax: return v > acc ? v : acc;
    default: return acc + v;
  }
}

Bytes Fill(DataType t, size_t n, const std::function<double(size_t)>& f) {
  Bytes b(n * DataTypeSize(t));
  for (size_t i = 0; i < n; ++i) StoreFromDouble(b.data(), i, t, f(i));
  return b;
}

// Expected reduction of element i over all ranks, stored in dtype t (avg through DivideForAvg,
// the same rounding CommBase applies).
Bytes ExpectedReduce(DataType t, ReduceOp op, int size, size_t n, size_t offset) {
  const ReduceOp base = op == ReduceOp::kAvg ? ReduceOp::kSum : op;
  Bytes b = Fill(t, n, [&](size_t i) {
    double acc = Value(base, 0, size, offset + i);
    for (int r = 1; r < size; ++r) acc = Fold(base, acc, Value(base, r, size, offset + i));
    return acc;
  });
  if (op == ReduceOp::kAvg) DivideForAvg(b.data(), n, t, size);
  return b;
}

bool Same(DataType t, const void* got, const void* want, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (LoadAsDouble(got, i, t) != LoadAsDouble(want, i, t)) return false;
  }
  return true;
}

std::string Case(const char* op, DataType t, const char* red, bool in_place, size_t n) {
  return std::string(op) + " " + DataTypeName(t) + (red ? std::string(" ") + red : "") +
         (in_place ? " in place" : " out of place") + " n=" + std::to_string(n);
}

void Reductions(Communicator& c, Checker& ck, DataType t, size_t n) {
  const int me = c.rank(), size = c.size();
  const size_t es = DataTypeSize(t);
  for (ReduceOp op : AllReduceOps()) {
    const ReduceOp base = op == ReduceOp::kAvg ? ReduceOp::kSum : op;
    for (bool ip : {false, true}) {
      // all_reduce
      {
        Bytes send = Fill(t, n, [&](size_t i) { return Value(base, me, size, i); });
        Bytes recv(n * es, 0xA5);
        void* out = ip ? send.data() : recv.data();
        c.AllReduce(send.data(), out, n, t, op);
        ck.Expect(Same(t, out, ExpectedReduce(t, op, size, n, 0).data(), n),
                  Case("all_reduce", t, ReduceOpName(op), ip, n));
      }
      // reduce_scatter: send holds size*n, rank receives block `me`
      {
        Bytes send = Fill(t, n * size, [&](size_t i) { return Value(base, me, size, i); });
        Bytes recv(n * es, 0xA5);
        void* out = ip ? send.data() + me * n * es : recv.data();
        c.ReduceScatter(send.data(), out, n, t, op);
        ck.Expect(Same(t, out, ExpectedReduce(t, op, size, n, me * n).data(), n),
                  Case("reduce_scatter", t, ReduceOpName(op), ip, n));
      }
      // reduce to the last rank
      {
        const int root = size - 1;
        Bytes send = Fill(t, n, [&](size_t i) { return Value(base, me, size, i); });
        Bytes recv(n * es, 0xA5);
        void* out = ip ? send.data() : (me == root ? recv.data() : nullptr);
        c.Reduce(send.data(), out, n, t, op, root);
        if (me == root) {
          ck.Expect(Same(t, out, ExpectedReduce(t, op, size, n, 0).data(), n),
                    Case("reduce", t, ReduceOpName(op), ip, n));
        }
      }
    }
  }
}

void DataMovement(Communicator& c, Checker& ck, DataType t, size_t n) {
  const int me = c.rank(), size = c.size();
  const size_t es = DataTypeSize(t);
  auto val = [](int r, size_t i) {
    return static_cast<double>((r * 5 + static_cast<int>(i)) % 13);
  };
  for (bool ip : {false, true}) {
    // all_gather
    {
      Bytes recv(n * size * es, 0xA5);
      Bytes mine = Fill(t, n, [&](size_t i) { return val(me, i); });
      const void* send = mine.data();
      if (ip) {
        std::memcpy(recv.data() + me * n * es, mine.data(), n * es);
        send = recv.data() + me * n * es;
      }
      c.AllGather(send, recv.data(), n, t);
      Bytes want = Fill(t, n * size, [&](size_t i) { return val(static_cast<int>(i / n), i % n); });
      ck.Expect(Same(t, recv.data(), want.data(), n * size), Case("all_gather", t, nullptr, ip, n));
    }
    // broadcast from the middle rank
    {
      const int root = size / 2;
      Bytes src = Fill(t, n, [&](size_t i) { return val(root, i); });
      Bytes buf(n * es, 0xA5);
      if (ip && me == root) buf = src;
      const void* send = me == root ? (ip ? buf.data() : src.data()) : nullptr;
      c.Broadcast(send, buf.data(), n, t, root);
      ck.Expect(Same(t, buf.data(), src.data(), n), Case("broadcast", t, nullptr, ip, n));
    }
    // all_to_all: block p of rank r's send holds val(r*size+p, i)
    {
      Bytes send = Fill(t, n * size,
                        [&](size_t i) { return val(me * size + static_cast<int>(i / n), i % n); });
      Bytes recv(n * size * es, 0xA5);
      void* out = ip ? send.data() : recv.data();
      c.AllToAll(send.data(), out, n, t);
      Bytes want = Fill(t, n * size,
                        [&](size_t i) { return val(static_cast<int>(i / n) * size + me, i % n); });
      ck.Expect(Same(t, out, want.data(), n * size), Case("all_to_all", t, nullptr, ip, n));
    }
    // sendrecv ring shift: send to rank+1, receive from rank-1
    {
      const int to = (me + 1) % size, from = (me + size - 1) % size;
      Bytes send = Fill(t, n, [&](size_t i) { return val(me, i); });
      Bytes recv(n * es, 0xA5);
      void* out = ip ? send.data() : recv.data();
      c.SendRecv(send.data(), to, out, from, n, t);
      Bytes want = Fill(t, n, [&](size_t i) { return val(from, i); });
      ck.Expect(Same(t, out, want.data(), n), Case("sendrecv", t, nullptr, ip, n));
    }
  }
  // send / recv halves: even ranks send to the next odd rank
  {
    Bytes buf = Fill(t, n, [&](size_t i) { return val(me, i); });
    if (me % 2 == 0 && me + 1 < size) {
      c.Send(buf.data(), n, t, me + 1);
    } else if (me % 2 == 1) {
      Bytes got(n * es, 0xA5);
      c.Recv(got.data(), n, t, me - 1);
      Bytes want = Fill(t, n, [&](size_t i) { return val(me - 1, i); });
      ck.Expect(Same(t, got.data(), want.data(), n), Case("send/recv", t, nullptr, false, n));
    }
  }
}

void Groups(Communicator& world, Checker& ck) {
  const int me = world.rank(), size = world.size();
  // Two groups by parity, ordered by descending world rank.
  std::unique_ptr<Communicator> g = world.Split(me % 2, -me);
  ck.Expect(g != nullptr, "split returned null for color >= 0");
  if (!g) return;
  const int gsize = (size - me % 2 + 1) / 2;
  ck.Expect(g->size() == gsize, "split size");
  ck.Expect(g->name() == "world/split(color=" + std::to_string(me % 2) + ")",
            "split name " + g->name());
  std::vector<int> want;
  for (int r = size - 1; r >= 0; --r) {
    if (r % 2 == me % 2) want.push_back(r);
  }
  ck.Expect(g->world_ranks() == want, "split world_ranks");
  ck.Expect(g->world_ranks()[g->rank()] == me, "split rank order");
  // Sum of world ranks over the group, in i32 and bf16.
  for (DataType t : {DataType::kI32, DataType::kBF16}) {
    Bytes v = Fill(t, 3, [&](size_t i) { return me + static_cast<double>(i); });
    g->AllReduce(v.data(), v.data(), 3, t, ReduceOp::kSum);
    double s = 0;
    for (int r : want) s += r;
    Bytes expect = Fill(t, 3, [&](size_t i) { return s + static_cast<double>(i) * gsize; });
    ck.Expect(Same(t, v.data(), expect.data(), 3),
              std::string("split all_reduce ") + DataTypeName(t));
  }
  // A split of a split, and color < 0 -> nullptr.
  std::unique_ptr<Communicator> h = g->Split(g->rank() == 0 ? -1 : 0, 0);
  ck.Expect((h == nullptr) == (g->rank() == 0), "split color -1 gives null");
  if (h) {
    ck.Expect(h->size() == gsize - 1, "nested split size");
    ck.Expect(h->name() == g->name() + "/split(color=0)", "nested split name " + h->name());
    h->Barrier();
  }
}

int SmokeMain() {
  std::unique_ptr<Communicator> world = CreateMpiWorld();
  Checker ck;
  ck.rank = world->rank();
  const int size = world->size();
  ck.Expect(world->backend() == "mpi", "backend()");
  ck.Expect(world->name() == "world", "name()");
  ck.Expect(size == Bootstrap::size() && world->rank() == Bootstrap::rank(), "rank/size");
  for (int r = 0; r < size; ++r) ck.Expect(world->world_ranks()[r] == r, "world_ranks");
  ck.Expect(world->Algorithms(OpKind::kAllReduce) == std::vector<std::string>{"auto", "native"},
            "Algorithms()");

  for (DataType t : AllDataTypes()) {
    for (size_t n : {size_t{1}, size_t{7}}) {
      Reductions(*world, ck, t, n);
      DataMovement(*world, ck, t, n);
    }
  }
  // Larger counts: the library's segmented algorithms and many user-op calls for f16/bf16.
  for (DataType t : {DataType::kF32, DataType::kF16, DataType::kBF16, DataType::kI8}) {
    const size_t n = 20000;
    Bytes v = Fill(t, n, [&](size_t i) { return Value(ReduceOp::kSum, ck.rank, size, i); });
    world->AllReduce(v.data(), v.data(), n, t, ReduceOp::kSum, OpOptions{"native", {}});
    ck.Expect(Same(t, v.data(), ExpectedReduce(t, ReduceOp::kSum, size, n, 0).data(), n),
              Case("all_reduce native", t, "sum", true, n));
    Bytes s = Fill(t, n * size, [&](size_t i) { return Value(ReduceOp::kMax, ck.rank, size, i); });
    Bytes r(n * DataTypeSize(t));
    world->ReduceScatter(s.data(), r.data(), n, t, ReduceOp::kMax);
    ck.Expect(Same(t, r.data(), ExpectedReduce(t, ReduceOp::kMax, size, n, ck.rank * n).data(), n),
              Case("reduce_scatter", t, "max", false, n));
  }
  // Async ops run in issue order on the progress thread.
  {
    Bytes a =
        Fill(DataType::kF32, 5, [&](size_t i) { return Value(ReduceOp::kSum, ck.rank, size, i); });
    Bytes b = a;
    WorkPtr w1 = world->AllReduce(a.data(), a.data(), 5, DataType::kF32, ReduceOp::kSum,
                                  OpOptions{"auto", Stream::Async()});
    WorkPtr w2 = world->AllReduce(b.data(), b.data(), 5, DataType::kF32, ReduceOp::kAvg,
                                  OpOptions{"auto", Stream::Async()});
    w1->Wait();
    w2->Wait();
    ck.Expect(w1->Ok() && w2->Ok(), "async ops ok");
    ck.Expect(Same(DataType::kF32, a.data(),
                   ExpectedReduce(DataType::kF32, ReduceOp::kSum, size, 5, 0).data(), 5),
              "async all_reduce sum");
    ck.Expect(Same(DataType::kF32, b.data(),
                   ExpectedReduce(DataType::kF32, ReduceOp::kAvg, size, 5, 0).data(), 5),
              "async all_reduce avg");
  }
  // Unknown algorithms are usage errors that list the valid ones (raised before any traffic).
  {
    float x = 1;
    bool threw = false;
    try {
      world->AllReduce(&x, &x, 1, DataType::kF32, ReduceOp::kSum, OpOptions{"ring", {}});
    } catch (const Error& e) {
      threw = e.code() == ExitCode::kUsage &&
              std::string(e.what()).find("'ring'") != std::string::npos &&
              std::string(e.what()).find("auto, native") != std::string::npos;
    }
    ck.Expect(threw, "algo 'ring' is a usage error listing auto, native");
  }
  Groups(*world, ck);
  world->Barrier();
  ck.Expect(!world->counters().measured && world->counters().Total().bytes == 0,
            "counters are marked unmeasured and read 0");
  world->ResetCounters();
  ck.Expect(!world->counters().measured, "counters stay unmeasured after ResetCounters");

  long long mine = ck.failures, failures = 0;
  MPI_Allreduce(&mine, &failures, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  if (ck.rank == 0) {
    std::printf("mpi_smoke: %d ranks, %d checks per rank, %lld failures\n", size, ck.cases,
                failures);
  }
  world.reset();
  if (failures) throw WrongError("mpi_smoke: " + std::to_string(failures) + " failed checks");
  return 0;
}

// Rank 1 skips an all_reduce; every other rank must hit the deadline and exit 4.
int HangMain() {
  std::unique_ptr<Communicator> world = CreateMpiWorld();
  if (world->size() < 2) throw UsageError("--hang needs at least 2 ranks");
  world->Barrier();
  if (world->rank() == 1) {
    sleep(60);  // the launcher ends this rank once the others have timed out
    return 0;
  }
  float x[4] = {1, 2, 3, 4};
  world->AllReduce(x, x, 4, DataType::kF32, ReduceOp::kSum);
  std::fprintf(stderr, "mpi_smoke: rank %d: all_reduce returned although rank 1 skipped it\n",
               world->rank());
  return 1;
}

// Per-op cost of the backend over a bare MPI_Allreduce on a duplicate of MPI_COMM_WORLD
// (not a test: a developer check that the baseline carries no handicap).
int OverheadMain() {
  std::unique_ptr<Communicator> world = CreateMpiWorld();
  MPI_Comm raw;
  MPI_Comm_dup(MPI_COMM_WORLD, &raw);
  for (size_t bytes : {size_t{8}, size_t{65536}, size_t{1} << 20}) {
    const size_t n = bytes / 4;
    std::vector<float> buf(n, 1.0f);
    const int iters = bytes <= 65536 ? 20000 : 500;
    double best_raw = 1e30, best_api = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
      MPI_Barrier(raw);
      double t0 = MPI_Wtime();
      for (int i = 0; i < iters; ++i) {
        MPI_Allreduce(MPI_IN_PLACE, buf.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, raw);
      }
      double t1 = MPI_Wtime();
      MPI_Barrier(raw);
      double t2 = MPI_Wtime();
      for (int i = 0; i < iters; ++i) {
        world->AllReduce(buf.data(), buf.data(), n, DataType::kF32, ReduceOp::kSum);
      }
      double t3 = MPI_Wtime();
      best_raw = std::min(best_raw, (t1 - t0) / iters * 1e6);
      best_api = std::min(best_api, (t3 - t2) / iters * 1e6);
    }
    if (world->rank() == 0) {
      std::printf(
          "all_reduce %zu B on %d ranks: MPI_Allreduce %.3f us, mpi backend %.3f us "
          "(+%.3f us)\n",
          bytes, world->size(), best_raw, best_api, best_api - best_raw);
    }
  }
  MPI_Comm_free(&raw);
  world.reset();
  return 0;
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  using namespace tpbench;
  return RunMain([&] {
    Bootstrap::Init(&argc, &argv);
    const std::string mode = argc > 1 ? argv[1] : "";
    if (!mode.empty() && mode != "--hang" && mode != "--overhead") {
      throw UsageError("unknown flag '" + mode + "'; valid: --hang, --overhead");
    }
    int rc = mode == "--hang" ? HangMain() : mode == "--overhead" ? OverheadMain() : SmokeMain();
    Bootstrap::Finalize();
    return rc;
  });
}
