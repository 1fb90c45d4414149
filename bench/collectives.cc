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

#include "bench/collectives_table.h"
#include "bench/context.h"
#include "bench/flags.h"
#include "bench/harness.h"
#include "bench/output.h"
#include "comm/bootstrap.h"
#include "comm/communicator.h"
#include "comm/cuda/cuda_device.h"
#include "comm/cuda/cuda_graph.h"
#include "comm/error.h"
#include "comm/verify.h"
#include "comm/world.h"
#include "patterns/registry.h"
#include "patterns/volume.h"

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
  --cuda-graph [N]   --backend nccl only: capture N ops (bare flag: 10) into a CUDA graph once
                     per case and time its replays (nccl-tests' -G); time_us is per op
  --groups SPEC      run concurrent sub-groups: N (N groups of consecutive ranks, e.g. the rows
                     of a mesh) or N:strided (ranks r, r+N, ...: the columns); default: world
  --np N             launch N ranks under mpirun (when not started by a launcher)
  --fault-mode M     fast (default): no peer-failure support in UCX, a lost rank is named by
                     the --np launcher; detect: survivors report a lost peer within ~0.2 s, at
                     a cost in large-message bandwidth (docs/runtime.md); recorded as fault_mode
  --sweep FILE       run the 'collectives' entries of a sweep file that list this world size
                     (bench/sweeps/README.md) instead of the flags above
  --check-sweep FILE validate every entry of a sweep file for each of its world sizes; exit
  --list [--json]    print the backends, collectives and algorithms (--json: as JSON, the
                     table the Python tools read), then exit
  --debug-slow-rank R, --debug-corrupt-rank R, --debug-inter-node-rank R
                     test hooks: rank R sleeps 2 ms before every timed op / corrupts one
                     output element of every correctness pass / counts one byte more sent
                     across nodes than its transport did (ucx: the bytes check fails, exit 7)
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
  int graph_ops = 0;                    // --cuda-graph: ops per captured graph (0: off)
  std::vector<Corruption> corruptions;  // test hook (--debug-corrupt)
  std::string section;  // table section: backend, collective, algorithm, group layout
  std::string groups;   // "" or the group layout, e.g. "2c" (2 groups, contiguous ranks)
  std::string name;
};

struct Config {
  size_t min_bytes = 8, max_bytes = 64u << 20, step_bytes = 0;
  double factor = 2;
  long iters = 0;
  int warmup = 3, checks = 1, root = 0;
  int cuda_graph = 0;  // --cuda-graph N
  double timeout_s = 300;
  std::vector<std::string> backends, colls, algos;
  std::vector<DataType> dtypes;
  std::vector<ReduceOp> ops;
  std::vector<int> in_place;
  int groups = 1;
  bool strided = false;
  int slow_rank = -1;        // test hook: this rank sleeps 2 ms before every op
  int corrupt_rank = -1;     // test hook: this rank corrupts one output element per check pass
  int inter_node_rank = -1;  // test hook: this rank counts one byte too many across nodes
  std::vector<Corruption> corruptions;  // test hook: the bugs each check pass simulates
};

// Run state, read by the table and the verdict.
std::vector<Case> g_cases;
std::map<std::string, size_t> g_case_by_name;
TableTotals g_totals;
std::set<size_t> g_unchecked;  // indices of the cases run with -c 0
size_t g_cases_done = 0;

// Algorithms a backend offers for a collective, as --algo names.
std::vector<std::string> ListedAlgorithms(const std::string& backend, OpKind k) {
  std::vector<std::string> out = {"auto"};
  if (backend == "mpi") {
    out.push_back("native");
  } else if (k != OpKind::kSendRecv) {
    for (const std::string& n : AlgorithmNames(k)) out.push_back(n);
  }
  return out;
}

