// bench/soak.cc: //bench:soak, a seeded, reproducible random soak of the runtime: thousands of
// collectives (every collective, algorithm, dtype, reduction, size from 0 to --max-bytes with
// odd counts, in place and not, inline and async in batches) on the world and on sub-groups of
// random shapes running concurrently, every result checked exactly (comm/verify.h).
//
//   bazel run //bench:soak -- --np 4 --seed 7 --ops 2000
//   bazel run //bench:soak -- --np 8 --backend all --seconds 600      # a long soak
//
// Every rank draws the same sequence from the seed, so all agree on every op without talking.
// A wrong result prints the seed and the op index (the same seed reproduces it) and the run
// exits 7; a hang exits 4 naming the op and the ranks that did not arrive (-T). The summary
// line gives ops run, wall time, wrong elements and resident memory after the first 10% of
// the ops and at the end (docs/runtime.md).
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/flags.h"
#include "comm/bootstrap.h"
#include "comm/communicator.h"
#include "comm/error.h"
#include "comm/verify.h"
#include "comm/world.h"

namespace tpbench {
namespace {

constexpr const char* kUsage = R"(usage: soak [--np N] [flags]
  --backend LIST     ucx, mpi, a list, or all (default ucx); the ops alternate between them
  --seed S           seed of the op sequence (default 1); the same seed runs the same ops
  --ops K            ops to run (default 2000)
  --seconds T        stop earlier, after T seconds (agreed by all ranks; default 0 = no limit)
  --max-bytes B      largest buffer per rank (K/M suffixes; default 2M)
  -T SECONDS         deadline of every op; a hang exits 4 naming the op and peers (default 60)
  --debug-corrupt-op I  test hook: every rank holding a result of op I drops a rank's
                     contribution from it (or shifts it) before the check: the run must exit 7
                     naming the seed and op I
  --np N             launch N ranks under mpirun (when not started by a launcher)
  --fault-mode M     detect (default): survivors report a lost peer; fast: no UCX peer-failure support
Exit codes: 0 every result exact; 2 bad flag; 4 hang; 7 a wrong result (seed and op printed).
)";

struct Options {
  std::vector<std::string> backends = {"ucx"};
  uint64_t seed = 1;
  long ops = 2000;
  double seconds = 0;
  size_t max_bytes = 2u << 20;
  double timeout_s = 60;
  long corrupt_op = -1;  // test hook: the result of this op is corrupted before the check
};

Options Parse(FlagParser& p) {
  Options o;
  const std::string b = p.Value("--backend", "ucx");
  o.backends = b == "all" ? BackendNames() : SplitList(b);
  const std::vector<std::string> valid = BackendNames();
  for (const std::string& name : o.backends) {
    if (std::find(valid.begin(), valid.end(), name) == valid.end()) {
      throw UsageError("--backend: unknown backend '" + name + "'");
    }
  }
  o.seed = static_cast<uint64_t>(ParseInt(p.Value("--seed", "1"), "--seed", 0, 1L << 62));
  o.ops = ParseInt(p.Value("--ops", "2000"), "--ops", 1, 1L << 40);
  o.seconds = ParseDouble(p.Value("--seconds", "0"), "--seconds", 0, 1e7);
  o.max_bytes = ParseSize(p.Value("--max-bytes", "2M"), "--max-bytes");
  o.timeout_s = ParseDouble(p.Value("-T", "60"), "-T", 0, 1e6);
  o.corrupt_op = ParseInt(p.Value("--debug-corrupt-op", "-1"), "--debug-corrupt-op", -1, 1L << 40);
  return o;
}

// The communicators ops run on, per backend: the world and split layouts of several shapes
// (halves, strided pairs, random partitions, a subset with the other ranks idle). Every rank
// builds the same list (same seed), holding nullptr where it is not in the layout's group.
struct Layouts {
  std::vector<std::string> names;
  std::vector<std::unique_ptr<Communicator>> comms;
};

// color of `rank` in layout `k` of n ranks; -1: not in any group.
int LayoutColor(int k, int rank, int n, std::mt19937_64& rng) {
  switch (k) {
    case 0: return rank / std::max(1, n / 2);  // consecutive halves
    case 1: return rank % 2;                   // strided pairs of groups
    case 2: {                                  // a subset: the other ranks sit out
      const int keep = 1 + static_cast<int>(rng() % static_cast<uint64_t>(n));
      return rank < keep ? 0 : -1;
    }
    default: {  // a random partition into up to 3 groups (same draws on every rank)
      std::vector<int> colors(static_cast<size_t>(n));
      for (int& c : colors) c = static_cast<int>(rng() % 3);
      return colors[static_cast<size_t>(rank)];
    }
  }
}

Layouts MakeLayouts(Communicator* world, std::mt19937_64& rng, double timeout_s) {
  Layouts l;
  l.names.push_back("world");
  l.comms.push_back(nullptr);  // the world itself, not owned here
  const char* kinds[] = {"halves", "strided", "subset", "partition-a", "partition-b"};
  for (int k = 0; k < 5; ++k) {
    const int color = LayoutColor(std::min(k, 3), world->rank(), world->size(), rng);
    std::unique_ptr<Communicator> c = world->Split(color, world->rank());
    if (c && timeout_s > 0) c->set_timeout(std::chrono::milliseconds(long(timeout_s * 1e3)));
    l.names.push_back(kinds[k]);
    l.comms.push_back(std::move(c));
  }
  return l;
}

// One op of the sequence, drawn identically on every rank; sized for this rank's group.
struct Op {
  long index = 0;
  size_t backend = 0, layout = 0;
  OpKind kind = OpKind::kAllReduce;
  std::string algo = "auto";
  DataType dtype = DataType::kF32;
  ReduceOp red = ReduceOp::kSum;
  size_t count = 0;
  bool in_place = false, async = false;
  int root = 0, shift = 1;
  uint64_t algo_pick = 0;  // picks from the communicator's algorithms (Prepare)
};

// Draws op `index`. Every draw is made on every rank, whatever its group, so the generators
// stay in step.
Op Draw(std::mt19937_64& rng, long index, const Options& o, size_t layouts) {
  Op op;
  op.index = index;
  op.backend = rng() % o.backends.size();
  op.layout = rng() % layouts;
  const std::vector<OpKind> colls = AllCollectives();
  op.kind = colls[rng() % colls.size()];
  const std::vector<DataType> dtypes = AllDataTypes();
  op.dtype = dtypes[rng() % dtypes.size()];
  const std::vector<ReduceOp> reds = AllReduceOps();
  op.red = reds[rng() % reds.size()];
  // Sizes log-uniform from 0 elements to max_bytes, odd counts half of the time.
  const size_t max_count = std::max<size_t>(1, o.max_bytes / DataTypeSize(op.dtype));
  const double f = std::uniform_real_distribution<double>(0, 1)(rng);
  op.count = static_cast<size_t>(std::pow(static_cast<double>(max_count + 1), f)) - 1;
  if (rng() % 2) op.count |= 1;
  op.count = std::min(op.count, max_count);
  op.in_place = rng() % 2 && Collective(op.kind).has_in_place;
  op.async = rng() % 2;
  op.root = static_cast<int>(rng() % 1024);   // taken modulo the group size
  op.shift = static_cast<int>(rng() % 1024);  // sendrecv peer distance, modulo the group size
  op.algo_pick = rng();
  return op;
}

// Buffers of one op on this rank, filled with the exact data of comm/verify.
struct Live {
  Op op;
  CollArgs args;
  std::vector<char> send, recv;
  WorkPtr work;
  std::string where;
};

void Prepare(Live* l, Communicator& c, uint64_t seed) {
  const Op& op = l->op;
  const std::vector<std::string> algos = c.Algorithms(op.kind);
  l->op.algo = algos.empty() ? "auto" : algos[op.algo_pick % algos.size()];
  CollArgs& a = l->args;
  a.kind = op.kind;
  a.dtype = op.dtype;
  a.op = Collective(op.kind).reduces ? op.red : ReduceOp::kSum;
  a.count = Collective(op.kind).split_over_ranks ? op.count / c.size() : op.count;
  a.rank = c.rank();
  a.size = c.size();
  a.root = op.root % c.size();
  if (op.kind == OpKind::kSendRecv) {
    const int k = op.shift % c.size();
    a.peer_send = (a.rank + k) % a.size;
    a.peer_recv = (a.rank + a.size - k) % a.size;
  }
  const size_t es = DataTypeSize(a.dtype);
  const size_t ns = SendElements(a) * es, nr = RecvElements(a) * es;
  l->recv.assign(std::max(ns, nr) + 1, 0);
  if (op.in_place) {
    char* base = l->recv.data();
    a.send = base + (op.kind == OpKind::kAllGather ? a.rank * a.count * es : 0);
    a.recv = base + (op.kind == OpKind::kReduceScatter ? a.rank * a.count * es : 0);
  } else {
    l->send.assign(ns + 1, 0);
    a.send = l->send.data();
    a.recv = l->recv.data();
  }
  const int data_seed =
      static_cast<int>((seed * 1000003 + static_cast<uint64_t>(op.index)) % 65521);
  if (!(op.kind == OpKind::kBroadcast && a.rank != a.root)) {
    FillInput(a, const_cast<void*>(a.send), data_seed);
  }
  if (op.kind == OpKind::kBroadcast && a.rank != a.root) a.send = a.recv;
  l->where = std::string(OpKindName(op.kind)) + "/" + l->op.algo + " " + DataTypeName(a.dtype) +
             (Collective(op.kind).reduces ? std::string(" ") + ReduceOpName(a.op) : "") +
             " count " + std::to_string(a.count) + (op.in_place ? " in place" : "") +
             (op.async ? " async" : " inline") + " on " + c.backend() + " group '" + c.name() +
             "' (" + std::to_string(c.size()) + " ranks)";
}

int64_t Check(Live& l, uint64_t seed, long corrupt_op) {
  const int data_seed =
      static_cast<int>((seed * 1000003 + static_cast<uint64_t>(l.op.index)) % 65521);
  if (l.op.index == corrupt_op && l.args.recv) {
    if (!Corrupt(Corruption::kDropped, l.args, l.args.recv, data_seed)) {
      Corrupt(Corruption::kShifted, l.args, l.args.recv, data_seed);
    }
  }
  const int64_t wrong = static_cast<int64_t>(CountWrong(l.args, l.args.recv, data_seed));
  if (wrong > 0) {
    std::fprintf(stderr, "soak: rank %d: seed %llu op %ld: %lld wrong elements in %s\n",
                 Bootstrap::rank(), static_cast<unsigned long long>(seed), l.op.index,
                 static_cast<long long>(wrong), l.where.c_str());
  }
  return wrong;
}

double RssBytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

struct Stats {
  long ops = 0;
  int64_t wrong = 0;
  double rss_early = 0, rss_half = 0, rss_end = 0;  // max over ranks
  std::map<std::string, long> by_kind;
};

// Runs a batch: inline ops complete at once; async ops are waited for together at the end of
// the batch, so several groups' ops are in flight at once.
void RunBatch(std::vector<Live>& batch, std::vector<Layouts>& layouts,
              std::vector<std::unique_ptr<Communicator>>& worlds, const Options& o, Stats* s) {
  for (Live& l : batch) {
    Communicator* c = layouts[l.op.backend].comms[l.op.layout].get();
    if (l.op.layout == 0) c = worlds[l.op.backend].get();
    if (!c) continue;  // this rank sits out of the layout
    Prepare(&l, *c, o.seed);
    OpOptions o;
    o.algo = l.op.algo;
    o.stream = l.op.async ? Stream::Async() : Stream::Inline();
    l.work = c->Run(l.args, o);
    if (!l.op.async) l.work->Wait();
  }
  for (Live& l : batch) {
    if (!l.work) continue;
    l.work->Wait();
    s->wrong += Check(l, o.seed, o.corrupt_op);
    s->by_kind[OpKindName(l.op.kind)]++;
  }
}

Stats Soak(const Options& o, std::vector<std::unique_ptr<Communicator>>& worlds,
           std::vector<Layouts>& layouts, std::mt19937_64& rng) {
  Stats s;
  const auto t0 = std::chrono::steady_clock::now();
  long i = 0;
  while (i < o.ops) {
    std::vector<Live> batch(1 + rng() % 4);
    for (Live& l : batch) l.op = Draw(rng, i++, o, layouts[0].names.size());
    RunBatch(batch, layouts, worlds, o, &s);
    s.ops = i;
    // Progress: the share of --ops done, or with --seconds of the time (whichever is further;
    // agreed every 64 ops on the slowest rank's clock, so every rank stops and samples alike).
    double done = static_cast<double>(i) / static_cast<double>(o.ops);
    if (o.seconds > 0 && static_cast<size_t>(i % 64) < batch.size()) {
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      done = std::max(done, Bootstrap::MaxOverRanks(t) / o.seconds);
    } else if (o.seconds > 0) {
      continue;
    }
    if (s.rss_early == 0 && done >= 0.1) s.rss_early = Bootstrap::MaxOverRanks(RssBytes());
    if (s.rss_half == 0 && done >= 0.5) s.rss_half = Bootstrap::MaxOverRanks(RssBytes());
    if (done >= 1) break;
  }
  s.rss_end = Bootstrap::MaxOverRanks(RssBytes());
  s.wrong = Bootstrap::SumOverRanks(s.wrong);
  return s;
}

void Report(const Options& o, const Stats& s, double wall_s) {
  std::string kinds;
  for (const auto& [k, n] : s.by_kind)
    kinds += (kinds.empty() ? "" : ", ") + k + " " + std::to_string(n);
  const double growth = s.rss_early > 0 ? (s.rss_end / s.rss_early - 1) * 100 : 0;
  std::string backends;
  for (const std::string& b : o.backends) backends += (backends.empty() ? "" : ",") + b;
  std::printf(
      "soak: seed %llu, backends %s, %d ranks, fault mode %s: %ld ops in %.1f s (rank 0 ran %s)\n",
      static_cast<unsigned long long>(o.seed), backends.c_str(), Bootstrap::size(),
      FaultModeName(CurrentFaultMode()), s.ops, wall_s, kinds.c_str());
  std::printf(
      "soak: %lld wrong elements, 0 hangs; RSS (max over ranks) after 10%% of ops "
      "%.1f MB, after 50%% %.1f MB, at the end %.1f MB (%+.1f%% since 10%%)\n",
      static_cast<long long>(s.wrong), s.rss_early / 1e6, s.rss_half / 1e6, s.rss_end / 1e6,
      growth);
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  SetDefaultFaultMode(FaultMode::kDetect);  // a lost peer is the point here: reported by the ranks
  if (int rc = MaybeRelaunch(argc, argv); rc >= 0) return rc;
  // Buffers above 64 KiB come from mmap and go back to the kernel when freed. glibc's default
  // raises this threshold as large blocks are freed and then keeps them on the heap: RSS grew
  // 31% over 40000 ops that way, and stayed within 5% with the threshold fixed (docs/runtime.md),
  // so the RSS figures measure tpbench, not the allocator's caching.
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  Bootstrap::Init(&argc, &argv);
  FlagParser p(argc, argv);
  p.Value("--np", "0");
  p.Value("--fault-mode", "");  // Bootstrap's: detect unless --fault-mode fast  // the launcher's
  const Options o = Parse(p);
  p.Finish({});
  std::mt19937_64 rng(o.seed);
  std::vector<std::unique_ptr<Communicator>> worlds;
  std::vector<Layouts> layouts;
  for (const std::string& b : o.backends) {
    worlds.push_back(CreateWorld(b));
    if (o.timeout_s > 0)
      worlds.back()->set_timeout(std::chrono::milliseconds(long(o.timeout_s * 1e3)));
    std::mt19937_64 shapes(o.seed ^ 0x5eed);  // the same layouts on every backend
    layouts.push_back(MakeLayouts(worlds.back().get(), shapes, o.timeout_s));
  }
  const auto t0 = std::chrono::steady_clock::now();
  const Stats s = Soak(o, worlds, layouts, rng);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const int rank = Bootstrap::rank();
  if (rank == 0) Report(o, s, wall);
  // Before Finalize: once a rank has finalized and exited 7, mpirun may end rank 0 before it
  // prints (Open MPI's finalize waits for every rank, so nobody exits before this line).
  if (s.wrong > 0 && rank == 0) {
    std::fprintf(stderr, "tpbench: error: soak seed %llu: %lld wrong elements (ops named above)\n",
                 static_cast<unsigned long long>(o.seed), static_cast<long long>(s.wrong));
    std::fflush(stderr);
  }
  layouts.clear();
  worlds.clear();
  Bootstrap::Finalize();
  return s.wrong > 0 ? static_cast<int>(ExitCode::kWrong) : 0;
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  return tpbench::RunMain([&] { return tpbench::Main(argc, argv); });
}
