// bench/collectives.cc: //bench:collectives, nccl-tests-grade collective benchmarks as Google
// Benchmark cases, one per (collective, backend, algorithm, dtype, reduction, size, in-place),
// generated at run time from the algorithm registry.
//
//   bazel run //bench:collectives -- --np 2 --backend ucx,mpi --coll all_reduce --algo all
//       (continued:) -b 8 -e 64M -f 4 --benchmark_out=results.json
//   mpirun -np 4 bazel-bin/bench/collectives --coll all --algo auto
//
// See docs/collectives.md for every flag, the table and the JSON counters.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bench/context.h"
#include "bench/flags.h"
#include "bench/harness.h"
#include "bench/output.h"
#include "comm/bootstrap.h"
#include "comm/communicator.h"
#include "comm/error.h"
#include "comm/verify.h"
#include "comm/world.h"
#include "patterns/registry.h"

namespace tpbench {
namespace {

constexpr const char* kUsage = R"(usage: collectives [--np N] [flags] [--benchmark_* flags]
  -b, -e SIZE        smallest and largest message size in bytes (K/M/G suffixes; default 8, 64M)
  -f FACTOR          multiply the size by FACTOR each step (default 2)
  -i BYTES           or add BYTES each step instead (default 0 = use -f)
  -n ITERS           timed iterations per case (default 0 = by size: 256M/size in [5, 200])
  -w ITERS           warm-up iterations, not timed (default 3)
  -c PASSES          correctness passes per case, outside the timed loop (default 1); with 0
                     nothing is checked and #wrong is absent ("n/a", "unchecked"), not 0
  -d DTYPE           f32, f64, f16, bf16, i8, u8, i32, i64, a list, or all (default f32)
  -o REDOP           sum, prod, min, max, avg, a list, or all (default sum)
  -r ROOT            root of broadcast and reduce (default 0)
  -T SECONDS         deadline of every op; a hang exits 4 naming the op and peers (default 300)
  --backend LIST     ucx, mpi, a list, or all (default ucx)
  --coll LIST        all_reduce, all_gather, reduce_scatter, broadcast, reduce, all_to_all,
                     sendrecv, a list, or all (default all_reduce)
  --algo LIST        algorithm names (see --list), a list, all, or auto (default auto);
                     a name a backend lacks is skipped for it (that backend runs auto)
  --inplace [0|1|both]  out-of-place only (0), in-place only (1 or bare flag), both (default)
  --groups SPEC      run concurrent sub-groups: N (N groups of consecutive ranks, e.g. the rows
                     of a mesh) or N:strided (ranks r, r+N, ...: the columns); default: world
  --np N             launch N ranks under mpirun (when not started by a launcher)
  --sweep FILE       run the 'collectives' entries of a sweep file that list this world size
                     (bench/sweeps/README.md) instead of the flags above
  --check-sweep FILE validate every entry of a sweep file for each of its world sizes; exit
  --list             print the backends and algorithms, then exit
  --debug-slow-rank R, --debug-corrupt-rank R
                     test hooks: rank R sleeps 2 ms before every timed op / corrupts one
                     output element of every correctness pass
  --debug-corrupt LIST  test hook: each correctness pass runs once per listed bug, which
                     turns every rank's result into what that bug leaves (own_times_n,
                     replaced, dropped, doubled, permuted, shifted, or all; comm/verify.h);
                     rank 0 prints the wrong count per bug and case
  Google Benchmark flags pass through: --benchmark_out=FILE (written atomically),
  --benchmark_repetitions=N, --benchmark_filter=REGEX, ...
)";

struct Case {
  std::string backend;
  Communicator* comm = nullptr;
  OpKind kind = OpKind::kAllReduce;
  std::string algo;
  DataType dtype = DataType::kF32;
  ReduceOp op = ReduceOp::kSum;
  int root = 0;
  size_t bytes = 0;  // S: the whole buffer for all_gather/reduce_scatter/all_to_all
  bool in_place = false;
  long iters = 0;
  int warmup = 0;
  int checks = 1;
  std::vector<Corruption> corruptions;  // test hook (--debug-corrupt)
  std::string section;  // table section: backend, collective, algorithm, group layout
  std::string name;
};