void PrintList() {
  std::printf("backends: ucx (tpbench's algorithms over UCX), mpi (the MPI library's own)\n\n");
  for (const CollectiveInfo& c : Collectives()) {
    std::printf("%s  (busbw factor %s%s%s)\n", c.name, c.bus_formula, c.reduces ? ", takes -o" : "",
                c.has_root ? ", takes -r" : "");
    if (c.kind == OpKind::kSendRecv) {
      std::printf("  ucx  auto                 ring shift: send to rank+1, receive from rank-1\n");
    } else {
      std::printf(
          "  ucx  auto                 chosen by size and ranks (patterns/auto_select.cc)\n");
      for (const Algorithm& a : AllAlgorithms()) {
        if (a.kind == c.kind) std::printf("  ucx  %-20s %s\n", a.name, a.description);
      }
    }
    std::printf("  mpi  auto, native         the MPI library's own choice\n");
  }
}

std::string JsonList(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", \"" : "\"") + v[i] + "\"";
  return s + "]";
}

// The collective table (comm/coll.h) and the algorithms per backend, for the Python tools.
void PrintListJson() {
  std::printf("{\n  \"backends\": %s,\n  \"collectives\": [\n", JsonList(BackendNames()).c_str());
  const auto& all = Collectives();
  for (size_t i = 0; i < all.size(); ++i) {
    const CollectiveInfo& c = all[i];
    std::string algos;
    for (const std::string& b : BackendNames()) {
      algos +=
          (algos.empty() ? "" : ", ") + ("\"" + b + "\": ") + JsonList(ListedAlgorithms(b, c.kind));
    }
    std::printf(
        "    {\"name\": \"%s\", \"reduces\": %s, \"has_root\": %s, \"split_over_ranks\": %s, "
        "\"has_in_place\": %s, \"bus_scale\": %d, \"bus_shift\": %d, \"bus_formula\": \"%s\", "
        "\"algorithms\": {%s}}%s\n",
        c.name, c.reduces ? "true" : "false", c.has_root ? "true" : "false",
        c.split_over_ranks ? "true" : "false", c.has_in_place ? "true" : "false", c.bus_scale,
        c.bus_shift, c.bus_formula, algos.c_str(), i + 1 < all.size() ? "," : "");
  }
  std::printf("  ]\n}\n");
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

// A list flag's names (or "all"), each parsed by parse; errors name the flag, the unknown
// `what` and the valid names.
template <typename T>
std::vector<T> ParseChoices(const std::string& value, const std::string& flag, const char* what,
                            bool (*parse)(const std::string&, T*), const std::vector<T>& all,
                            const std::string& valid) {
  if (value == "all") return all;
  std::vector<T> out;
  for (const std::string& name : SplitList(value)) {
    T t;
    if (!parse(name, &t)) {
      throw UsageError(flag + ": unknown " + what + " '" + name + "'; valid: " + valid + ", all");
    }
    out.push_back(t);
  }
  return out;
}

// --backend, --coll, --algo, -d, -o, --inplace, --debug-corrupt.
void ParseLists(FlagParser& p, Config* c) {
  c->corruptions = ParseChoices(p.Value("--debug-corrupt", ""), "--debug-corrupt", "bug",
                                ParseCorruption, AllCorruptions(), CorruptionNames());
  const std::string b = p.Value("--backend", "ucx");
  const std::vector<std::string> valid = BackendNames();
  c->backends = b == "all" ? valid : SplitList(b);
  if (b == "all" && !GpuAvailable()) {  // "all" means what can run here: nccl needs a GPU
    c->backends.erase(std::remove(c->backends.begin(), c->backends.end(), "nccl"),
                      c->backends.end());
  }
  for (const std::string& name : c->backends) {
    if (std::find(valid.begin(), valid.end(), name) == valid.end()) {
      std::string names;
      for (const std::string& v : valid) names += v + ", ";
      throw UsageError("--backend: unknown backend '" + name + "'; valid: " + names + "all");
    }
  }
  for (OpKind k : ParseChoices(p.Value("--coll", "all_reduce"), "--coll", "collective", ParseOpKind,
                               AllCollectives(), OpKindNames())) {
    c->colls.push_back(OpKindName(k));
  }
  c->algos = SplitList(p.Value("--algo", "auto"));
  c->dtypes = ParseChoices(p.Value("-d", "f32"), "-d", "dtype", ParseDataType, AllDataTypes(),
                           DataTypeNames());
  c->ops = ParseChoices(p.Value("-o", "sum"), "-o", "reduction", ParseReduceOp, AllReduceOps(),
                        ReduceOpNames());
  const std::string ip = p.ValueOr("--inplace", "both", "1");
  if (ip == "both") {
    c->in_place = {0, 1};
  } else if (ip == "0" || ip == "1") {
    c->in_place = {ip == "1"};
  } else {
    throw UsageError("--inplace: '" + ip + "' is not 0, 1 or both");
  }
}

// --groups N[:strided] on `world` ranks, and -r within a group.
void ParseGroups(FlagParser& p, int world, Config* c) {
  std::string g = p.Value("--groups", "1");
  const size_t colon = g.find(':');
  if (colon != std::string::npos) {
    if (g.substr(colon + 1) != "strided") {
      throw UsageError("--groups: '" + g + "': the only layout suffix is ':strided'");
    }
    c->strided = true;
    g = g.substr(0, colon);
  }
  c->groups = static_cast<int>(ParseInt(g, "--groups", 1, 1 << 20));
  if (world % c->groups != 0) {
    throw UsageError("--groups " + std::to_string(c->groups) + " does not divide the " +
                     std::to_string(world) + " ranks of this job");
  }
  const int group_size = world / c->groups;
  if (c->root >= group_size) {
    throw UsageError("-r " + std::to_string(c->root) + " is not a rank of a group of " +
                     std::to_string(group_size));
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
  c.inter_node_rank = static_cast<int>(
      ParseInt(p.Value("--debug-inter-node-rank", "-1"), "--debug-inter-node-rank", -1, 1 << 20));
  ParseLists(p, &c);
  c.cuda_graph =
      static_cast<int>(ParseInt(p.ValueOr("--cuda-graph", "0", "10"), "--cuda-graph", 0, 100000));
  for (const std::string& b : c.cuda_graph > 0 ? c.backends : std::vector<std::string>{}) {
    if (b != "nccl") {
      throw UsageError("--cuda-graph: backend '" + b +
                       "' runs on the host and has no CUDA stream to capture; --cuda-graph "
                       "needs --backend nccl");
    }
  }
  ParseGroups(p, world, &c);
  CheckAlgoNames(c);
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

long DefaultIters(size_t bytes) {
  long n = static_cast<long>((256ull << 20) / std::max<size_t>(bytes, 1));
  return std::min<long>(200, std::max<long>(5, n));
}

// Sets up buffers for a case; in-place layouts follow comm/coll.h. args points into the host
// buffers (filled and checked there); on a device backend (nccl) run points at device copies
// of them, else run == args.
struct Buffers {
  std::vector<char> send, recv;
  CollArgs args, run;
  DeviceBuffer dsend, drecv;
  bool device = false;

  // Host buffers -> device copies (device backends only).
  void Upload() {
    if (!device) return;
    dsend.CopyFromHost(send.data(), send.size());
    drecv.CopyFromHost(recv.data(), recv.size());
  }
  // The device result -> the host receive buffer (device backends only).
  void Download() {
    if (!device) return;
    drecv.CopyToHost(recv.data(), recv.size());
  }
};

// The device address of a pointer into b's host buffers (nullptr stays nullptr).
const void* DeviceOf(const Buffers& b, const void* p) {
  const char* c = static_cast<const char*>(p);
  if (c == nullptr) return nullptr;
  if (!b.send.empty() && c >= b.send.data() && c <= b.send.data() + b.send.size()) {
    return b.dsend.data() + (c - b.send.data());
  }
  return b.drecv.data() + (c - b.recv.data());
}

void Prepare(const Case& c, Buffers* b, int seed, bool fill) {
  Communicator& comm = *c.comm;
  CollArgs& a = b->args;
  a.kind = c.kind;
  a.dtype = c.dtype;
  a.op = c.op;
  a.root = c.root;
  a.rank = comm.rank();
  a.size = comm.size();
  a.count = Collective(c.kind).CountFor(c.bytes, c.dtype, comm.size());
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
  b->run = a;
  b->device = comm.device_memory();
  if (b->device) {
    b->dsend = DeviceBuffer(b->send.size());
    b->drecv = DeviceBuffer(b->recv.size());
    b->run.send = DeviceOf(*b, a.send);
    b->run.recv = const_cast<void*>(DeviceOf(*b, a.recv));
    b->Upload();
  }
}

struct CheckResult {
  int64_t wrong = 0;                   // summed over ranks and passes
  double max_bytes = 0, max_msgs = 0;  // sent by the busiest rank in one op
  // Bytes sent to other nodes in one op: the most any rank sent (measured) and the model's
  // most (ModelSentByNode); ranks whose own measured figure is not their model's.
  double max_inter = 0, model_inter = 0, inter_off_ranks = 0;
};

// Test hooks of the first entry (--debug-*-rank; -1: off).
struct Hooks {
  int slow_rank = -1, corrupt_rank = -1, inter_node_rank = -1;
};

// One correctness pass on fresh exactly-checkable data; `bug` (test hook) corrupts the result
// as that bug would. Returns this rank's wrong elements; *applied tells whether the bug applied;
// *sent is what this rank sent in the op.
int64_t CheckPass(const Case& c, const OpOptions& opt, int seed, const Hooks& hooks,
                  const Corruption* bug, bool* applied, OpCount* sent) {
  Buffers v;
  Prepare(c, &v, seed, /*fill=*/true);
  OpCount before = c.comm->counters().Get(c.kind);
  c.comm->Run(v.run, opt)->Wait();
  v.Download();
  OpCount after = c.comm->counters().Get(c.kind);
  sent->bytes = after.bytes - before.bytes;
  sent->msgs = after.msgs - before.msgs;
  sent->inter_node_bytes = after.inter_node_bytes - before.inter_node_bytes;
  // Test hook: prove that bytes across nodes off the model fail the run.
  if (hooks.inter_node_rank == Bootstrap::rank()) sent->inter_node_bytes += 1;
  if (hooks.corrupt_rank == Bootstrap::rank() && RecvElements(v.args) > 0 && v.args.recv) {
    // Test hook: prove that a wrong element is counted and fails the run.
    StoreFromDouble(v.args.recv, 0, c.dtype, LoadAsDouble(v.args.recv, 0, c.dtype) + 1);
  }
  if (bug) *applied = Corrupt(*bug, v.args, v.args.recv, seed);
  return static_cast<int64_t>(CountWrong(v.args, v.args.recv, seed));
}

// The bytes this rank sends to other nodes in one op of case c, by the volume model on the
// nodes of the group's ranks (Bootstrap::node_of: by hostname).
uint64_t ModelInterNode(const Case& c) {
  const Communicator& comm = *c.comm;
  std::vector<int> node_of;
  for (int w : comm.world_ranks()) node_of.push_back(Bootstrap::node_of(w));
  const size_t count = Collective(c.kind).CountFor(c.bytes, c.dtype, comm.size());
  return ModelSentByNode(c.kind, c.algo, count, DataTypeSize(c.dtype), node_of, comm.rank(), c.root)
      .inter;
}

// The correctness passes of a case, outside the timed loop; with --debug-corrupt each pass
// runs once per bug, and rank 0 prints what each bug cost (a bug no rank applied says so).
CheckResult CheckCase(const Case& c, const OpOptions& opt, const Hooks& hooks) {
  CheckResult out;
  OpCount sent;
  const size_t runs = std::max<size_t>(1, c.corruptions.size());
  std::vector<int64_t> wrong(runs, 0);
  std::vector<bool> applied(runs, false);
  for (int pass = 0; pass < c.checks; ++pass) {
    for (size_t k = 0; k < runs; ++k) {
      const Corruption* bug = c.corruptions.empty() ? nullptr : &c.corruptions[k];
      bool hit = false;
      wrong[k] += CheckPass(c, opt, pass + 7, hooks, bug, &hit, &sent);
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
  out.max_bytes = Bootstrap::MaxOverRanks(static_cast<double>(sent.bytes));
  out.max_msgs = Bootstrap::MaxOverRanks(static_cast<double>(sent.msgs));
  if (c.comm->counters().inter_node_measured) {
    const uint64_t model = ModelInterNode(c);
    out.max_inter = Bootstrap::MaxOverRanks(static_cast<double>(sent.inter_node_bytes));
    out.model_inter = Bootstrap::MaxOverRanks(static_cast<double>(model));
    out.inter_off_ranks = static_cast<double>(
        Bootstrap::SumOverRanks(int64_t{sent.inter_node_bytes != model ? 1 : 0}));
  }
  return out;
}

// The timed loop: time per op is the slowest rank's; the agreement itself is not timed.
double TimeOps(benchmark::State& st, const Case& c, const Buffers& b, const OpOptions& opt,
               int slow_rank) {
  Bootstrap::Barrier();
  return TimedLoop(st, [&] {
    if (slow_rank == Bootstrap::rank()) usleep(2000);
    auto t0 = Now();
    WorkPtr w = c.comm->Run(b.run, opt);
    w->Wait();
    // Device backends: the op's CUDA-event time (the launch overhead is not in it).
    return b.device ? w->DurationUs() * 1e-6 : SecondsSince(t0);
  });
}

// --cuda-graph: graph_ops ops captured once on a fresh stream (after one uncaptured op, so
// that set-up never happens inside the capture), then each iteration replays the graph; the
// time per op is the replay's CUDA-event time / graph_ops, the slowest rank's.
double TimeGraphReplays(benchmark::State& st, const Case& c, const Buffers& b,
                        const OpOptions& opt) {
  if (c.warmup == 0) c.comm->Run(b.run, opt)->Wait();
  OpOptions captured = opt;
  CudaGraph graph([&](void* stream) {
    captured.stream = Stream::Device(stream);
    for (int i = 0; i < c.graph_ops; ++i) c.comm->Run(b.run, captured);
  });
  Bootstrap::Barrier();
  return TimedLoop(st, [&] { return graph.Replay(c.comm->timeout()) / c.graph_ops; });
}

// Bytes across nodes, only where the backend tells them apart (tpbench's own algorithms):
// absent means not measured (mpi, nccl), never 0. Ranks off the model fail the run (Verdict).
void ReportInterNode(benchmark::State& st, const Case& c, const CheckResult& check) {
  if (!c.comm->counters().inter_node_measured || c.checks == 0) return;
  st.counters["inter_node_bytes_per_rank"] = check.max_inter;
  st.counters["inter_node_bytes_model"] = check.model_inter;
  st.counters["inter_node_ranks_off_model"] = check.inter_off_ranks;
  g_totals.inter_node_checked = true;
  g_totals.inter_node_off += static_cast<int64_t>(check.inter_off_ranks);
}

void RunCase(benchmark::State& st, size_t index, const Hooks& hooks) {
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
  for (int i = 0; i < c.warmup; ++i) comm.Run(b.run, opt)->Wait();
  const double t =
      c.graph_ops > 0 ? TimeGraphReplays(st, c, b, opt) : TimeOps(st, c, b, opt, hooks.slow_rank);
  const CheckResult check = CheckCase(c, opt, hooks);
  g_totals.wrong += check.wrong;
  if (c.checks == 0) {
    g_unchecked.insert(index);
    g_totals.unchecked = g_unchecked.size();
  }
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
  if (c.graph_ops > 0) st.counters["cuda_graph_ops"] = c.graph_ops;
  if (comm.counters().measured && c.checks > 0) {
    st.counters["bytes_sent_per_rank"] = check.max_bytes;
    st.counters["msgs_per_rank"] = check.max_msgs;
  }
  ReportInterNode(st, c, check);
}

using Entry = SweepEntry<Config>;

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

// The --algo names of an entry that `comm` offers for `kind` ("all": every one but "native",
// the mpi backend's other name for auto); a name it lacks is skipped, none left means auto.
std::vector<std::string> AlgosFor(const Communicator& comm, OpKind kind,
                                  const std::vector<std::string>& wanted) {
  const std::vector<std::string> offered = comm.Algorithms(kind);
  std::vector<std::string> algos;
  auto add = [&](const std::string& a) {
    if (std::find(algos.begin(), algos.end(), a) == algos.end()) algos.push_back(a);
  };
  for (const std::string& a : wanted) {
    if (a == "all") {
      for (const std::string& o : offered) {
        if (o != "native") add(o);
      }
    } else if (std::find(offered.begin(), offered.end(), a) != offered.end()) {
      add(a);
    }
  }
  if (algos.empty()) algos.push_back("auto");
  return algos;
}

// "<collective>/<backend>/<algo>/<dtype>/<redop|none>/[root:R/]bytes:S/inplace:I/ranks:N
// [/groups:G{c|s}]" (docs/collectives.md).
std::string CaseName(const Case& c, const Config& cfg) {
  const CollectiveInfo& info = Collective(c.kind);
  return std::string(info.name) + "/" + c.backend + "/" + c.algo + "/" + DataTypeName(c.dtype) +
         "/" + (info.reduces ? ReduceOpName(c.op) : "none") + "/" +
         (info.has_root ? "root:" + std::to_string(c.root) + "/" : "") +
         "bytes:" + std::to_string(c.bytes) + "/inplace:" + std::to_string(c.in_place) +
         "/ranks:" + std::to_string(c.comm->size()) +
         (cfg.groups > 1 ? "/groups:" + std::to_string(cfg.groups) + (cfg.strided ? "s" : "c")
                         : "");
}

// The case's results fields (py/tpbench/schema.py): what its name says, as fields.
BenchFields FieldsOf(const Case& c) {
  const CollectiveInfo& info = Collective(c.kind);
  return {{"kind", "collective"},
          {"coll", info.name},
          {"backend", c.backend},
          {"algo", c.algo},
          {"dtype", DataTypeName(c.dtype)},
          {"redop", info.reduces ? ReduceOpName(c.op) : "none"},
          {"root", info.has_root ? std::to_string(c.root) : ""},
          {"inplace", std::to_string(c.in_place)},
          {"groups", c.groups}};
}

// Registers the cases of one (backend, collective, algorithm) section of an entry.
void AddSection(const Config& cfg, Communicator* comm, OpKind kind, const std::string& algo,
                int world) {
  const CollectiveInfo& info = Collective(kind);
  Case c;
  c.backend = comm->backend();
  c.comm = comm;
  c.kind = kind;
  c.algo = algo;
  c.root = info.has_root ? cfg.root : 0;
  c.warmup = cfg.warmup;
  c.checks = cfg.checks;
  c.graph_ops = cfg.cuda_graph;
  c.corruptions = cfg.corruptions;
  c.section = std::string(info.name) + "  backend=" + c.backend + "  algo=" + algo +
              "  ranks=" + std::to_string(comm->size()) +
              (cfg.groups > 1 ? "  groups=" + MeshName(cfg, world) : "");
  const std::vector<ReduceOp> ops = info.reduces ? cfg.ops : std::vector<ReduceOp>{ReduceOp::kSum};
  for (DataType dt : cfg.dtypes) {
    for (ReduceOp op : ops) {
      for (size_t bytes : Sizes(cfg)) {
        if (bytes > 0 && info.CountFor(bytes, dt, comm->size()) == 0) continue;
        for (int ip : cfg.in_place) {
          if (ip && !info.has_in_place) continue;
          c.dtype = dt;
          c.op = op;
          c.bytes = bytes;
          c.in_place = ip;
          c.iters = cfg.iters > 0 ? cfg.iters : DefaultIters(bytes);
          c.name = CaseName(c, cfg);
          c.groups = cfg.groups > 1 ? std::to_string(cfg.groups) + (cfg.strided ? "s" : "c") : "";
          if (g_case_by_name.count(c.name)) continue;  // the same case from two entries
          g_case_by_name[c.name] = g_cases.size();
          g_cases.push_back(c);
        }
      }
    }
  }
}

void AddCases(const Config& cfg, Comms* comms, int world) {
  for (const std::string& bname : cfg.backends) {
    Communicator* comm = comms->Get(bname, cfg);
    for (const std::string& cname : cfg.colls) {
      OpKind kind;
      ParseOpKind(cname, &kind);
      for (const std::string& algo : AlgosFor(*comm, kind, cfg.algos)) {
        AddSection(cfg, comm, kind, algo, world);
      }
    }
  }
}

// Appends `item` to a separated list unless it is there already.
void AddUnique(std::string* list, const std::string& item, const std::string& sep) {
  if ((sep + *list + sep).find(sep + item + sep) == std::string::npos) {
    *list += (list->empty() ? "" : sep) + item;
  }
}

std::optional<TableCase> RowOf(const std::string& name) {
  auto it = g_case_by_name.find(name);
  if (it == g_case_by_name.end()) return std::nullopt;
  const Case& c = g_cases[it->second];
  return TableCase{
      c.section, c.kind, c.bytes, Collective(c.kind).CountFor(c.bytes, c.dtype, c.comm->size()),
      c.dtype,   c.op,   c.root,  c.in_place};
}

Comms g_comms;
std::string g_backends, g_mesh;

void Add(std::vector<Entry>* entries, int world, std::vector<std::string>* names,
         std::vector<long>* iters) {
  for (const Entry& e : *entries) {
    AddCases(e.cfg, &g_comms, world);
    for (const std::string& b : e.cfg.backends) AddUnique(&g_backends, b, ",");
    AddUnique(&g_mesh, MeshName(e.cfg, world), "; ");
  }
  // Rank 0 decides the iteration counts (RegisterCases); every rank registers the same ones.
  for (const Case& c : g_cases) {
    names->push_back(c.name);
    iters->push_back(c.iters);
  }
  g_totals.cases = g_cases.size();
}

int Verdict() {
  g_comms.Clear();
  if (g_totals.wrong == 0 && g_totals.inter_node_off == 0) return 0;
  if (Bootstrap::rank() == 0 && g_totals.wrong != 0) {
    std::fprintf(stderr, "tpbench: error: %lld wrong elements (see #wrong)\n",
                 static_cast<long long>(g_totals.wrong));
  }
  if (Bootstrap::rank() == 0 && g_totals.inter_node_off != 0) {
    std::fprintf(stderr,
                 "tpbench: error: bytes sent across nodes differ from the volume model on %lld "
                 "rank(s) x case(s) (see inter_node_ranks_off_model)\n",
                 static_cast<long long>(g_totals.inter_node_off));
  }
  return static_cast<int>(ExitCode::kWrong);
}

int Main(int argc, char** argv) {
  bool list = false, json = false;
  for (int i = 1; i < argc; ++i) {
    list = list || !std::strcmp(argv[i], "--list");
    json = json || !std::strcmp(argv[i], "--json");
  }
  if (list) {  // before any launch: the registry is the same on every rank
    json ? PrintListJson() : PrintList();
    return 0;
  }
  Hooks hooks;  // from the first entry
  CollectivesTable table(RowOf, &g_totals);
  BenchSpec<Config> b;
  b.usage = kUsage;
  b.binary = "collectives";
  b.parse = ParseConfig;
  b.add = [&](std::vector<Entry>* entries, int world, std::vector<std::string>* names,
              std::vector<long>* iters) {
    if (!entries->empty()) {
      hooks.slow_rank = (*entries)[0].cfg.slow_rank;
      hooks.corrupt_rank = (*entries)[0].cfg.corrupt_rank;
      hooks.inter_node_rank = (*entries)[0].cfg.inter_node_rank;
    }
    Add(entries, world, names, iters);
  };
  b.run = [&](benchmark::State& st, size_t i) { RunCase(st, i, hooks); };
  b.backends = [] { return g_backends; };
  b.mesh = [] { return g_mesh; };
  b.reporter = &table;
  b.fields = [](size_t i) { return FieldsOf(g_cases[i]); };
  b.verdict = Verdict;
  return RunBench(argc, argv, b);
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  return tpbench::RunMain([&] { return tpbench::Main(argc, argv); });
}
