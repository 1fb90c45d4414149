// patterns/multirank_test.cc: every collective x algorithm x dtype x reduction x size, in place and
// out of place, on the world and on split groups, with exactly checkable data; for one backend.
//
//   multirank_test --np 4 --backend ucx [--big-bytes 3145728] [--seed 1]
//
// Exits 0 when every element of every case is exact, the guard elements after each output are
// untouched and (where the backend measures its traffic) the bytes and messages each rank sent
// equal the algorithm's exact model (patterns/volume.h); 7 otherwise (failing cases listed on
// stderr by the rank that saw them).
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "comm/bootstrap.h"
#include "comm/communicator.h"
#include "comm/error.h"
#include "comm/verify.h"
#include "comm/world.h"
#include "patterns/volume.h"

namespace tpbench {
namespace {

constexpr size_t kGuard = 16;            // elements after every output that must stay untouched
constexpr unsigned char kPoison = 0xA5;  // fill byte of outputs before each op

struct Options {
  std::string backend = "ucx";
  size_t big_bytes = 3u << 20;
  int seed = 1;
};

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(a + " needs a value");
      return argv[++i];
    };
    if (a == "--backend") {
      o.backend = value();
    } else if (a == "--big-bytes") {
      o.big_bytes = std::stoull(value());
    } else if (a == "--seed") {
      o.seed = std::stoi(value());
    } else {
      throw UsageError("unknown flag '" + a + "'; valid: --np, --backend, --big-bytes, --seed");
    }
  }
  return o;
}

bool Reduces(OpKind k) {
  return k == OpKind::kAllReduce || k == OpKind::kReduceScatter || k == OpKind::kReduce;
}

struct Tally {
  uint64_t cases = 0, wrong_cases = 0;
};

// Runs one case on comm and returns the number of wrong elements on this rank.
uint64_t RunCase(Communicator& comm, CollArgs a, const std::string& algo, bool in_place, int seed,
                 std::string* detail) {
  a.rank = comm.rank();
  a.size = comm.size();
  const size_t es = DataTypeSize(a.dtype);
  const size_t ns = SendElements(a), nr = RecvElements(a);
  std::vector<char> sendbuf, recvbuf;
  void* send = nullptr;
  char* recv = nullptr;
  size_t guarded_from = 0, total = 0;  // guard region [guarded_from, total) of the buffer
  char* guarded = nullptr;
  if (!in_place) {
    sendbuf.assign((ns + kGuard) * es, 0);
    recvbuf.assign((nr + kGuard) * es, static_cast<char>(kPoison));
    send = sendbuf.data();
    recv = recvbuf.data();
    guarded = recv;
    guarded_from = nr * es;
    total = recvbuf.size();
  } else {
    const size_t nb = std::max(ns, nr);
    recvbuf.assign((nb + kGuard) * es, static_cast<char>(kPoison));
    guarded = recvbuf.data();
    guarded_from = nb * es;
    total = recvbuf.size();
    switch (a.kind) {
      case OpKind::kAllGather:
        recv = recvbuf.data();
        send = recv + a.rank * a.count * es;
        break;
      case OpKind::kReduceScatter:
        send = recvbuf.data();
        recv = recvbuf.data() + a.rank * a.count * es;
        break;
      default: send = recv = recvbuf.data(); break;
    }
  }
  const bool fills = !(a.kind == OpKind::kBroadcast && a.rank != a.root);
  if (fills) FillInput(a, send, seed);
  a.send = send;
  a.recv = recv;
  if (a.kind == OpKind::kBroadcast && a.rank != a.root) a.send = recv;
  if (a.kind == OpKind::kReduce && a.rank != a.root && !in_place) a.recv = nullptr;
  const uint64_t bytes_before = comm.counters().Get(a.kind).bytes;
  const uint64_t msgs_before = comm.counters().Get(a.kind).msgs;
  OpOptions o;
  o.algo = algo;
  comm.Run(a, o)->Wait();
  uint64_t wrong = 0;
  if (!(a.kind == OpKind::kReduce && a.rank != a.root)) wrong += CountWrong(a, recv, seed);
  for (size_t b = guarded_from; b < total; ++b) {
    if (static_cast<unsigned char>(guarded[b]) != kPoison) {
      ++wrong;
      *detail = " (wrote past the end of the output)";
      break;
    }
  }
  const OpCount after = comm.counters().Get(a.kind);
  if (a.count == 0 && after.bytes != bytes_before) {
    ++wrong;
    *detail = " (a zero-count op sent bytes)";
  }
  // Where the backend measures its traffic, it must equal the algorithm's exact model.
  if (comm.counters().measured && a.kind != OpKind::kSendRecv) {
    const VolumeModel m = ModelSent(a.kind, algo, a.count, es, a.size, a.rank, a.root);
    if (after.bytes - bytes_before != m.bytes || after.msgs - msgs_before != m.msgs) {
      ++wrong;
      *detail = " (sent " + std::to_string(after.bytes - bytes_before) + " B in " +
                std::to_string(after.msgs - msgs_before) + " messages; the model says " +
                std::to_string(m.bytes) + " B in " + std::to_string(m.msgs) + ")";
    }
  } else if (comm.counters().measured && a.kind == OpKind::kSendRecv) {
    const uint64_t want = a.count * es;
    if (after.bytes - bytes_before != want || after.msgs - msgs_before != (want ? 1u : 0u)) {
      ++wrong;
      *detail = " (sendrecv sent " + std::to_string(after.bytes - bytes_before) + " B)";
    }
  }
  return wrong;
}