struct Config {
  size_t min_bytes = 8, max_bytes = 64u << 20, step_bytes = 0;
  double factor = 2;
  long iters = 0;
  int warmup = 3, checks = 1, root = 0;
  double timeout_s = 300;
  std::vector<std::string> backends, colls, algos;
  std::vector<DataType> dtypes;
  std::vector<ReduceOp> ops;
  std::vector<int> in_place;
  int groups = 1;
  bool strided = false;
  int slow_rank = -1;     // test hook: this rank sleeps 2 ms before every op
  int corrupt_rank = -1;  // test hook: this rank corrupts one output element per check pass
  std::vector<Corruption> corruptions;  // test hook: the bugs each check pass simulates
};

bool Reduces(OpKind k) {
  return k == OpKind::kAllReduce || k == OpKind::kReduceScatter || k == OpKind::kReduce;
}
bool HasRoot(OpKind k) { return k == OpKind::kBroadcast || k == OpKind::kReduce; }

// Global run state read by the reporter and main.
std::vector<Case> g_cases;
std::map<std::string, size_t> g_case_by_name;
int64_t g_wrong_total = 0;
std::set<size_t> g_unchecked;  // indices of the cases run with -c 0
size_t g_cases_done = 0;

void PrintList() {
  std::printf("backends: ucx (tpbench's algorithms over UCX), mpi (the MPI library's own)\n\n");
  for (OpKind k : AllCollectives()) {
    std::printf("%s\n", OpKindName(k));
    if (k == OpKind::kSendRecv) {
      std::printf("  ucx  auto                 ring shift: send to rank+1, receive from rank-1\n");
    } else {
      std::printf(
          "  ucx  auto                 chosen by size and ranks (patterns/auto_select.cc)\n");
      for (const Algorithm& a : AllAlgorithms()) {
        if (a.kind == k) std::printf("  ucx  %-20s %s\n", a.name, a.description);
      }
    }
    std::printf("  mpi  auto, native         the MPI library's own choice\n");
  }
}

