// bench/accept_verdict.h: what //bench:accept found, and its three written forms: verdict.json
// (for scripts and bench/accept_html.py), summary.md (for people) and junit.xml (for CI).
//
//   Verdict v;
//   v.checks.push_back({...});              // one outcome per check and group
//   v.AddSuspect(3, "slow on all its links");
//   WriteVerdict(v, "accept-out");          // atomic files; exit kHardwareFailed unless passed()
#ifndef TPBENCH_BENCH_ACCEPT_VERDICT_H_
#define TPBENCH_BENCH_ACCEPT_VERDICT_H_

#include <string>
#include <utility>
#include <vector>

namespace tpbench {

struct CheckOutcome {
  std::string name;    // "collective.all_reduce world (4M)"
  std::string origin;  // the spec line, FILE:LINE
  bool passed = false;
  double measured = 0, expected = 0;  // in `unit`; expected is the bound after tolerance
  std::string unit;
  bool is_max = false;  // measured must be <= expected (else >=)
  std::string detail;   // who is to blame, when it failed
};

struct Suspect {
  int rank = 0;
  std::string host;
  std::string why;
};

struct RankStats {
  int rank = 0;
  std::string host;
  double gemm_flops = 0, copy_Bps = 0;          // per-rank compute and memory
  double p50_s = 0, p95_s = 0, max_s = 0;       // op time per iteration (straggler check)
  double late_fraction = 0, median_wait_s = 0;  // how often it arrived last, others' wait
};

struct Verdict {
  std::string spec, profile, machine_profile, source, backend;
  std::string fault_mode = "fast";  // comm/bootstrap.h: fast or detect
  int world_size = 0;
  int64_t wrong = 0;  // wrong elements over every checked collective
  std::vector<CheckOutcome> checks;
  std::vector<Suspect> suspects;
  std::vector<std::pair<int, int>> bad_links;
  std::vector<std::vector<double>> latency_s, bandwidth_Bps;  // [from][to]
  std::vector<RankStats> ranks;

  bool passed() const;
  // Names a rank to pull (its host from the bootstrap); a rank named twice keeps both reasons.
  void AddSuspect(int rank, const std::string& why);
  std::string SuspectList() const;  // "rank 2 (node0), rank 5 (node1)"
};

std::string VerdictJson(const Verdict& v);
std::string VerdictMarkdown(const Verdict& v);
std::string VerdictJUnit(const Verdict& v);
// Writes DIR/verdict.json, summary.md and junit.xml, each atomically.
void WriteVerdict(const Verdict& v, const std::string& dir);

}  // namespace tpbench

#endif  // TPBENCH_BENCH_ACCEPT_VERDICT_H_
