// bench/accept.cc: //bench:accept, the hardware acceptance verdict (docs/acceptance.md): runs
// the checks of a spec (bench/specs/) on every rank, link and group, names the ranks, links and
// hosts that fail, narrows a failing collective down by itself, and exits 5 when the hardware
// fails acceptance.
//
//   bazel run //bench:accept -- --np 4 --spec bench/specs/x86_64-amd-epyc-2c-24g.spec --out acc
//   srun -N 16 --ntasks-per-node 8 bazel-bin/bench/accept --spec h100.spec --backend ucx
//
// Writes OUT/verdict.json, OUT/summary.md, OUT/junit.xml and OUT/index.html (heatmap of the
// pairwise bandwidth matrix, per-rank bars; bench/accept_html.py).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "bench/accept_spec.h"
#include "bench/accept_verdict.h"
#include "bench/context.h"
#include "bench/flags.h"
#include "bench/output.h"
#include "comm/bootstrap.h"
#include "comm/communicator.h"
#include "comm/error.h"
#include "comm/verify.h"
#include "comm/world.h"
#include "layers/host_compute.h"
#include "layers/tensor.h"

namespace tpbench {
namespace {

constexpr const char* kUsage = R"(usage: accept --spec FILE [--np N | under mpirun/srun] [flags]
  --spec FILE        the acceptance spec (bench/specs/, format in docs/acceptance.md)
  --out DIR          verdict.json, summary.md, junit.xml, index.html (default accept-out)
  --backend NAME     ucx or mpi (default ucx)
  --force            run a spec written for another machine profile (default: exit 2)
  -T SECONDS         deadline of every op; a hang exits 4 naming op and peers (default 120)
  --fault-mode M     fast or detect (default: the spec's fault_mode, else detect: the ranks
                     report a lost peer themselves, at a bandwidth cost; docs/runtime.md)
  --debug-slow-rank R     test hooks, in the real run path: rank R's sends and collectives
  --debug-slow-link A:B   are throttled to 5 MB/s (+200 us each) / the link between A and B
  --debug-slow-compute R  is / rank R's GEMM and copy take 20x as long
Exit codes: 0 accepted; 5 the hardware failed acceptance; 2 bad flag or spec; 3 backend
error; 4 hang.
)";

constexpr int kHardwareFailed = 5;

struct Flags {
  std::string spec, out = "accept-out", backend = "ucx";
  bool force = false;
  double timeout_s = 120;
  int slow_rank = -1, slow_a = -1, slow_b = -1, slow_compute = -1;
};

Flags ParseFlags(FlagParser& p, int world) {
  Flags f;
  f.spec = ResolveUserPath(p.Value("--spec", ""));
  if (f.spec.empty()) throw UsageError("--spec FILE is required (see bench/specs/)");
  f.out = ResolveUserPath(p.Value("--out", "accept-out"));
  f.backend = p.Value("--backend", "ucx");
  f.force = p.Has("--force");
  f.timeout_s = ParseDouble(p.Value("-T", "120"), "-T", 0, 1e6);
  const long hi = world - 1;
  f.slow_rank =
      static_cast<int>(ParseInt(p.Value("--debug-slow-rank", "-1"), "--debug-slow-rank", -1, hi));
  f.slow_compute = static_cast<int>(
      ParseInt(p.Value("--debug-slow-compute", "-1"), "--debug-slow-compute", -1, hi));
  const std::string link = p.Value("--debug-slow-link", "");
  if (!link.empty()) {
    const size_t colon = link.find(':');
    if (colon == std::string::npos)
      throw UsageError("--debug-slow-link: '" + link + "' is not A:B");
    f.slow_a = static_cast<int>(ParseInt(link.substr(0, colon), "--debug-slow-link", 0, hi));
    f.slow_b = static_cast<int>(ParseInt(link.substr(colon + 1), "--debug-slow-link", 0, hi));
    if (f.slow_a == f.slow_b) throw UsageError("--debug-slow-link: A and B must differ");
  }
  return f;
}

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The test hooks' throttle: a 5 MB/s sender, plus 200 us per message.
void Throttle(size_t bytes) { usleep(static_cast<useconds_t>(200 + bytes / 5)); }

class Acceptance {
 public:
  Acceptance(const Flags& f, const AcceptSpec& s, Communicator* world)
      : f_(f), spec_(s), world_(world), me_(world->rank()), n_(world->size()) {}