Config ParseConfig(FlagParser& p, int world) {
  Config c;
  c.min_bytes = ParseSize(p.Value("-b", "8"), "-b");
  c.max_bytes = ParseSize(p.Value("-e", "64M"), "-e");
  if (c.max_bytes < c.min_bytes) throw UsageError("-e must not be smaller than -b");
  c.factor = ParseDouble(p.Value("-f", "2"), "-f", 1.0001, 1e6);
  c.step_bytes = ParseSize(p.Value("-i", "0"), "-i");
  c.iters = ParseInt(p.Value("-n", "0"), "-n", 0, 100000000);
  c.warmup = static_cast<int>(ParseInt(p.Value("-w", "3"), "-w", 0, 1000000));
  c.checks = static_cast<int>(ParseInt(p.Value("-c", "1"), "-c", 0, 1000));
  c.root = static_cast<int>(ParseInt(p.Value("-r", "0"), "-r", 0, 1 << 20));
  c.timeout_s = ParseDouble(p.Value("-T", "0"), "-T", 0, 1e6);
  c.slow_rank = static_cast<int>(
      ParseInt(p.Value("--debug-slow-rank", "-1"), "--debug-slow-rank", -1, 1 << 20));
  c.corrupt_rank = static_cast<int>(
      ParseInt(p.Value("--debug-corrupt-rank", "-1"), "--debug-corrupt-rank", -1, 1 << 20));

  const std::string bugs = p.Value("--debug-corrupt", "");
  for (const std::string& name : bugs == "all" ? std::vector<std::string>{} : SplitList(bugs)) {
    Corruption k;
    if (!ParseCorruption(name, &k)) {
      throw UsageError("--debug-corrupt: unknown bug '" + name + "'; valid: " + CorruptionNames() +
                       ", all");
    }
    c.corruptions.push_back(k);
  }
  if (bugs == "all") c.corruptions = AllCorruptions();

  std::string b = p.Value("--backend", "ucx");
  c.backends = b == "all" ? BackendNames() : SplitList(b);
  for (const std::string& name : c.backends) {
    auto valid = BackendNames();
    if (std::find(valid.begin(), valid.end(), name) == valid.end()) {
      throw UsageError("--backend: unknown backend '" + name + "'; valid: ucx, mpi, all");
    }
  }
  std::string coll = p.Value("--coll", "all_reduce");
  if (coll == "all") {
    for (OpKind k : AllCollectives()) c.colls.push_back(OpKindName(k));
  } else {
    c.colls = SplitList(coll);
  }
  for (const std::string& name : c.colls) {
    OpKind k;
    if (!ParseOpKind(name, &k)) {
      throw UsageError("--coll: unknown collective '" + name + "'; valid: " + OpKindNames() +
                       ", all");
    }
  }
  c.algos = SplitList(p.Value("--algo", "auto"));
  std::string d = p.Value("-d", "f32");
  if (d == "all") {
    c.dtypes = AllDataTypes();
  } else {
    for (const std::string& s : SplitList(d)) {
      DataType t;
      if (!ParseDataType(s, &t)) {
        throw UsageError("-d: unknown dtype '" + s + "'; valid: " + DataTypeNames() + ", all");
      }
      c.dtypes.push_back(t);
    }
  }
  std::string o = p.Value("-o", "sum");
  if (o == "all") {
    c.ops = AllReduceOps();
  } else {
    for (const std::string& s : SplitList(o)) {
      ReduceOp op;
      if (!ParseReduceOp(s, &op)) {
        throw UsageError("-o: unknown reduction '" + s + "'; valid: " + ReduceOpNames() + ", all");
      }
      c.ops.push_back(op);
    }
  }
  std::string ip = p.ValueOr("--inplace", "both", "1");
  if (ip == "both") {
    c.in_place = {0, 1};
  } else if (ip == "0" || ip == "1") {
    c.in_place = {ip == "1"};
  } else {
    throw UsageError("--inplace: '" + ip + "' is not 0, 1 or both");
  }
  std::string g = p.Value("--groups", "1");
  size_t colon = g.find(':');
  if (colon != std::string::npos) {
    if (g.substr(colon + 1) != "strided") {
      throw UsageError("--groups: '" + g + "': the only layout suffix is ':strided'");
    }
    c.strided = true;
    g = g.substr(0, colon);
  }
  c.groups = static_cast<int>(ParseInt(g, "--groups", 1, 1 << 20));
  if (world % c.groups != 0) {
    throw UsageError("--groups " + std::to_string(c.groups) + " does not divide the " +
                     std::to_string(world) + " ranks of this job");
  }
  int group_size = world / c.groups;
  if (c.root >= group_size) {
    throw UsageError("-r " + std::to_string(c.root) + " is not a rank of a group of " +
                     std::to_string(group_size));
  }
  return c;
}

std::vector<size_t> Sizes(const Config& c) {
  std::vector<size_t> out;
  for (size_t s = c.min_bytes; s <= c.max_bytes;) {
    out.push_back(s);
    size_t next = c.step_bytes ? s + c.step_bytes
                               : static_cast<size_t>(std::ceil(std::max<double>(s, 1) * c.factor));
    if (next <= s) next = s + 1;
    s = next;
  }
  // The largest size is always measured, even when the steps jump past it.
  if (out.empty() || out.back() != c.max_bytes) out.push_back(c.max_bytes);
  return out;
}

// Elements per rank for a case of S bytes (nccl-tests: all_gather/reduce_scatter/all_to_all
// split S over the ranks).
size_t CountFor(OpKind k, size_t bytes, DataType t, int n) {
  size_t c = bytes / DataTypeSize(t);
  if (k == OpKind::kAllGather || k == OpKind::kReduceScatter || k == OpKind::kAllToAll) c /= n;
  return c;
}

long DefaultIters(size_t bytes) {
  long n = static_cast<long>((256ull << 20) / std::max<size_t>(bytes, 1));
  return std::min<long>(200, std::max<long>(5, n));
}

// Sets up buffers for a case; in-place layouts follow comm/coll.h.
struct Buffers {
  std::vector<char> send, recv;
  CollArgs args;
};

