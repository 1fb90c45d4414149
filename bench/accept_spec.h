// bench/accept_spec.h: the acceptance spec of //bench:accept (docs/acceptance.md): which
// machine it applies to and, per check, the figure that must be reached and its tolerance.
//
//   AcceptSpec spec = ReadAcceptSpec("bench/specs/x86_64-amd-epyc-2c-24g.spec");
//   for (const SpecCheck& c : spec.checks) ...   // c.kind, c.op, c.size, c.limit, c.tol
//
// The format, one statement a line ('#' starts a comment):
//   profile x86_64-amd-epyc-2c-24g         the machine_profile the figures belong to
//   source  <free text>                    where the figures come from (a run, a datasheet)
//   mesh    2x2                            TP mesh whose groups the collectives also run on
//   fault_mode fast                        the mode the figures were measured in (default detect)
//   link latency size=8B max=60us tol=50%
//   link bandwidth size=1MiB min=0.8GB/s tol=50%
//   collective all_reduce size=4MiB min_busbw=0.5GB/s tol=50% [groups=world,rows,cols]
//   gemm n=256 min=5GFLOP/s tol=50%
//   copy size=16MiB min=2GB/s tol=50%
//   straggler max_wait=2ms size=64KiB
// Every number carries its unit (B KiB MiB GiB; ns us ms s; MB/s GB/s; GFLOP/s TFLOP/s; %).
// A check passes when measured >= min * (1 - tol), tol < 100% (or <= max * (1 + tol), tol
// up to 1000%). An unknown word or
// key, a missing or wrong unit and an impossible value are a UsageError naming FILE:LINE.
#ifndef TPBENCH_BENCH_ACCEPT_SPEC_H_
#define TPBENCH_BENCH_ACCEPT_SPEC_H_

#include <string>
#include <vector>

namespace tpbench {

struct SpecCheck {
  std::string kind;  // link, collective, gemm, copy, straggler
  std::string op;    // latency|bandwidth (link), the collective's name; else empty
  double size = 0;   // bytes (link, collective, copy, straggler); n for gemm
  double limit = 0;  // min (rates) or max (latency, straggler wait), in base units: s, B/s, FLOP/s
  bool is_max = false;
  double tol = 0;                               // fraction
  std::vector<std::string> groups = {"world"};  // collective: world, rows, cols
  std::string origin;                           // FILE:LINE
  std::string unit;                             // the unit the spec used for limit, for reports
  double unit_scale = 1;                        // base units per `unit`

  // Pass/fail bound after the tolerance.
  double bound() const { return is_max ? limit * (1 + tol) : limit * (1 - tol); }
  bool Passes(double measured) const { return is_max ? measured <= bound() : measured >= bound(); }
};

struct AcceptSpec {
  std::string path, profile, source;
  // The fault mode the figures hold in (`fault_mode fast|detect`; default detect, acceptance's
  // own default: ranks report a lost peer themselves). --fault-mode overrides it.
  std::string fault_mode = "detect";
  int mesh_rows = 0, mesh_cols = 0;  // 0: no mesh
  std::vector<SpecCheck> checks;
};

AcceptSpec ReadAcceptSpec(const std::string& path);
AcceptSpec ParseAcceptSpec(const std::string& text, const std::string& path);

// "4MiB" -> bytes, "60us" -> seconds, "0.8GB/s" -> bytes/s, "5GFLOP/s" -> FLOP/s, "50%" -> 0.5;
// throws UsageError naming `where` and the units it takes.
double ParseQuantity(const std::string& v, const std::string& dimension, const std::string& where,
                     std::string* unit = nullptr, double* unit_scale = nullptr);

}  // namespace tpbench

#endif  // TPBENCH_BENCH_ACCEPT_SPEC_H_
