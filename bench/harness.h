// bench/harness.h: what the Google Benchmark binaries (collectives, layers) share: the lockstep
// timed loop with max-over-ranks manual time, case registration with rank 0's iteration counts,
// sweep-file entries, and the run (flag check, rank-0-only reporting). docs/collectives.md.
//
//   RegisterManual(name, iters, [&](benchmark::State& st) {
//     double t = TimedLoop(st, [&] { auto t0 = Now(); op(); return SecondsSince(t0); });
//   });
//   RunBenchmarks(&passthrough, world_rank == 0 ? &my_reporter : nullptr);
#ifndef TPBENCH_BENCH_HARNESS_H_
#define TPBENCH_BENCH_HARNESS_H_

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/context.h"
#include "bench/flags.h"
#include "bench/output.h"
#include "comm/bootstrap.h"
#include "comm/communicator.h"
#include "comm/error.h"

namespace tpbench {

inline std::chrono::steady_clock::time_point Now() { return std::chrono::steady_clock::now(); }
inline double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(Now() - t0).count();
}

// Runs op once per benchmark iteration on every rank in lockstep; op returns the seconds it
// measured itself. The iteration time is the slowest rank's (the agreement is not timed) and is
// Google Benchmark's manual time. Returns the mean iteration time in seconds.
template <typename Op>
double TimedLoop(benchmark::State& st, Op&& op) {
  double total = 0;
  for (auto _ : st) {
    double dt = Bootstrap::MaxOverRanks(op());
    st.SetIterationTime(dt);
    total += dt;
  }
  return total / static_cast<double>(std::max<int64_t>(st.iterations(), 1));
}

// Rank 0 decides every case's iteration count (iters[i]); every rank registers the same ones,
// with manual time in microseconds.
void RegisterCases(const std::vector<std::string>& names, std::vector<long>* iters,
                   const std::function<void(benchmark::State&, size_t)>& run);

// One sweep entry (or the command line): its config and where it came from.
template <typename Config>
struct SweepEntry {
  Config cfg;
  std::string origin;  // "command line" or "FILE:LINE"
};

// The argument lists of a sweep file's entries for `binary` that list world size `world`
// (world < 0: every entry, once per each of its world sizes): (args with argv[0], size, origin).
struct SweepArgs {
  std::vector<std::string> argv;
  int world = 0;
  std::string origin;
};
std::vector<SweepArgs> SweepEntries(const std::string& path, const std::string& binary, int world);

// Parses each entry with parse(FlagParser&, world) (no flag may be left over); errors name the
// entry's file, line and world size.
template <typename Config, typename Parse>
std::vector<SweepEntry<Config>> ReadSweepEntries(const std::string& path, const std::string& binary,
                                                 int world, Parse parse,
                                                 const std::vector<std::string>& bool_flags = {}) {
  std::vector<SweepEntry<Config>> out;
  for (SweepArgs& a : SweepEntries(path, binary, world)) {
    std::vector<char*> argv;
    for (std::string& s : a.argv) argv.push_back(&s[0]);
    FlagParser p(static_cast<int>(argv.size()), argv.data(), bool_flags);
    SweepEntry<Config> e;
    try {
      e.cfg = parse(p, a.world);
      p.Finish({});
    } catch (const Error& err) {
      throw UsageError(a.origin + " (ranks=" + std::to_string(a.world) + "): " + err.what());
    }
    e.origin = a.origin;
    out.push_back(e);
  }
  return out;
}

// Before the launch: --help prints usage, --check-sweep FILE validates every `binary` entry of
// FILE at each of its world sizes and prints a summary. Returns the exit code, or -1 to go on.
template <typename Config, typename Parse>
int HelpOrCheckSweep(int argc, char** argv, const char* usage, const std::string& binary,
                     Parse parse, const std::vector<std::string>& bool_flags) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::fputs(usage, stdout);
      return 0;
    }
  }
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--check-sweep")) {
      auto e =
          ReadSweepEntries<Config>(ResolveUserPath(argv[i + 1]), binary, -1, parse, bool_flags);
      std::printf("%s: %zu %s entries x world sizes are valid\n", argv[i + 1], e.size(),
                  binary.c_str());
      return 0;
    }
  }
  return -1;
}

// The command line's config, or with --sweep FILE that file's `binary` entries for this world
// size; consumes --np (the launcher's).
template <typename Config, typename Parse>
std::vector<SweepEntry<Config>> EntriesFromFlags(FlagParser& p, const std::string& binary,
                                                 int world, Parse parse,
                                                 const std::vector<std::string>& bool_flags) {
  p.Value("--np", "0");
  p.Value("--fault-mode", "");  // Bootstrap's (comm/bootstrap.h)
  const std::string sweep = ResolveUserPath(p.Value("--sweep", ""));
  if (!sweep.empty()) return ReadSweepEntries<Config>(sweep, binary, world, parse, bool_flags);
  return {{parse(p, world), "command line"}};
}

// The ucx world with every op's deadline (seconds; 0: none).
std::unique_ptr<Communicator> CreateWorldWithTimeout(double timeout_s);

// The version of the results schema this build writes (context.tpbench_schema;
// py/tpbench/schema.py SCHEMA_VERSION).
inline constexpr const char* kResultsSchema = "2";