void Prepare(const Case& c, Buffers* b, int seed, bool fill) {
  Communicator& comm = *c.comm;
  CollArgs& a = b->args;
  a.kind = c.kind;
  a.dtype = c.dtype;
  a.op = c.op;
  a.root = c.root;
  a.rank = comm.rank();
  a.size = comm.size();
  a.count = CountFor(c.kind, c.bytes, c.dtype, comm.size());
  if (c.kind == OpKind::kSendRecv) {
    a.peer_send = (a.rank + 1) % a.size;
    a.peer_recv = (a.rank + a.size - 1) % a.size;
  }
  const size_t es = DataTypeSize(c.dtype);
  const size_t ns = SendElements(a) * es, nr = RecvElements(a) * es;
  if (!c.in_place) {
    b->send.assign(ns, 0);
    b->recv.assign(nr, 0);
    a.send = b->send.data();
    a.recv = b->recv.data();
  } else {
    b->recv.assign(std::max(ns, nr), 0);
    char* base = b->recv.data();
    a.send = base;
    a.recv = base;
    if (c.kind == OpKind::kAllGather) a.send = base + a.rank * a.count * es;
    if (c.kind == OpKind::kReduceScatter) a.recv = base + a.rank * a.count * es;
  }
  if (fill && !(c.kind == OpKind::kBroadcast && a.rank != a.root)) {
    FillInput(a, const_cast<void*>(a.send), seed);
  }
  if (c.kind == OpKind::kBroadcast && a.rank != a.root) a.send = a.recv;
}

struct CheckResult {
  int64_t wrong = 0;                   // summed over ranks and passes
  double max_bytes = 0, max_msgs = 0;  // sent by the busiest rank in one op
};

// One correctness pass on fresh exactly-checkable data; `bug` (test hook) corrupts the result
// as that bug would. Returns this rank's wrong elements; *applied tells whether the bug applied.
int64_t CheckPass(const Case& c, const OpOptions& opt, int seed, int corrupt_rank,
                  const Corruption* bug, bool* applied, uint64_t* bytes, uint64_t* msgs) {
  Buffers v;
  Prepare(c, &v, seed, /*fill=*/true);
  OpCount before = c.comm->counters().Get(c.kind);
  c.comm->Run(v.args, opt)->Wait();
  OpCount after = c.comm->counters().Get(c.kind);
  *bytes = after.bytes - before.bytes;
  *msgs = after.msgs - before.msgs;
  if (corrupt_rank == Bootstrap::rank() && RecvElements(v.args) > 0 && v.args.recv) {
    // Test hook: prove that a wrong element is counted and fails the run.
    StoreFromDouble(v.args.recv, 0, c.dtype, LoadAsDouble(v.args.recv, 0, c.dtype) + 1);
  }
  if (bug) *applied = Corrupt(*bug, v.args, v.args.recv, seed);
  return static_cast<int64_t>(CountWrong(v.args, v.args.recv, seed));
}

// The correctness passes of a case, outside the timed loop; with --debug-corrupt each pass
// runs once per bug, and rank 0 prints what each bug cost (a bug no rank applied says so).
CheckResult CheckCase(const Case& c, const OpOptions& opt, int corrupt_rank) {
  CheckResult out;
  uint64_t bytes = 0, msgs = 0;
  const size_t runs = std::max<size_t>(1, c.corruptions.size());
  std::vector<int64_t> wrong(runs, 0);
  std::vector<bool> applied(runs, false);
  for (int pass = 0; pass < c.checks; ++pass) {
    for (size_t k = 0; k < runs; ++k) {
      const Corruption* bug = c.corruptions.empty() ? nullptr : &c.corruptions[k];
      bool hit = false;
      wrong[k] += CheckPass(c, opt, pass + 7, corrupt_rank, bug, &hit, &bytes, &msgs);
      applied[k] = applied[k] || hit;
    }
  }
  for (size_t k = 0; k < runs; ++k) {
    const int64_t total = Bootstrap::SumOverRanks(wrong[k]);
    out.wrong += total;
    if (c.corruptions.empty() || c.checks == 0) continue;
    const bool any = Bootstrap::MaxOverRanks(applied[k] ? 1.0 : 0.0) > 0;
    if (Bootstrap::rank() == 0) {
      std::fprintf(
          stderr, "tpbench: debug-corrupt %s: %s %s\n", CorruptionName(c.corruptions[k]),
          any ? (std::to_string(total) + " wrong elements in").c_str() : "not applicable to",
          c.name.c_str());
    }
  }
  out.max_bytes = Bootstrap::MaxOverRanks(static_cast<double>(bytes));
  out.max_msgs = Bootstrap::MaxOverRanks(static_cast<double>(msgs));
  return out;
}