  Verdict Run();

 private:
  // ---- 1. pairwise links ----
  void Links(const SpecCheck* lat, const SpecCheck* bw);
  void MeasurePair(int peer, size_t lat_bytes, size_t bw_bytes, std::vector<double>* lat,
                   std::vector<double>* bw);
  void JudgeLinks(const SpecCheck* lat, const SpecCheck* bw);
  // ---- 2. collectives, with bad-node finding ----
  void Collective(const SpecCheck& c);
  double GroupBusbw(const SpecCheck& c, int color, int64_t* wrong);
  double Worst(const std::vector<double>& busbw, const std::vector<int>& members) const;
  std::vector<int> Bisect(const SpecCheck& c, std::vector<int> members);
  // ---- 3. per-rank compute and memory ----
  void PerRank(const SpecCheck& c);
  // ---- 4. stragglers ----
  void Stragglers(const SpecCheck& c);

  bool SlowSend(int peer) const {
    return me_ == f_.slow_rank || (me_ == f_.slow_a && peer == f_.slow_b) ||
           (me_ == f_.slow_b && peer == f_.slow_a);
  }
  std::vector<double> Gather(double v) const;
  void Add(const SpecCheck& c, const std::string& name, double measured, const std::string& detail);

  const Flags& f_;
  const AcceptSpec& spec_;
  Communicator* world_;
  int me_, n_;
  Verdict v_;
  int64_t wrong_ = 0;
};

std::vector<double> Acceptance::Gather(double v) const {
  Bootstrap::Barrier();  // drives UCX progress until every rank is here
  std::vector<double> all(static_cast<size_t>(n_));
  Bootstrap::AllGather(&v, sizeof(v), all.data());
  return all;
}

void Acceptance::Add(const SpecCheck& c, const std::string& name, double measured,
                     const std::string& detail) {
  const double scale = c.unit_scale;  // report in the spec's own unit
  CheckOutcome o;
  o.name = name;
  o.origin = c.origin;
  o.passed = c.Passes(measured);
  o.measured = measured / scale;
  o.expected = c.bound() / scale;
  o.unit = c.unit;
  o.is_max = c.is_max;
  o.detail = detail;
  v_.checks.push_back(o);
}

// One ordered pair per direction: a ping-pong for latency (half the round trip, both
// directions), then each side streams to the other for bandwidth (measured by the sender).
void Acceptance::MeasurePair(int peer, size_t lat_bytes, size_t bw_bytes, std::vector<double>* lat,
                             std::vector<double>* bw) {
  constexpr int kPing = 20, kStream = 4;
  std::vector<char> buf(std::max(lat_bytes, bw_bytes) + 1, 1);
  auto send = [&](size_t bytes) {
    if (SlowSend(peer)) Throttle(bytes);
    world_->Send(buf.data(), bytes, DataType::kU8, peer)->Wait();
  };
  auto recv = [&](size_t bytes) { world_->Recv(buf.data(), bytes, DataType::kU8, peer)->Wait(); };
  const bool first = me_ < peer;
  auto t0 = Clock::now();
  for (int i = 0; i < kPing; ++i) {
    if (first)
      send(lat_bytes), recv(lat_bytes);
    else
      recv(lat_bytes), send(lat_bytes);
  }
  (*lat)[peer] = Since(t0) / kPing / 2;
  for (int dir = 0; dir < 2; ++dir) {
    const bool sending = (dir == 0) == first;
    t0 = Clock::now();
    for (int i = 0; i < kStream; ++i) sending ? send(bw_bytes) : recv(bw_bytes);
    sending ? recv(1) : send(1);  // the receiver's ack ends the sender's clock
    if (sending) (*bw)[peer] = static_cast<double>(bw_bytes) * kStream / Since(t0);
  }
}

// Rounds of disjoint pairs (the circle method): P ranks take P-1 rounds (P even; odd P adds an
// idle slot), every pair once, both directions.
void Acceptance::Links(const SpecCheck* lat, const SpecCheck* bw) {
  const size_t lat_bytes = lat ? static_cast<size_t>(lat->size) : 8;
  const size_t bw_bytes = bw ? static_cast<size_t>(bw->size) : 1 << 20;
  const int slots = n_ + n_ % 2;
  std::vector<double> my_lat(static_cast<size_t>(n_), 0), my_bw(static_cast<size_t>(n_), 0);
  for (int round = 0; round < slots - 1; ++round) {
    // Slot 0 stays; the others rotate. Slot i meets slot slots-1-i.
    std::vector<int> order(static_cast<size_t>(slots));
    order[0] = 0;
    for (int i = 1; i < slots; ++i) order[i] = 1 + (i - 1 + round) % (slots - 1);
    for (int i = 0; i < slots / 2; ++i) {
      const int a = order[i], b = order[slots - 1 - i];
      if (a >= n_ || b >= n_ || (me_ != a && me_ != b)) continue;
      MeasurePair(me_ == a ? b : a, lat_bytes, bw_bytes, &my_lat, &my_bw);
    }
  }
  v_.latency_s.assign(static_cast<size_t>(n_), {});
  v_.bandwidth_Bps.assign(static_cast<size_t>(n_), {});
  for (int r = 0; r < n_; ++r) {
    for (int c = 0; c < n_; ++c) {
      const std::vector<double> l = Gather(my_lat[c]), b = Gather(my_bw[c]);
      v_.latency_s[r].push_back(l[r]);
      v_.bandwidth_Bps[r].push_back(b[r]);
    }
  }
  JudgeLinks(lat, bw);
}

// A link fails on bandwidth (sender's view) or latency. A rank whose every outgoing link fails
// is named itself (its links are explained by it); the other failing links are named.
void Acceptance::JudgeLinks(const SpecCheck* lat, const SpecCheck* bw) {
  auto fails = [&](int a, int b) {
    return (bw && !bw->Passes(v_.bandwidth_Bps[a][b])) ||
           (lat && !lat->Passes(v_.latency_s[a][b]) && !lat->Passes(v_.latency_s[b][a]));
  };
  std::vector<bool> slow(static_cast<size_t>(n_), false);
  for (int r = 0; r < n_ && n_ > 1; ++r) {
    bool all = true, any_in_ok = false;
    for (int p = 0; p < n_; ++p) {
      if (p == r) continue;
      all = all && bw && !bw->Passes(v_.bandwidth_Bps[r][p]);
      any_in_ok = any_in_ok || (bw && bw->Passes(v_.bandwidth_Bps[p][r]));
    }
    slow[r] = all && (n_ > 2 || any_in_ok);
    if (slow[r]) v_.AddSuspect(r, "slow on all its links (sends)");
  }
  std::string bad;
  for (int a = 0; a < n_; ++a) {
    for (int b = a + 1; b < n_; ++b) {
      if (slow[a] || slow[b] || !(fails(a, b) || fails(b, a))) continue;
      bad += (bad.empty() ? "" : ", ") + std::to_string(a) + "<->" + std::to_string(b);
      v_.bad_links.push_back({a, b});
    }
  }
  double worst_bw = 1e300, worst_lat = 0;
  for (int a = 0; a < n_; ++a) {
    for (int b = 0; b < n_; ++b) {
      if (a == b) continue;
      worst_bw = std::min(worst_bw, v_.bandwidth_Bps[a][b]);
      worst_lat = std::max(worst_lat, v_.latency_s[a][b]);
    }
  }
  const std::string who = bad.empty() ? "" : "bad links: " + bad;
  if (lat && n_ > 1) Add(*lat, "link.latency (worst pair)", worst_lat, who);
  if (bw && n_ > 1) Add(*bw, "link.bandwidth (worst pair)", worst_bw, who);
}

// Runs collective c on every group at once (ranks of one color form a group; color < 0 sits
// out); returns the busbw this rank saw (0 when it sits out); *wrong gets its wrong elements.
double Acceptance::GroupBusbw(const SpecCheck& c, int color, int64_t* wrong) {
  std::unique_ptr<Communicator> g = world_->Split(color, me_);
  OpKind kind;
  ParseOpKind(c.op, &kind);
  CollArgs a;
  a.kind = kind;
  a.dtype = DataType::kF32;
  a.rank = g ? g->rank() : 0;
  a.size = g ? g->size() : 1;
  a.count = tpbench::Collective(kind).CountFor(static_cast<size_t>(c.size), a.dtype, a.size);
  std::vector<char> send(SendElements(a) * 4 + 4), recv(RecvElements(a) * 4 + 4);
  a.send = send.data();
  a.recv = recv.data();
  // A warm-up op, then kIters back to back (as nccl-tests times them), every group at once.
  constexpr int kIters = 8;
  if (g) {
    FillInput(a, send.data(), 3);
    g->Run(a)->Wait();
  }
  Bootstrap::Barrier();
  if (!g) return 0;
  const auto t0 = Clock::now();
  for (int i = 0; i < kIters; ++i) {
    if (me_ == f_.slow_rank) Throttle(static_cast<size_t>(c.size));
    g->Run(a)->Wait();
  }
  const double t = Since(t0) / kIters;
  *wrong += static_cast<int64_t>(CountWrong(a, recv.data(), 3));
  return c.size / t * BusBandwidthFactor(kind, g->size());
}

// A group's busbw is its slowest member's view (the others wait for a late rank).
double Acceptance::Worst(const std::vector<double>& busbw, const std::vector<int>& members) const {
  double w = 1e300;
  for (int m : members) w = std::min(w, busbw[m]);
  return w;
}

// Narrows a failing collective down: halves run at once; a failing half is split again; at two
// ranks, each is paired with a rank of a passing half. Returns the ranks to pull.
std::vector<int> Acceptance::Bisect(const SpecCheck& c, std::vector<int> members) {
  std::vector<int> good;
  while (members.size() > 2) {
    const size_t h = members.size() / 2;
    std::vector<int> lo(members.begin(), members.begin() + h),
        hi(members.begin() + h, members.end());
    int64_t w = 0;
    auto has = [&](const std::vector<int>& v) {
      return std::find(v.begin(), v.end(), me_) != v.end();
    };
    // Both halves at once; ranks outside both sit out.
    const std::vector<double> bw = Gather(GroupBusbw(c, has(lo) ? 0 : has(hi) ? 1 : -1, &w));
    const bool lo_ok = c.Passes(Worst(bw, lo)), hi_ok = c.Passes(Worst(bw, hi));
    if (lo_ok == hi_ok) return members;  // both fail (or both pass): cannot narrow further
    good = lo_ok ? lo : hi;
    members = lo_ok ? hi : lo;
  }
  if (members.size() < 2 || good.empty()) return members;
  std::vector<int> bad;
  for (int m : members) {
    int64_t w = 0;
    const int color = me_ == m || me_ == good[0] ? 0 : -1;
    const std::vector<double> bw = Gather(GroupBusbw(c, color, &w));
    if (!c.Passes(Worst(bw, {m, good[0]}))) bad.push_back(m);
  }
  return bad.empty() ? members : bad;
}

void Acceptance::Collective(const SpecCheck& c) {
  for (const std::string& group : c.groups) {
    if (group != "world" && spec_.mesh_rows * spec_.mesh_cols != n_) continue;
    // Every group of the layout at once (all rows, or all columns, as in training).
    const int cols = spec_.mesh_cols > 0 ? spec_.mesh_cols : 1;
    auto color = [&](int r) {
      return group == "world" ? 0 : group == "rows" ? r / cols : r % cols;
    };
    int64_t w = 0;
    const std::vector<double> bw = Gather(GroupBusbw(c, color(me_), &w));
    wrong_ += w;
    const double worst = *std::min_element(bw.begin(), bw.end());
    std::string detail;
    if (!c.Passes(worst) && group == "world") {
      std::vector<int> all(static_cast<size_t>(n_));
      std::iota(all.begin(), all.end(), 0);
      for (int r : Bisect(c, all)) v_.AddSuspect(r, c.op + " below spec (found by bisection)");
      detail = "narrowed down to: " + v_.SuspectList();
    }
    Add(c,
        "collective." + c.op + " " + group + " (" + FormatBytes(static_cast<size_t>(c.size)) + ")",
        worst, detail);
  }
}

// GEMM (n x n x n, f32, 1 BLAS thread) or copy bandwidth (bytes read + written) on every rank,
// one rank at a time (ranks on one host would otherwise share its cores and memory bus).
void Acceptance::PerRank(const SpecCheck& c) {
  const bool gemm = c.kind == "gemm";
  double mine = 0;
  Bootstrap::Barrier();
  for (int r = 0; r < n_; ++r) {
    Bootstrap::IdleBarrier();  // the others sleep while rank r measures
    if (r != me_) continue;
    HostCompute hc;
    const int64_t n = gemm ? static_cast<int64_t>(c.size) : 1;
    Tensor a({n, n}, DataType::kF32), b({n, n}, DataType::kF32), y({n, n}, DataType::kF32);
    std::vector<char> src(gemm ? 1 : static_cast<size_t>(c.size), 1), dst(src.size());
    a.FillUniform(1, -1, 1);
    b.FillUniform(2, -1, 1);
    // The best of 5 rounds of >= 10 ms: what the rank can do, not what a busy host let it do.
    for (int round = 0; round < 5; ++round) {
      int reps = 0;
      const auto t0 = Clock::now();
      while (Since(t0) < 0.01 || reps < 2) {
        if (gemm)
          hc.Gemm(false, false, 1.0, a, b, 0.0, &y);
        else
          std::memcpy(dst.data(), src.data(), src.size());
        ++reps;
      }
      double t = Since(t0);
      if (me_ == f_.slow_compute) {  // test hook: this rank computes 20x slower
        usleep(static_cast<useconds_t>(19 * t * 1e6));
        t *= 20;
      }
      mine = std::max(mine, gemm ? 2.0 * n * n * n * reps / t : 2.0 * c.size * reps / t);
    }
  }
  const std::vector<double> all = Gather(mine);
  std::string slow;
  for (int r = 0; r < n_; ++r) {
    (gemm ? v_.ranks[r].gemm_flops : v_.ranks[r].copy_Bps) = all[r];
    if (c.Passes(all[r])) continue;
    v_.AddSuspect(r, std::string(gemm ? "GEMM" : "copy bandwidth") + " below spec");
    slow += (slow.empty() ? "" : ", ") + std::to_string(r);
  }
  const int worst = static_cast<int>(std::min_element(all.begin(), all.end()) - all.begin());
  Add(c, gemm ? "gemm (slowest rank)" : "copy (slowest rank)", all[worst],
      "slowest rank " + std::to_string(worst) + (slow.empty() ? "" : "; below spec: " + slow));
}

// Per-rank, per-iteration times of an all-reduce started together (after a barrier): the rank
// that arrives last waits least, so the rank with the shortest time in an iteration was late.
void Acceptance::Stragglers(const SpecCheck& c) {
  constexpr int kIters = 40;
  const size_t count = std::max<size_t>(1, static_cast<size_t>(c.size) / 4);
  std::vector<float> buf(count, 1.0f);
  std::vector<double> mine;
  for (int i = 0; i <= kIters; ++i) {
    Bootstrap::Barrier();
    if (me_ == f_.slow_rank) Throttle(static_cast<size_t>(c.size));  // arrives late
    const auto t0 = Clock::now();                                    // from this rank's arrival
    world_->AllReduce(buf.data(), buf.data(), count, DataType::kF32, ReduceOp::kSum)->Wait();
    if (i > 0) mine.push_back(Since(t0));
  }
  std::vector<double> all(static_cast<size_t>(n_) * kIters);
  Bootstrap::Barrier();
  Bootstrap::AllGather(mine.data(), kIters * sizeof(double), all.data());
  std::vector<int> late(static_cast<size_t>(n_), 0);
  std::vector<std::vector<double>> waits(static_cast<size_t>(n_));
  for (int i = 0; i < kIters; ++i) {
    std::vector<double> t(static_cast<size_t>(n_));
    for (int r = 0; r < n_; ++r) t[r] = all[static_cast<size_t>(r) * kIters + i];
    const int last = static_cast<int>(std::min_element(t.begin(), t.end()) - t.begin());
    ++late[last];
    std::vector<double> sorted = t;
    std::sort(sorted.begin(), sorted.end());
    waits[last].push_back(sorted[sorted.size() / 2] - t[last]);
  }
  int worst = 0;
  for (int r = 0; r < n_; ++r) {
    std::vector<double> t(all.begin() + static_cast<long>(r) * kIters,
                          all.begin() + static_cast<long>(r + 1) * kIters);
    std::sort(t.begin(), t.end());
    RankStats& st = v_.ranks[r];
    st.p50_s = t[kIters / 2];
    st.p95_s = t[kIters * 95 / 100];
    st.max_s = t.back();
    st.late_fraction = static_cast<double>(late[r]) / kIters;
    std::sort(waits[r].begin(), waits[r].end());
    st.median_wait_s = waits[r].empty() ? 0 : waits[r][waits[r].size() / 2];
    if (late[r] > late[worst]) worst = r;
  }
  // A straggler is late in most iterations and makes the others wait longer than allowed.
  const RankStats& w = v_.ranks[worst];
  const bool straggler = n_ > 1 && w.late_fraction > 0.5;
  const double wait = straggler ? w.median_wait_s : 0;
  if (straggler && !c.Passes(wait)) v_.AddSuspect(worst, "straggler (late in most iterations)");
  Add(c, "straggler (others' median wait)", wait,
      straggler ? "rank " + std::to_string(worst) + " last in " +
                      std::to_string(static_cast<int>(w.late_fraction * 100)) + "% of iterations"
                : "no rank last in most iterations");
}

Verdict Acceptance::Run() {
  v_.ranks.resize(static_cast<size_t>(n_));
  for (int r = 0; r < n_; ++r) v_.ranks[r] = {r, Bootstrap::hostname_of(r)};
  const SpecCheck *lat = nullptr, *bw = nullptr;
  for (const SpecCheck& c : spec_.checks) {
    if (c.kind == "link") (c.op == "latency" ? lat : bw) = &c;
  }
  if (lat || bw) Links(lat, bw);
  for (const SpecCheck& c : spec_.checks) {
    if (c.kind == "collective") Collective(c);
    if (c.kind == "gemm" || c.kind == "copy") PerRank(c);
    if (c.kind == "straggler") Stragglers(c);
  }
  v_.wrong = Bootstrap::SumOverRanks(wrong_);
  return v_;
}

// A spec applies to its machine profile only (--force overrides).
RunContext CheckSpecApplies(const AcceptSpec& spec, bool force) {
  RunContext ctx = CollectContext();
  if (spec.profile != ctx.machine_profile && !force) {
    throw UsageError(spec.path + ": the spec is for machine profile '" + spec.profile +
                     "', this machine is '" + ctx.machine_profile + "' (--force runs it anyway)");
  }
  return ctx;
}

// Acceptance's fault mode is detect unless the spec's figures hold in another mode (its
// `fault_mode`); --fault-mode overrides both (Bootstrap parses it).
void UseSpecFaultMode(const AcceptSpec& spec) {
  SetDefaultFaultMode(spec.fault_mode == "fast" ? FaultMode::kFast : FaultMode::kDetect);
}

// Rank 0 renders the HTML page with bench/accept_html.py (next to this binary's runfiles).
void WriteHtml(const std::string& dir) {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return;
  self[n] = 0;
  const std::string script = std::string(self) + ".runfiles/tpbench/bench/accept_html.py";
  if (access(script.c_str(), R_OK) != 0) {
    std::fprintf(stderr, "tpbench: note: %s not found; no index.html\n", script.c_str());
    return;
  }
  // No shell: the folder may hold any character. matplotlib needs a writable config folder.
  const std::string verdict = dir + "/verdict.json";
  const char* args[] = {"/usr/bin/python3", script.c_str(), verdict.c_str(), dir.c_str(), nullptr};
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    const char* tmp = std::getenv("TMPDIR");
    setenv("MPLCONFIGDIR", (std::string(tmp ? tmp : "/tmp") + "/tpbench-mpl").c_str(), 0);
    execv(args[0], const_cast<char* const*>(args));
    _exit(127);
  }
  int status = 1;
  if (pid > 0) waitpid(pid, &status, 0);
  if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "tpbench: note: index.html failed\n");
  }
}

