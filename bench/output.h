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
#ifndef TPBENCH_BENCH_OUTPUT_H_
#define TPBENCH_BENCH_OUTPUT_H_

#include <string>
#include <vector>

namespace tpbench {

class ResultsOutput {
 public:
  ResultsOutput(std::vector<std::string>* args, bool writer);
  ~ResultsOutput();  // removes the temporary file if Commit was never reached
  void Commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_, tmp_;
  bool writer_ = false, committed_ = false;
};

// Resolves a user-given path against $BUILD_WORKING_DIRECTORY when relative.
std::string ResolveUserPath(const std::string& p);
// mkdir -p of the folder that will hold `file`; throws UsageError if it cannot.
void MakeParentDirs(const std::string& file);
// Writes `content` to `path` atomically (temporary file + rename).
void WriteFileAtomically(const std::string& path, const std::string& content);

}  // namespace tpbench

#endif  // TPBENCH_BENCH_OUTPUT_H_