// {names[i]: fields(i)} for ResultsOutput::SetFields.
std::map<std::string, BenchFields> FieldsByName(const std::vector<std::string>& names,
                                                const std::function<BenchFields(size_t)>& fields);

// What RunAndCommit prints and records: the banner's binary name, the backends and mesh of the
// results' context, and rank 0's reporter (nullptr: Google Benchmark's console reporter).
struct RunInfo {
  std::string binary;
  int world_size = 1;
  size_t cases = 0;
  std::string backends = "ucx";
  std::string mesh = "world";
  benchmark::BenchmarkReporter* reporter = nullptr;
};

// Adds the run context, prints the banner (rank 0), runs every registered case, commits the
// JSON and prints its path.
void RunAndCommit(const RunInfo& info, std::vector<std::string>* passthrough, ResultsOutput* out);

// A benchmark binary, as data: RunBench() is its whole main.
template <typename Config>
struct BenchSpec {
  const char* usage = "";
  std::string binary;                                   // "collectives", "layers", ...
  std::function<Config(FlagParser&, int world)> parse;  // throws UsageError
  std::vector<std::string> bool_flags;                  // flags that take no value
  // Lists the cases of the entries (names and iteration counts, rank 0's win), creating the
  // communicators they need.
  std::function<void(std::vector<SweepEntry<Config>>*, int world, std::vector<std::string>*,
                     std::vector<long>*)>
      add;
  std::function<void(benchmark::State&, size_t)> run;  // case i
  std::function<std::string()> backends;               // after add; nullptr: "ucx"
  std::function<std::string()> mesh;                   // after add; nullptr: "world"
  benchmark::BenchmarkReporter* reporter = nullptr;    // rank 0's; nullptr: the console
  // After add: case i's results fields (kind, ...; py/tpbench/schema.py), written into its
  // entries in the JSON. nullptr: none.
  std::function<BenchFields(size_t)> fields;
  // After the run, before MPI is finalized: release communicators, return the exit code.
  std::function<int()> verdict;
};

// The main of a benchmark binary: help and --check-sweep, launch (--np), entries (command line
// or --sweep), cases, the rank-0-only run and the atomic JSON, the verdict.
template <typename Config>
int RunBench(int argc, char** argv, const BenchSpec<Config>& b) {
  if (int rc = HelpOrCheckSweep<Config>(argc, argv, b.usage, b.binary, b.parse, b.bool_flags);
      rc >= 0) {
    return rc;
  }
  if (int rc = MaybeRelaunch(argc, argv); rc >= 0) return rc;
  Bootstrap::Init(&argc, &argv);
  RunInfo info;
  info.binary = b.binary;
  info.world_size = Bootstrap::size();
  FlagParser p(argc, argv, b.bool_flags);
  std::vector<SweepEntry<Config>> entries =
      EntriesFromFlags<Config>(p, b.binary, info.world_size, b.parse, b.bool_flags);
  std::vector<std::string> passthrough = p.Finish({"--benchmark_"});
  ResultsOutput out(&passthrough, Bootstrap::rank() == 0);
  std::vector<std::string> names;
  std::vector<long> iters;
  b.add(&entries, info.world_size, &names, &iters);
  RegisterCases(names, &iters, b.run);
  info.cases = names.size();
  if (b.fields) out.SetFields(FieldsByName(names, b.fields));
  if (b.backends) info.backends = b.backends();
  if (b.mesh) info.mesh = b.mesh();
  info.reporter = b.reporter;
  RunAndCommit(info, &passthrough, &out);
  const int rc = b.verdict ? b.verdict() : 0;
  Bootstrap::Finalize();
  return rc;
}

// RunBench over the ucx world *world (created with the first entry's timeout_s before add,
// released after verdict): //bench:layers, //bench:patterns.
template <typename Config, typename Parse, typename Add>
int BenchMain(int argc, char** argv, const char* usage, const std::string& binary, Parse parse,
              const std::vector<std::string>& bool_flags, Add add,
              const std::function<void(benchmark::State&, size_t)>& run,
              std::unique_ptr<Communicator>* world, const std::function<int()>& verdict,
              const std::function<std::string()>& backends,
              const std::function<BenchFields(size_t)>& fields) {
  BenchSpec<Config> b;
  b.usage = usage;
  b.binary = binary;
  b.parse = parse;
  b.bool_flags = bool_flags;
  b.add = [&](std::vector<SweepEntry<Config>>* entries, int world_size,
              std::vector<std::string>* names, std::vector<long>* iters) {
    *world = CreateWorldWithTimeout(entries->empty() ? 300 : (*entries)[0].cfg.timeout_s);
    add(entries, world_size, names, iters);
  };
  b.run = run;
  b.backends = backends;
  b.fields = fields;
  b.verdict = [&] {
    const int rc = verdict();
    world->reset();
    return rc;
  };
  return RunBench(argc, argv, b);
}

// Initializes Google Benchmark with the pass-through flags (UsageError on an unknown one) and
// runs every registered case; rank 0 reports to `reporter` (nullptr: the console), the other
// ranks to a null reporter. Construct ResultsOutput on the flags first.
void RunBenchmarks(std::vector<std::string>* passthrough, benchmark::BenchmarkReporter* reporter);

}  // namespace tpbench

#endif  // TPBENCH_BENCH_HARNESS_H_