int Main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  // The spec is checked before any launch: a bad or foreign spec is one clear exit 2.
  bool force = false;
  for (int i = 1; i < argc; ++i) force = force || !std::strcmp(argv[i], "--force");
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--spec") && i + 1 < argc) {
      const AcceptSpec spec = ReadAcceptSpec(ResolveUserPath(argv[i + 1]));
      CheckSpecApplies(spec, force);
      UseSpecFaultMode(spec);  // the launcher's report names it too
    }
  }
  if (int rc = MaybeRelaunch(argc, argv); rc >= 0) return rc;
  Bootstrap::Init(&argc, &argv);
  FlagParser p(argc, argv, {"--force"});
  p.Value("--np", "0");
  p.Value("--fault-mode", "");  // Bootstrap's; it overrides the spec's
  const Flags f = ParseFlags(p, Bootstrap::size());
  p.Finish({});
  const AcceptSpec spec = ReadAcceptSpec(f.spec);
  const RunContext ctx = CheckSpecApplies(spec, f.force);
  UseSpecFaultMode(spec);  // before the world (and its UCX endpoints) exists
  if (Bootstrap::rank() == 0) MakeParentDirs(f.out + "/verdict.json");
  std::unique_ptr<Communicator> world = CreateWorld(f.backend);
  if (f.timeout_s > 0) world->set_timeout(std::chrono::milliseconds(long(f.timeout_s * 1e3)));
  Verdict v = Acceptance(f, spec, world.get()).Run();
  v.spec = f.spec;
  v.profile = spec.profile;
  v.source = spec.source;
  v.machine_profile = ctx.machine_profile;
  v.fault_mode = FaultModeName(CurrentFaultMode());
  v.backend = f.backend;
  v.world_size = Bootstrap::size();
  const int rank = Bootstrap::rank();
  world.reset();
  if (rank == 0) {
    WriteVerdict(v, f.out);
    WriteHtml(f.out);
    std::fputs(VerdictMarkdown(v).c_str(), stdout);
    std::printf("\n# verdict: %s/verdict.json (summary.md, junit.xml, index.html)\n",
                f.out.c_str());
  }
  // Every rank waits for rank 0's files; only rank 0 carries the verdict's exit code, so the
  // launcher never tears rank 0 down while it writes.
  Bootstrap::Barrier();
  Bootstrap::Finalize();
  return rank == 0 && !v.passed() ? kHardwareFailed : 0;
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  return tpbench::RunMain([&] { return tpbench::Main(argc, argv); });
}