void RunAll(Communicator& comm, bool full, const Options& o, Tally* t) {
  const int n = comm.size();
  for (OpKind kind : AllCollectives()) {
    for (const std::string& algo : comm.Algorithms(kind)) {
      std::vector<DataType> dtypes =
          full ? AllDataTypes() : std::vector<DataType>{DataType::kF32, DataType::kI32};
      for (DataType dt : dtypes) {
        std::vector<ReduceOp> ops = {ReduceOp::kSum};
        if (Reduces(kind)) {
          ops = full ? AllReduceOps() : std::vector<ReduceOp>{ReduceOp::kSum, ReduceOp::kMax};
        }
        for (ReduceOp op : ops) {
          std::vector<size_t> counts = {0, 1, 33, 1001};
          if (dt == DataType::kF32 && op == ReduceOp::kSum) {
            counts.push_back(o.big_bytes / 4 / (kind == OpKind::kAllToAll ? n : 1) + 1);
          }
          for (size_t count : counts) {
            for (int in_place = 0; in_place < 2; ++in_place) {
              if (kind == OpKind::kSendRecv && in_place) continue;
              std::vector<int> roots = {0};
              if ((kind == OpKind::kBroadcast || kind == OpKind::kReduce) && n > 1) {
                roots.push_back(n - 1);
              }
              for (int root : roots) {
                CollArgs a;
                a.kind = kind;
                a.count = count;
                a.dtype = dt;
                a.op = op;
                a.root = root;
                if (kind == OpKind::kSendRecv) {
                  a.peer_send = (comm.rank() + 1) % n;
                  a.peer_recv = (comm.rank() + n - 1) % n;
                }
                std::string detail;
                uint64_t wrong = RunCase(comm, a, algo, in_place, o.seed, &detail);
                ++t->cases;
                if (wrong) {
                  ++t->wrong_cases;
                  if (t->wrong_cases <= 20) {
                    std::fprintf(stderr,
                                 "WRONG: rank %d of '%s': %s/%s %s %s count=%zu %s root=%d: "
                                 "%llu wrong%s\n",
                                 comm.rank(), comm.name().c_str(), OpKindName(kind), algo.c_str(),
                                 DataTypeName(dt), ReduceOpName(op), count,
                                 in_place ? "in-place" : "out-of-place", root,
                                 static_cast<unsigned long long>(wrong), detail.c_str());
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

int Main(int argc, char** argv) {
  if (int rc = MaybeRelaunch(argc, argv); rc >= 0) return rc;
  Bootstrap::Init(&argc, &argv);
  // --np was checked by Bootstrap; parse the rest.
  std::vector<char*> args = ArgsWithoutNp(argc, argv);
  Options o = Parse(static_cast<int>(args.size()), args.data());
  std::unique_ptr<Communicator> world = CreateWorld(o.backend);
  Tally t;
  RunAll(*world, /*full=*/true, o, &t);
  // A split with reversed order inside each group: rank mapping is not the identity.
  std::unique_ptr<Communicator> half =
      world->Split(world->rank() % 2, world->size() - world->rank());
  RunAll(*half, /*full=*/false, o, &t);
  int64_t totals[2] = {static_cast<int64_t>(t.cases), static_cast<int64_t>(t.wrong_cases)};
  world->AllReduce(totals, totals, 2, DataType::kI64, ReduceOp::kSum, {"auto", {}})->Wait();
  if (world->rank() == 0) {
    std::printf("multirank_test: backend=%s ranks=%d: %lld cases over all ranks, %lld wrong\n",
                o.backend.c_str(), world->size(), static_cast<long long>(totals[0]),
                static_cast<long long>(totals[1]));
  }
  half.reset();
  world.reset();
  Bootstrap::Finalize();
  return totals[1] == 0 ? 0 : static_cast<int>(ExitCode::kWrong);
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  return tpbench::RunMain([&] { return tpbench::Main(argc, argv); });
}