void RunCase(benchmark::State& st, size_t index, int slow_rank, int corrupt_rank) {
  const Case& c = g_cases[index];
  Communicator& comm = *c.comm;
  if (Bootstrap::rank() == 0) {
    ++g_cases_done;
    if (isatty(2)) {
      std::fprintf(stderr, "\r[%zu/%zu] %-70.70s", g_cases_done, g_cases.size(), c.name.c_str());
      if (g_cases_done == g_cases.size()) std::fprintf(stderr, "\n");
    } else if (g_cases.size() >= 20 && g_cases_done % (g_cases.size() / 10) == 0) {
      std::fprintf(stderr, "[%zu/%zu] %s\n", g_cases_done, g_cases.size(), c.name.c_str());
    }
  }
  Buffers b;
  Prepare(c, &b, /*seed=*/1, /*fill=*/true);
  OpOptions opt;
  opt.algo = c.algo;
  for (int i = 0; i < c.warmup; ++i) comm.Run(b.args, opt)->Wait();
  Bootstrap::Barrier();
  // Time per op is the slowest rank's; the agreement itself is not timed.
  const double t = TimedLoop(st, [&] {
    if (slow_rank == Bootstrap::rank()) usleep(2000);
    auto t0 = Now();
    comm.Run(b.args, opt)->Wait();
    return SecondsSince(t0);
  });
  const CheckResult check = CheckCase(c, opt, corrupt_rank);
  g_wrong_total += check.wrong;
  if (c.checks == 0) g_unchecked.insert(index);
  CollArgs sized = b.args;
  const double s = static_cast<double>(AlgorithmBytes(sized));
  const double algbw = t > 0 ? s / t / 1e9 : 0;
  st.counters["time_us"] = t * 1e6;
  st.counters["algbw_GBps"] = algbw;
  st.counters["busbw_GBps"] = algbw * BusBandwidthFactor(c.kind, comm.size());
  // Unchecked (-c 0) leaves #wrong out: absent means "not checked", never "0 wrong".
  if (c.checks > 0) st.counters["wrong"] = static_cast<double>(check.wrong);
  st.counters["size_bytes"] = s;
  st.counters["count"] = static_cast<double>(b.args.count);
  st.counters["ranks"] = comm.size();
  st.counters["in_place"] = c.in_place;
  if (comm.counters().measured && c.checks > 0) {
    st.counters["bytes_sent_per_rank"] = check.max_bytes;
    st.counters["msgs_per_rank"] = check.max_msgs;
  }
}

// ---- the nccl-tests-style table on rank 0 -------------------------------------------------

class TableReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "median") continue;
      if (r.run_type == Run::RT_Iteration && r.repetitions > 1) continue;
      std::string name = r.run_name.function_name;
      auto it = g_case_by_name.find(name);
      if (it == g_case_by_name.end()) continue;
      const Case& c = g_cases[it->second];
      Row row{&c,
              Get(r, "time_us"),
              Get(r, "algbw_GBps"),
              Get(r, "busbw_GBps"),
              Get(r, "wrong", std::nan("")),
              r.error_occurred ? r.error_message : ""};
      Add(row);
    }
  }

  void Finalize() override {
    Flush();
    if (!g_cases.empty() && g_unchecked.size() == g_cases.size()) {
      std::printf("# Out of bounds values : unchecked (-c 0)\n");
    } else {
      std::printf("# Out of bounds values : %lld %s%s\n", static_cast<long long>(g_wrong_total),
                  g_wrong_total == 0 ? "OK" : "FAILED",
                  g_unchecked.empty() ? "" : " (some cases unchecked: -c 0)");
    }
    double sum = 0;
    int n = 0;
    for (double v : busbw_all_) sum += v, ++n;
    std::printf("# Avg bus bandwidth    : %.4g GB/s (over %d rows)\n", n ? sum / n : 0.0, n);
    for (const auto& [section, bw] : busbw_largest_) {
      std::printf("# Bus bandwidth at the largest size : %8.3f GB/s  %s\n", bw, section.c_str());
    }
    std::fflush(stdout);
  }

 private:
  struct Row {
    const Case* c;
    double time_us, algbw, busbw, wrong;
    std::string error;
  };
  static double Get(const Run& r, const char* k, double absent = 0) {
    auto it = r.counters.find(k);
    return it == r.counters.end() ? absent : it->second.value;
  }
  static std::string Key(const Case& c) {
    return c.section + "|" + std::to_string(c.bytes) + "|" + DataTypeName(c.dtype) + "|" +
           ReduceOpName(c.op) + "|" + std::to_string(c.root);
  }
  void Add(const Row& row) {
    if (pending_ && Key(*pending_->c) != Key(*row.c)) Flush();
    if (!row.c->in_place) {
      Flush();
      pending_ = row;
      return;
    }
    Print(pending_ ? &*pending_ : nullptr, &row);
    pending_.reset();
  }
  void Flush() {
    if (pending_) Print(&*pending_, nullptr);
    pending_.reset();
  }
  static void Cells(const Row* r) {
    if (!r) {
      std::printf("  %9s %7s %7s %6s", "", "", "", "");
    } else if (!r->error.empty()) {
      std::printf("  %9s %7s %7s %6s", "error", "", "", "");
    } else {
      std::printf("  %9.2f %7.3f %7.3f", r->time_us, r->algbw, r->busbw);
      if (std::isnan(r->wrong)) {
        std::printf(" %6s", "n/a");  // not checked (-c 0)
      } else {
        std::printf(" %6.0f", r->wrong);
      }
    }
  }
  void Print(const Row* oop, const Row* ip) {
    const Row* any = oop ? oop : ip;
    const Case& c = *any->c;
    if (c.section != section_) {
      section_ = c.section;
      std::printf("#\n# %s\n", c.section.c_str());
      std::printf("#%58s%-38s%s\n", "", "  out-of-place", "  in-place");
      std::printf("# %12s %12s %6s %6s %6s  %9s %7s %7s %6s  %9s %7s %7s %6s\n", "size", "count",
                  "type", "redop", "root", "time", "algbw", "busbw", "#wrong", "time", "algbw",
                  "busbw", "#wrong");
      std::printf("# %12s %12s %6s %6s %6s  %9s %7s %7s %6s  %9s %7s %7s %6s\n", "(B)",
                  "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)",
                  "(GB/s)", "");
    }
    const size_t count = CountFor(c.kind, c.bytes, c.dtype, c.comm->size());
    std::printf("  %12zu %12zu %6s %6s %6s", c.bytes, count, DataTypeName(c.dtype),
                Reduces(c.kind) ? ReduceOpName(c.op) : "none",
                HasRoot(c.kind) ? std::to_string(c.root).c_str() : "-1");
    Cells(oop);
    Cells(ip);
    std::printf("\n");
    std::fflush(stdout);
    double bw = oop && oop->error.empty() ? oop->busbw : (ip ? ip->busbw : 0);
    busbw_all_.push_back(bw);
    busbw_largest_[c.section] = bw;
  }

  std::optional<Row> pending_;
  std::string section_;
  std::vector<double> busbw_all_;
  std::map<std::string, double> busbw_largest_;
};

using Entry = SweepEntry<Config>;

// Reads the entries of a sweep file for `binary` that list world size `world` (world < 0:
// every entry, validated against each of its own world sizes).
std::vector<Entry> ReadSweep(const std::string& path, const std::string& binary, int world) {
  return ReadSweepEntries<Config>(path, binary, world, ParseConfig, {"--list"});
}

// Communicators, one world per backend and one split per group layout, shared by entries.
class Comms {
 public:
  Communicator* Get(const std::string& backend, const Config& cfg) {
    auto& w = worlds_[backend];
    if (!w) {
      w = CreateWorld(backend);
      if (cfg.timeout_s > 0) {
        w->set_timeout(std::chrono::milliseconds(static_cast<long>(cfg.timeout_s * 1000)));
      }
    }
    if (cfg.groups == 1) return w.get();
    const std::string key = backend + "/" + std::to_string(cfg.groups) + (cfg.strided ? "s" : "");
    auto& g = groups_[key];
    if (!g) {
      const int rank = w->rank(), group_size = w->size() / cfg.groups;
      const int color = cfg.strided ? rank % cfg.groups : rank / group_size;
      g = w->Split(color, rank);
      g->set_timeout(w->timeout());
    }
    return g.get();
  }
  void Clear() {
    groups_.clear();
    worlds_.clear();
  }

