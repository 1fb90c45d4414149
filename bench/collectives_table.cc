// bench/collectives_table.cc: see collectives_table.h.
#include "bench/collectives_table.h"

#include <cmath>
#include <cstdio>

#include "comm/coll.h"

namespace tpbench {
namespace {

double Counter(const benchmark::BenchmarkReporter::Run& r, const char* k, double absent = 0) {
  auto it = r.counters.find(k);
  return it == r.counters.end() ? absent : it->second.value;
}

// Rows of one table line share everything but in_place.
std::string Key(const TableCase& c) {
  return c.section + "|" + std::to_string(c.bytes) + "|" + DataTypeName(c.dtype) + "|" +
         ReduceOpName(c.op) + "|" + std::to_string(c.root);
}

void Cells(const std::optional<double> time_us, double algbw, double busbw, double wrong,
           bool error) {
  if (!time_us) {
    std::printf("  %9s %7s %7s %6s", "", "", "", "");
  } else if (error) {
    std::printf("  %9s %7s %7s %6s", "error", "", "", "");
  } else {
    std::printf("  %9.2f %7.3f %7.3f", *time_us, algbw, busbw);
    if (std::isnan(wrong)) {
      std::printf(" %6s", "n/a");  // not checked (-c 0)
    } else {
      std::printf(" %6.0f", wrong);
    }
  }
}

}  // namespace

void CollectivesTable::ReportRuns(const std::vector<Run>& runs) {
  for (const Run& r : runs) {
    if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "median") continue;
    if (r.run_type == Run::RT_Iteration && r.repetitions > 1) continue;
    std::optional<TableCase> c = lookup_(r.run_name.function_name);
    if (!c) continue;
    Add(Row{*c, Counter(r, "time_us"), Counter(r, "algbw_GBps"), Counter(r, "busbw_GBps"),
            Counter(r, "wrong", std::nan("")), r.error_occurred ? r.error_message : ""});
  }
}

void CollectivesTable::Finalize() {
  Flush();
  if (totals_->cases > 0 && totals_->unchecked == totals_->cases) {
    std::printf("# Out of bounds values : unchecked (-c 0)\n");
  } else {
    std::printf("# Out of bounds values : %lld %s%s\n", static_cast<long long>(totals_->wrong),
                totals_->wrong == 0 ? "OK" : "FAILED",
                totals_->unchecked ? " (some cases unchecked: -c 0)" : "");
  }
  if (totals_->inter_node_checked) {
    if (totals_->inter_node_off == 0) {
      std::printf("# Bytes across nodes   : = model OK\n");
    } else {
      std::printf("# Bytes across nodes   : off the model on %lld rank(s) x case(s) FAILED\n",
                  static_cast<long long>(totals_->inter_node_off));
    }
  }
  double sum = 0;
  for (double v : busbw_all_) sum += v;
  std::printf("# Avg bus bandwidth    : %.4g GB/s (over %zu rows)\n",
              busbw_all_.empty() ? 0.0 : sum / static_cast<double>(busbw_all_.size()),
              busbw_all_.size());
  for (const auto& [section, bw] : busbw_largest_) {
    std::printf("# Bus bandwidth at the largest size : %8.3f GB/s  %s\n", bw, section.c_str());
  }
  std::fflush(stdout);
}

void CollectivesTable::Add(const Row& row) {
  if (pending_ && Key(pending_->c) != Key(row.c)) Flush();
  if (!row.c.in_place) {
    Flush();
    pending_ = row;
    return;
  }
  Print(pending_ ? &*pending_ : nullptr, &row);
  pending_.reset();
}

void CollectivesTable::Flush() {
  if (pending_) Print(&*pending_, nullptr);
  pending_.reset();
}

void CollectivesTable::Header(const std::string& section) {
  section_ = section;
  std::printf("#\n# %s\n", section.c_str());
  std::printf("#%58s%-38s%s\n", "", "  out-of-place", "  in-place");
  std::printf("# %12s %12s %6s %6s %6s  %9s %7s %7s %6s  %9s %7s %7s %6s\n", "size", "count",
              "type", "redop", "root", "time", "algbw", "busbw", "#wrong", "time", "algbw", "busbw",
              "#wrong");
  std::printf("# %12s %12s %6s %6s %6s  %9s %7s %7s %6s  %9s %7s %7s %6s\n", "(B)", "(elements)",
              "", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)", "(GB/s)", "");
}

void CollectivesTable::Print(const Row* oop, const Row* ip) {
  const TableCase& c = (oop ? oop : ip)->c;
  if (c.section != section_) Header(c.section);
  const CollectiveInfo& info = Collective(c.kind);
  std::printf("  %12zu %12zu %6s %6s %6s", c.bytes, c.count, DataTypeName(c.dtype),
              info.reduces ? ReduceOpName(c.op) : "none",
              info.has_root ? std::to_string(c.root).c_str() : "-1");
  for (const Row* r : {oop, ip}) {
    Cells(r ? std::optional<double>(r->time_us) : std::nullopt, r ? r->algbw : 0, r ? r->busbw : 0,
          r ? r->wrong : 0, r && !r->error.empty());
  }
  std::printf("\n");
  std::fflush(stdout);
  const double bw = oop && oop->error.empty() ? oop->busbw : (ip ? ip->busbw : 0);
  busbw_all_.push_back(bw);
  busbw_largest_[c.section] = bw;
}

}  // namespace tpbench
