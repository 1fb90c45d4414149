// bench/sweep_file.h: reads sweep definitions (bench/sweeps/*.sweep; format in
// bench/sweeps/README.md). One entry per line:
//
//   # comment
//   collectives ranks=2,4 --backend ucx,mpi --coll all_reduce --algo all -b 8 -e 64M -f 4
//
// The first word names the benchmark binary, ranks= lists the world sizes to run the entry
// at, and the rest are that binary's own flags. A trailing backslash continues a line.
#ifndef TPBENCH_BENCH_SWEEP_FILE_H_
#define TPBENCH_BENCH_SWEEP_FILE_H_

#include <string>
#include <vector>

namespace tpbench {

struct SweepLine {
  std::string binary;
  std::vector<int> ranks;
  std::vector<std::string> args;
  std::string origin;  // "FILE:LINE"
};

// Throws UsageError naming FILE:LINE for a malformed line or an unknown binary.
std::vector<SweepLine> ReadSweepFile(const std::string& path);

}  // namespace tpbench

#endif  // TPBENCH_BENCH_SWEEP_FILE_H_