 private:
  std::map<std::string, std::unique_ptr<Communicator>> worlds_, groups_;
};

std::string MeshName(const Config& cfg, int world) {
  if (cfg.groups == 1) return "world";
  return std::to_string(cfg.groups) + " groups of " + std::to_string(world / cfg.groups) +
         (cfg.strided ? " (strided)" : " (consecutive)");
}

void AddCases(const Config& cfg, Comms* comms, int world) {
  const std::vector<size_t> sizes = Sizes(cfg);
  for (const std::string& bname : cfg.backends) {
    Communicator* comm = comms->Get(bname, cfg);
    for (const std::string& cname : cfg.colls) {
      OpKind kind;
      ParseOpKind(cname, &kind);
      std::vector<std::string> offered = comm->Algorithms(kind);
      std::vector<std::string> algos;
      for (const std::string& a : cfg.algos) {
        if (a == "all") {
          // Every algorithm and auto; "native" is the mpi backend's other name for auto.
          for (const std::string& o : offered) {
            if (o == "native") continue;
            if (std::find(algos.begin(), algos.end(), o) == algos.end()) algos.push_back(o);
          }
        } else if (std::find(offered.begin(), offered.end(), a) != offered.end()) {
          if (std::find(algos.begin(), algos.end(), a) == algos.end()) algos.push_back(a);
        }
      }
      if (algos.empty()) algos.push_back("auto");
      std::vector<ReduceOp> ops = Reduces(kind) ? cfg.ops : std::vector<ReduceOp>{ReduceOp::kSum};
      for (const std::string& algo : algos) {
        std::string section = cname + "  backend=" + comm->backend() + "  algo=" + algo +
                              "  ranks=" + std::to_string(comm->size()) +
                              (cfg.groups > 1 ? "  groups=" + MeshName(cfg, world) : "");
        for (DataType dt : cfg.dtypes) {
          for (ReduceOp op : ops) {
            for (size_t bytes : sizes) {
              if (bytes > 0 && CountFor(kind, bytes, dt, comm->size()) == 0) continue;
              for (int ip : cfg.in_place) {
                if (ip && kind == OpKind::kSendRecv) continue;
                Case c;
                c.backend = comm->backend();
                c.comm = comm;
                c.kind = kind;
                c.algo = algo;
                c.dtype = dt;
                c.op = op;
                c.root = HasRoot(kind) ? cfg.root : 0;
                c.bytes = bytes;
                c.in_place = ip;
                c.iters = cfg.iters > 0 ? cfg.iters : DefaultIters(bytes);
                c.warmup = cfg.warmup;
                c.checks = cfg.checks;
                c.corruptions = cfg.corruptions;
                c.section = section;
                c.name = cname + "/" + c.backend + "/" + algo + "/" + DataTypeName(dt) + "/" +
                         (Reduces(kind) ? ReduceOpName(op) : "none") + "/" +
                         (HasRoot(kind) ? "root:" + std::to_string(c.root) + "/" : "") +
                         "bytes:" + std::to_string(bytes) + "/inplace:" + std::to_string(ip) +
                         "/ranks:" + std::to_string(comm->size()) +
                         (cfg.groups > 1
                              ? "/groups:" + std::to_string(cfg.groups) + (cfg.strided ? "s" : "c")
                              : "");
                if (g_case_by_name.count(c.name)) continue;  // the same case from two entries
                g_case_by_name[c.name] = g_cases.size();
                g_cases.push_back(c);
              }
            }
          }
        }
      }
    }
  }
}

// Throws UsageError when an --algo name is offered by no backend for a collective.
void CheckAlgoNames(const Config& cfg) {
  for (const std::string& cname : cfg.colls) {
    OpKind kind;
    ParseOpKind(cname, &kind);
    std::vector<std::string> valid = {"auto", "native"};
    if (kind != OpKind::kSendRecv) {
      for (const std::string& n : AlgorithmNames(kind)) valid.push_back(n);
    }
    for (const std::string& a : cfg.algos) {
      if (a == "all" || std::find(valid.begin(), valid.end(), a) != valid.end()) continue;
      std::string list;
      for (const std::string& v : valid) list += v + ", ";
      throw UsageError("--algo: unknown algorithm '" + a + "' for " + cname + "; valid: " + list +
                       "all");
    }
  }
}

