// bench/collectives_table.h: the nccl-tests-style table of //bench:collectives, as a Google
// Benchmark reporter on rank 0: one section per (collective, backend, algorithm, ranks), one
// row per (size, dtype, reduction, root) with out-of-place and in-place side by side, and the
// footer (out-of-bounds values, average bus bandwidth, bus bandwidth at the largest size).
//
//   TableTotals totals;                                   // filled while the cases run
//   CollectivesTable table([](const std::string& name) { return RowOf(name); }, &totals);
//   RunBenchmarks(&passthrough, &table);
#ifndef TPBENCH_BENCH_COLLECTIVES_TABLE_H_
#define TPBENCH_BENCH_COLLECTIVES_TABLE_H_

#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "comm/types.h"

namespace tpbench {

// What the table shows of one case (a Google Benchmark name).
struct TableCase {
  std::string section;  // "all_reduce  backend=ucx  algo=ring  ranks=4[  groups=...]"
  OpKind kind = OpKind::kAllReduce;
  size_t bytes = 0, count = 0;
  DataType dtype = DataType::kF32;
  ReduceOp op = ReduceOp::kSum;
  int root = 0;
  bool in_place = false;
};

// The footer's totals, kept by the benchmark while its cases run.
struct TableTotals {
  int64_t wrong = 0;     // wrong elements, summed over ranks and cases
  size_t cases = 0;      // cases registered
  size_t unchecked = 0;  // cases run with -c 0
  // Bytes across nodes against the volume model (backends that measure them: ucx).
  bool inter_node_checked = false;  // some case compared them
  int64_t inter_node_off = 0;       // ranks off the model, summed over cases
};

class CollectivesTable : public benchmark::BenchmarkReporter {
 public:
  using Lookup = std::function<std::optional<TableCase>(const std::string& name)>;
  CollectivesTable(Lookup lookup, const TableTotals* totals)
      : lookup_(std::move(lookup)), totals_(totals) {}

  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

 private:
  struct Row {
    TableCase c;
    double time_us, algbw, busbw, wrong;  // wrong: NaN when unchecked
    std::string error;
  };
  void Add(const Row& row);
  void Flush();
  void Print(const Row* oop, const Row* ip);
  void Header(const std::string& section);

  Lookup lookup_;
  const TableTotals* totals_;
  std::optional<Row> pending_;  // an out-of-place row waiting for its in-place twin
  std::string section_;
  std::vector<double> busbw_all_;
  std::map<std::string, double> busbw_largest_;
};

}  // namespace tpbench

#endif  // TPBENCH_BENCH_COLLECTIVES_TABLE_H_
