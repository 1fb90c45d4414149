// bench/output.h: atomic results files for Google Benchmark binaries run on many ranks.
//
//   ResultsOutput out(&passthrough_args, /*writer=*/rank == 0);
//   benchmark::Initialize(...); benchmark::RunSpecifiedBenchmarks(...);
//   out.Commit();   // rank 0: rename the temporary file onto --benchmark_out's path
//
// Rank 0 has Google Benchmark write to "<path>.tmp.<pid>" and renames it when the run ends,
// so a crashed or interrupted run never leaves a half-written results file. Other ranks drop
// --benchmark_out entirely (only rank 0 writes). Relative paths resolve against
// $BUILD_WORKING_DIRECTORY (where the user typed `bazel run`), and missing folders are made.
//
// Fields: Google Benchmark's counters are numbers only, so the string fields the Python tools
// read (kind, coll, backend, scheme, ...; py/tpbench/schema.py) are set per benchmark name with
// SetFields and written by Commit into every entry of that name (repetitions and aggregates
// alike) as "fields": {"key": "value", ...}.
#ifndef TPBENCH_BENCH_OUTPUT_H_
#define TPBENCH_BENCH_OUTPUT_H_

#include <map>
#include <string>
#include <vector>

namespace tpbench {

// One benchmark's string fields (key -> value).
using BenchFields = std::map<std::string, std::string>;

class ResultsOutput {
 public:
  ResultsOutput(std::vector<std::string>* args, bool writer);
  ~ResultsOutput();  // removes the temporary file if Commit was never reached
  // The fields of each registered benchmark name, written by Commit.
  void SetFields(std::map<std::string, BenchFields> by_name) { fields_ = std::move(by_name); }
  void Commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_, tmp_;
  bool writer_ = false, committed_ = false;
  std::map<std::string, BenchFields> fields_;
};

// Google Benchmark's JSON output with a "fields" object added after the "name" of every
// benchmark entry whose name is a key of by_name, or one of its runs: the key followed by
// "/iterations:N...", "/manual_time..." or an aggregate's "_mean", "_cv", ...
std::string AddFieldsToJson(const std::string& json,
                            const std::map<std::string, BenchFields>& by_name);

// Resolves a user-given path against $BUILD_WORKING_DIRECTORY when relative.
std::string ResolveUserPath(const std::string& p);
// mkdir -p of the folder that will hold `file`; throws UsageError if it cannot.
void MakeParentDirs(const std::string& file);
// Writes `content` to `path` atomically (temporary file + rename).
void WriteFileAtomically(const std::string& path, const std::string& content);

}  // namespace tpbench

#endif  // TPBENCH_BENCH_OUTPUT_H_