int Main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  // --check-sweep FILE: validate every entry for each of its world sizes, run nothing.
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--check-sweep")) {
      std::vector<Entry> entries = ReadSweep(ResolveUserPath(argv[i + 1]), "collectives", -1);
      for (const Entry& e : entries) {
        try {
          CheckAlgoNames(e.cfg);
        } catch (const Error& err) {
          throw UsageError(e.origin + ": " + err.what());
        }
      }
      std::printf("%s: %zu collectives entries x world sizes are valid\n", argv[i + 1],
                  entries.size());
      return 0;
    }
  }
  if (int rc = MaybeRelaunch(argc, argv); rc >= 0) return rc;
  Bootstrap::Init(&argc, &argv);
  const int world_rank = Bootstrap::rank(), world_size = Bootstrap::size();
  FlagParser p(argc, argv, {"--list"});
  p.Value("--np", "0");  // consumed by the launcher
  const bool list = p.Has("--list");
  const std::string sweep = ResolveUserPath(p.Value("--sweep", ""));
  std::vector<Entry> entries;
  if (sweep.empty()) {
    entries.push_back({ParseConfig(p, world_size), "command line"});
  } else {
    entries = ReadSweep(sweep, "collectives", world_size);
  }
  std::vector<std::string> passthrough = p.Finish({"--benchmark_"});
  if (list) {
    if (world_rank == 0) PrintList();
    Bootstrap::Finalize();
    return 0;
  }
  for (const Entry& e : entries) CheckAlgoNames(e.cfg);
  ResultsOutput out(&passthrough, world_rank == 0);

  Comms comms;
  std::string backends, mesh;
  for (const Entry& e : entries) {
    AddCases(e.cfg, &comms, world_size);
    for (const std::string& b : e.cfg.backends) {
      if (("," + backends + ",").find("," + b + ",") == std::string::npos) {
        backends += (backends.empty() ? "" : ",") + b;
      }
    }
    std::string m = MeshName(e.cfg, world_size);
    if (("; " + mesh + "; ").find("; " + m + "; ") == std::string::npos) {
      mesh += (mesh.empty() ? "" : "; ") + m;
    }
  }
  // Rank 0 decides the iteration counts; every rank registers the same ones.
  std::vector<long> iters;
  std::vector<std::string> names;
  for (const Case& c : g_cases) {
    iters.push_back(c.iters);
    names.push_back(c.name);
  }
  const int slow_rank = entries.empty() ? -1 : entries[0].cfg.slow_rank;
  const int corrupt_rank = entries.empty() ? -1 : entries[0].cfg.corrupt_rank;
  RegisterCases(names, &iters, [slow_rank, corrupt_rank](benchmark::State& st, size_t i) {
    RunCase(st, i, slow_rank, corrupt_rank);
  });
  for (size_t i = 0; i < g_cases.size(); ++i) g_cases[i].iters = iters[i];

  RunContext ctx = CollectContext();
  AddContextToBenchmark(ctx, backends, world_size, mesh);
  if (world_rank == 0) {
    std::printf("# tpbench collectives: %d ranks, backends %s, %s, %zu cases\n", world_size,
                backends.c_str(), mesh.c_str(), g_cases.size());
    std::printf("# machine_profile %s, git %s, %s, %s\n", ctx.machine_profile.c_str(),
                ctx.git_sha.c_str(), ctx.ucx_version.c_str(), ctx.mpi_version.c_str());
  }
  TableReporter table;
  RunBenchmarks(&passthrough, &table);
  out.Commit();
  if (world_rank == 0 && !out.path().empty()) std::printf("# results: %s\n", out.path().c_str());
  comms.Clear();
  Bootstrap::Finalize();
  if (g_wrong_total > 0) {
    if (world_rank == 0) {
      std::fprintf(stderr, "tpbench: error: %lld wrong elements (see #wrong)\n",
                   static_cast<long long>(g_wrong_total));
    }
    return static_cast<int>(ExitCode::kWrong);
  }
  return 0;
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  return tpbench::RunMain([&] { return tpbench::Main(argc, argv); });
}
