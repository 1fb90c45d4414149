#include "comm/bootstrap.h"

#include <fcntl.h>
#include <mpi.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "comm/error.h"
#include "comm/mpi/mpi_check.h"
#include "comm/types.h"

namespace tpbench {
namespace {

bool g_initialized = false;
int g_rank = 0, g_size = 1, g_local_size = 1;
std::vector<std::string> g_hostnames;  // per world rank
std::vector<int> g_node_of;            // per world rank
int g_num_nodes = 1;
int g_requested_np = -1;

char g_inflight[1024];
volatile sig_atomic_t g_inflight_set = 0;
char g_prefix[64];

FaultMode g_default_mode = FaultMode::kFast;
int g_cli_mode = -1;  // a FaultMode given on the command line
bool g_verbose_flag = false;

// A rank's status file, shared with the --np launcher (mmap of $TPBENCH_RUN_DIR/rank.<r>):
// written with memcpy only, so the signal handlers may update it.
struct RankStatus {
  char magic[8];
  int32_t rank, pid;
  int32_t inflight_set;
  char host[256];
  char state[128];  // running, done, exit <code>, terminated, aborted, lost peer ...
  char inflight[1024];
  int32_t op_kind, op_dtype;  // the last op started (NoteOpStart); op_seq 0: none
  int64_t op_count, op_seq;
  char op_algo[32];
};
constexpr char kStatusMagic[8] = "tpbst1";
RankStatus* g_status = nullptr;

void StatusState(const char* state) {
  if (!g_status) return;
  const size_t n = std::min(std::strlen(state), sizeof(g_status->state) - 1);
  std::memcpy(g_status->state, state, n);
  g_status->state[n] = 0;
}

void OpenStatusFile() {
  const char* dir = std::getenv("TPBENCH_RUN_DIR");
  if (!dir || !*dir) return;
  const std::string path = std::string(dir) + "/rank." + std::to_string(g_rank);
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return;  // the report loses this rank's details, nothing else
  void* m = MAP_FAILED;
  if (ftruncate(fd, sizeof(RankStatus)) == 0) {
    m = mmap(nullptr, sizeof(RankStatus), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }
  close(fd);
  if (m == MAP_FAILED) return;
  g_status = static_cast<RankStatus*>(m);
  std::memset(g_status, 0, sizeof(RankStatus));
  g_status->rank = g_rank;
  g_status->pid = static_cast<int32_t>(getpid());
  std::snprintf(g_status->host, sizeof(g_status->host), "%s",
                Bootstrap::hostname_of(g_rank).c_str());
  StatusState("running");
  std::memcpy(g_status->magic, kStatusMagic, sizeof(kStatusMagic));
}

void OnExitCode(int code) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "exit %d", code);
  StatusState(code == 0 ? "done" : buf);
}

void OnAbort(int sig) {
  StatusState("aborted");
  signal(sig, SIG_DFL);
  raise(sig);
}

void OnTerm(int sig) {
  StatusState("terminated");
  // Async-signal-safe: write() of preformatted buffers only.
  const char* a = "tpbench: error: ";
  (void)!write(2, a, std::strlen(a));
  (void)!write(2, g_prefix, std::strlen(g_prefix));
  if (g_inflight_set) {
    const char* b = "terminated by the launcher (a peer rank died or timed out) during ";
    (void)!write(2, b, std::strlen(b));
    (void)!write(2, g_inflight, std::strlen(g_inflight));
  } else if (g_status && g_status->op_seq > 0 && g_status->op_kind >= 0 &&
             g_status->op_kind < kNumOpKinds) {
    // No slow wait was noted: name the last op started (a constant string and the status
    // file's bytes: still async-signal-safe).
    const char* b = "terminated by the launcher (a peer rank died or timed out) in or after ";
    (void)!write(2, b, std::strlen(b));
    const char* k = OpKindName(static_cast<OpKind>(g_status->op_kind));
    (void)!write(2, k, std::strlen(k));
    if (g_status->op_algo[0]) {
      (void)!write(2, "/", 1);
      (void)!write(2, g_status->op_algo, strnlen(g_status->op_algo, sizeof(g_status->op_algo)));
    }
  } else {
    const char* b = "terminated by the launcher (a peer rank died or timed out) between ops";
    (void)!write(2, b, std::strlen(b));
  }
  (void)!write(2, "\n", 1);
  _exit(static_cast<int>(ExitCode::kTimeout));
}

const char* EnvAny(std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (const char* v = std::getenv(n)) return v;
  }
  return nullptr;
}

bool UnderLauncher() {
  return EnvAny({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_PROCID",
                 "MPI_LOCALNRANKS"}) != nullptr;
}

// The launch flags: --np N, and for a launch across hosts --hosts H1,H2,...|cluster and
// --ranks-per-node R ("cluster": $TPBENCH_HOSTS, written by tools/cluster/up).
struct Launch {
  int np = -1;
  std::vector<std::string> hosts;
  int ranks_per_node = 0;
};

long ParseCount(const std::string& v, const std::string& flag, long hi) {
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end || n < 1 || n > hi) {
    throw UsageError(flag + ": '" + v + "' is not a number of ranks (1.." + std::to_string(hi) +
                     ")");
  }
  return n;
}

std::vector<std::string> ParseHosts(const std::string& v) {
  std::string list = v;
  if (v == "cluster") {
    const char* env = std::getenv("TPBENCH_HOSTS");
    if (!env || !*env) {
      throw UsageError(
          "--hosts cluster: TPBENCH_HOSTS is not set (tools/cluster/up writes it: "
          "source /run/tpbench-cluster-tpb/env)");
    }
    list = env;
  }
  std::vector<std::string> hosts;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    if (comma == start) throw UsageError("--hosts: empty host name in '" + v + "'");
    hosts.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return hosts;
}

Launch ParseLaunch(int argc, char** argv, std::vector<char*>* rest) {
  Launch l;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    std::string flag = a, v;
    const size_t eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      flag = a.substr(0, eq);
      v = a.substr(eq + 1);
    }
    if (a == "-v" || a == "--verbose") g_verbose_flag = true;
    if (flag == "--fault-mode") {  // kept in argv: the program's parser accepts it
      if (rest) rest->push_back(argv[i]);
      if (eq == std::string::npos) {
        if (i + 1 >= argc) throw UsageError("--fault-mode needs a value: fast or detect");
        v = argv[++i];
        if (rest) rest->push_back(argv[i]);
      }
      if (v != "fast" && v != "detect") {
        throw UsageError("--fault-mode: '" + v + "' is not a fault mode; valid: fast, detect");
      }
      g_cli_mode = static_cast<int>(v == "detect" ? FaultMode::kDetect : FaultMode::kFast);
      continue;
    }
    if (flag != "--np" && flag != "-np" && flag != "--hosts" && flag != "--ranks-per-node") {
      if (rest) rest->push_back(argv[i]);
      continue;
    }
    if (eq == std::string::npos) {
      if (i + 1 >= argc) throw UsageError(flag + " needs a value");
      v = argv[++i];
    }
    if (flag == "--hosts") {
      l.hosts = ParseHosts(v);
    } else if (flag == "--ranks-per-node") {
      l.ranks_per_node = static_cast<int>(ParseCount(v, flag, 4096));
    } else {
      l.np = static_cast<int>(ParseCount(v, "--np", 4096));
    }
  }
  if ((!l.hosts.empty() || l.ranks_per_node) && l.np < 0) {
    throw UsageError("--hosts and --ranks-per-node place the ranks of --np N; give --np");
  }
  if (l.ranks_per_node && l.hosts.empty()) {
    throw UsageError("--ranks-per-node needs --hosts (one host runs all --np ranks)");
  }
  return l;
}

int ParseNp(int argc, char** argv, std::vector<char*>* rest) {
  return ParseLaunch(argc, argv, rest).np;
}

// mpirun's placement flags for --hosts: slots per host, the rsh agent and the networks of an
// emulated cluster (tools/cluster/up's environment), so UCX and Open MPI use the nodes' links.
void AddHostArgs(const Launch& l, std::vector<std::string>* args) {
  const int hosts = static_cast<int>(l.hosts.size());
  const int per = l.ranks_per_node ? l.ranks_per_node : (l.np + hosts - 1) / hosts;
  if (per * hosts < l.np) {
    throw UsageError("--np " + std::to_string(l.np) + " does not fit on " + std::to_string(hosts) +
                     " hosts x --ranks-per-node " + std::to_string(per));
  }
  std::string list;
  for (const std::string& h : l.hosts)
    list += (list.empty() ? "" : ",") + h + ":" + std::to_string(per);
  args->insert(args->end(), {"--host", list});
  if (const char* agent = std::getenv("TPBENCH_RSH_AGENT")) {
    args->insert(args->end(), {"--mca", "plm_rsh_agent", agent});
  }
  if (const char* net = std::getenv("TPBENCH_NET")) {
    args->insert(args->end(),
                 {"--mca", "oob_tcp_if_include", net, "--mca", "btl_tcp_if_include", net});
  }
  args->insert(args->end(), {"-x", "UCX_LOG_FILE"});  // set by RunJob; local ranks inherit it
  if (const char* dev = std::getenv("TPBENCH_UCX_NET_DEVICES")) {
    args->insert(args->end(), {"-x", std::string("UCX_NET_DEVICES=") + dev});
  }
}

// Every rank's hostname; ranks that share one share a node.
void GatherNodes() {
  constexpr int kLen = 256;
  char mine[kLen] = {};
  if (gethostname(mine, kLen - 1) != 0) std::snprintf(mine, kLen, "unknown");
  std::vector<char> all(static_cast<size_t>(kLen) * g_size);
  MPI_Allgather(mine, kLen, MPI_CHAR, all.data(), kLen, MPI_CHAR, MPI_COMM_WORLD);
  g_hostnames.clear();
  g_node_of.assign(static_cast<size_t>(g_size), 0);
  std::vector<std::string> nodes;
  for (int r = 0; r < g_size; ++r) {
    g_hostnames.emplace_back(&all[static_cast<size_t>(r) * kLen]);
    auto it = std::find(nodes.begin(), nodes.end(), g_hostnames.back());
    g_node_of[r] = static_cast<int>(it - nodes.begin());
    if (it == nodes.end()) nodes.push_back(g_hostnames.back());
  }
  g_num_nodes = static_cast<int>(nodes.size());
}

// ---- The --np launcher: runs mpirun, filters its stderr, names the rank that died. ----

struct JobOutcome {
  // From mpirun's notices: the first rank that died on a signal or exited non-zero.
  int rank = -1, signal = 0, exit_code = -1;
  std::string node, signal_name;
};

int AfterNumber(const std::string& line, const std::string& key) {
  const size_t at = line.find(key);
  if (at == std::string::npos) return -1;
  return std::atoi(line.c_str() + at + key.size());
}

// Learns from mpirun's notices, e.g. "mpirun noticed that process rank 1 with PID 0 on node
// vm exited on signal 9 (Killed)." and "Process name: [[123,1],1]" + "Exit code: 1".
void ParseNotice(const std::string& line, JobOutcome* o) {
  if (o->rank < 0 && line.find("exited on signal") != std::string::npos) {
    o->rank = AfterNumber(line, "process rank ");
    o->signal = AfterNumber(line, "exited on signal ");
    const size_t n = line.find(" on node ");
    if (n != std::string::npos) {
      const size_t b = n + 9;
      o->node = line.substr(b, line.find(' ', b) - b);
    }
    const size_t p = line.find('(', line.find("exited on signal"));
    if (p != std::string::npos) o->signal_name = line.substr(p + 1, line.find(')', p) - p - 1);
  }
  if (line.find("Process name: [[") != std::string::npos && o->exit_code < 0) {
    const size_t b = line.find("],");
    if (b != std::string::npos) o->rank = std::atoi(line.c_str() + b + 2);
  }
  if (line.find("Exit code:") != std::string::npos && o->exit_code < 0 && o->signal == 0) {
    o->exit_code = AfterNumber(line, "Exit code:");
  }
}

// Lines of UCX's and Open MPI's own failure output, dropped unless VerboseFailures():
// "[host:pid:thread:tid] ..." and "[host:pid] ..." log lines, backtrace frames, and the
// dashed notice blocks of mpirun.
std::string g_program;  // basename of this binary: the prefix of its own messages

bool IsLibraryNoise(const std::string& l, bool* in_block) {
  // Ours, even inside a notice that the ranks' output interleaved with: tpbench's errors, the
  // program's "name: ..." lines and "# ..." summaries.
  if (l.rfind("tpbench", 0) == 0 || l.rfind("#", 0) == 0 ||
      (!g_program.empty() && l.rfind(g_program + ":", 0) == 0)) {
    return false;
  }
  if (l.size() >= 20 && l.find_first_not_of('-') == std::string::npos) {
    *in_block = !*in_block;
    return true;
  }
  if (*in_block) return true;
  if (l.rfind("mpirun noticed", 0) == 0 || l.rfind("==== backtrace", 0) == 0 ||
      l.rfind("=======", 0) == 0) {
    return true;
  }
  if (!l.empty() && l[0] == '[') {
    const size_t close = l.find(']');
    // "[vm:1234:0:1234]" or "[vm:01234]": no blank inside, a colon (not "[3/10] name").
    if (close != std::string::npos && l.find(':') < close && l.find(' ') > close) return true;
    // UCX 1.13: "[1796114412.924454] [vm:21456:0]  mpool.c:53  UCX  WARN ...".
    if (close != std::string::npos && close > 1 && l.find_first_not_of("0123456789.", 1) == close &&
        l.compare(close + 1, 2, " [") == 0) {
      return true;
    }
  }
  // A backtrace frame: " 12  /usr/lib/libucs.so.0(ucs_handle_error+0x2dc) [0x7f...]".
  size_t i = l.find_first_not_of(' ');
  if (i != std::string::npos && std::isdigit(static_cast<unsigned char>(l[i])) &&
      l.find(" [0x") != std::string::npos) {
    return true;
  }
  return false;
}

pid_t g_child = -1;
void ForwardSignal(int sig) {
  if (g_child > 0) kill(g_child, sig);
}

struct StatusRead {
  bool present = false;
  RankStatus s;
};

std::vector<StatusRead> ReadStatuses(const std::string& dir, int np) {
  std::vector<StatusRead> out(static_cast<size_t>(np));
  for (int r = 0; r < np; ++r) {
    const std::string path = dir + "/rank." + std::to_string(r);
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) continue;
    if (std::fread(&out[r].s, sizeof(RankStatus), 1, f) == 1 &&
        !std::memcmp(out[r].s.magic, kStatusMagic, sizeof(kStatusMagic))) {
      out[r].s.host[sizeof(out[r].s.host) - 1] = 0;
      out[r].s.state[sizeof(out[r].s.state) - 1] = 0;
      out[r].s.inflight[sizeof(out[r].s.inflight) - 1] = 0;
      out[r].present = true;
    }
    std::fclose(f);
    std::remove(path.c_str());
  }
  rmdir(dir.c_str());
  return out;
}

// A rank's op for the report: the in-flight note (a slow wait) or else the last op started.
std::string OpOf(const RankStatus& s) {
  if (s.inflight_set) {
    const std::string op = s.inflight;
    return op.substr(0, std::min(op.find("; waiting for"), op.find(" on group '")));
  }
  if (s.op_seq == 0) return "";
  const std::string algo(s.op_algo, strnlen(s.op_algo, sizeof(s.op_algo)));
  const int k = s.op_kind, d = s.op_dtype;
  std::string op = k >= 0 && k < kNumOpKinds ? OpKindName(static_cast<OpKind>(k)) : "op";
  if (!algo.empty()) op += "/" + algo;
  op += " of " + std::to_string(s.op_count) + " x " +
        (d >= 0 && d < kNumDataTypes ? DataTypeName(static_cast<DataType>(d)) : "?");
  return op;
}

std::string StateOf(const std::vector<StatusRead>& st, int r) {
  return st[r].present ? std::string(st[r].s.state) : std::string();
}

// The dead rank: one that never left through tpbench ("running"), the one mpirun noticed
// first if it is such a rank; else one that aborted (fast mode: a survivor may abort inside
// UCX's CMA transport while reading from the dead rank, and mpirun may notice it first); else
// one that died before its status file existed. -1: none (the job's own code stands).
int FindDeadRank(int rc, const JobOutcome& o, const std::vector<StatusRead>& st, int np) {
  int dead = -1;
  for (const char* want : {"running", "aborted"}) {
    if (dead >= 0) break;
    if (o.rank >= 0 && o.rank < np && StateOf(st, o.rank) == want) dead = o.rank;
    for (int r = 0; r < np && dead < 0; ++r) {
      if (StateOf(st, r) == want) dead = r;
    }
  }
  if (dead < 0 && o.rank < 0 && rc > 128) {
    for (int r = 0; r < np && dead < 0; ++r) {
      if (!st[r].present) dead = r;
    }
  }
  return dead;
}

// "2 of 4 (host vm, pid 123) killed by signal 9 (Killed) in all_reduce/auto of ..."
std::string DescribeDead(int dead, const JobOutcome& o, const std::vector<StatusRead>& st, int np) {
  const std::string host =
      st[dead].present ? st[dead].s.host : (dead == o.rank ? o.node : std::string());
  std::string who = std::to_string(dead) + " of " + std::to_string(np), where;
  if (!host.empty()) where += "host " + host;
  if (st[dead].present) {
    where += (where.empty() ? "" : ", ") + std::string("pid ") + std::to_string(st[dead].s.pid);
  }
  if (!where.empty()) who += " (" + where + ")";
  std::string how;
  if (dead == o.rank && o.signal > 0) {
    how = "killed by signal " + std::to_string(o.signal) +
          (o.signal_name.empty() ? "" : " (" + o.signal_name + ")");
  } else if (dead == o.rank && o.exit_code >= 0) {
    how = "exited with code " + std::to_string(o.exit_code) + " outside tpbench's error path";
  } else if (StateOf(st, dead) == "aborted") {
    how = "aborted inside a library";
  } else {
    how = "died (a signal, or an exit outside tpbench's error path)";
  }
  if (st[dead].present) {
    const std::string op = OpOf(st[dead].s);
    if (!op.empty()) how += " in " + op;
  }
  return who + " " + how;
}

// What the others were doing: the distinct ops in flight, and whether they saw the loss.
std::string DescribeOthers(int dead, const std::vector<StatusRead>& st, int np) {
  std::set<std::string> ops;
  int lost_seen = 0, others = 0, aborted = 0;
  for (int r = 0; r < np; ++r) {
    if (r == dead || !st[r].present) continue;
    ++others;
    if (StateOf(st, r) == "aborted") ++aborted;
    if (std::strncmp(st[r].s.state, "lost peer", 9) == 0) ++lost_seen;
    const std::string op = OpOf(st[r].s);
    if (!op.empty()) ops.insert(op);
  }
  std::string rest = ops.empty() ? "the others were between ops" : "the others were in ";
  int k = 0;
  for (const std::string& op : ops) {
    if (k++ == 3) {
      rest += ", ...";
      break;
    }
    rest += (k > 1 ? ", " : "") + op;
  }
  const std::string of = " of " + std::to_string(others);
  if (aborted)
    rest += "; " + std::to_string(aborted) + of + " aborted inside the transport afterwards";
  if (lost_seen)
    rest += "; " + std::to_string(lost_seen) + of + " detected the lost peer themselves";
  return rest;
}

// The launcher's verdict on a failed job: one line on stderr and the exit code. A rank that
// died outside tpbench (a signal, an abort, an exit without tpbench's error path) is a lost
// peer: exit 4. Otherwise the job's own code stands (the failing ranks printed why): also
// when the rank mpirun noticed first left through tpbench's own error path (a failed check, a
// timeout).
int ReportJob(int rc, const JobOutcome& o, const std::vector<StatusRead>& st, int np) {
  if (rc == 0) return 0;
  if (o.rank >= 0 && o.rank < np && st[o.rank].present) {
    const std::string s = StateOf(st, o.rank);
    if (s != "running" && s != "aborted") return rc;
  }
  if (o.rank < 0 && rc < 128) return rc;
  const int dead = FindDeadRank(rc, o, st, np);
  if (dead < 0) return rc == 137 ? static_cast<int>(ExitCode::kTimeout) : rc;
  std::fprintf(stderr, "tpbench: error: lost rank %s; %s [fault mode %s] (exit 4%s)\n",
               DescribeDead(dead, o, st, np).c_str(), DescribeOthers(dead, st, np).c_str(),
               FaultModeName(CurrentFaultMode()),
               VerboseFailures() ? "" : "; -v shows the libraries' own output");
  std::fflush(stderr);
  return static_cast<int>(ExitCode::kTimeout);
}

// The run folder for the ranks' status files ("" if it cannot be made), in TPBENCH_RUN_DIR.
std::string MakeRunDir() {
  const std::string tmp = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  const std::string dir_t = tmp + "/tpbench-run-XXXXXX";
  std::vector<char> dir_buf(dir_t.begin(), dir_t.end());
  dir_buf.push_back(0);
  if (!mkdtemp(dir_buf.data())) return "";
  setenv("TPBENCH_RUN_DIR", dir_buf.data(), 1);
  return dir_buf.data();
}

// Starts mpirun with its stderr into a pipe; returns its pid, *err_fd the pipe's read end.
pid_t SpawnMpirun(std::vector<char*>& cargs, int* err_fd) {
  std::fflush(stdout);
  std::fflush(stderr);
  int fds[2];
  if (pipe(fds) != 0) throw BackendError("pipe failed while relaunching under mpirun");
  pid_t pid = fork();
  if (pid < 0) throw BackendError("fork failed while relaunching under mpirun");
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 2);
    close(fds[1]);
    execvp("mpirun", cargs.data());
    std::fprintf(stderr,
                 "tpbench: error: cannot run mpirun (%s); install openmpi-bin "
                 "(tools/setup.sh) or start the program under your launcher\n",
                 std::strerror(errno));
    _exit(static_cast<int>(ExitCode::kBackend));
  }
  close(fds[1]);
  *err_fd = fds[0];
  return pid;
}

// Forwards mpirun's stderr line by line, dropping the libraries' failure output unless
// verbose; notes what mpirun says about a rank that died.
JobOutcome ForwardStderr(int fd, bool verbose) {
  JobOutcome outcome;
  bool in_block = false;
  std::string line;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      line.push_back(buf[i]);
      if (buf[i] != '\n') continue;
      const std::string l = line.substr(0, line.size() - 1);
      ParseNotice(l, &outcome);
      if (verbose || !IsLibraryNoise(l, &in_block)) (void)!write(2, line.data(), line.size());
      line.clear();
    }
  }
  if (!line.empty()) (void)!write(2, line.data(), line.size());
  close(fd);
  return outcome;
}

int RunJob(std::vector<char*>& cargs, int np) {
  const bool verbose = VerboseFailures();
  const std::string dir = MakeRunDir();
  if (!verbose && !std::getenv("UCX_HANDLE_ERRORS")) setenv("UCX_HANDLE_ERRORS", "", 1);
  // UCX logs to stdout by default, into the results table; on stderr its lines are filtered
  // with the libraries' other output (unless -v).
  if (!std::getenv("UCX_LOG_FILE")) setenv("UCX_LOG_FILE", "stderr", 1);
  int err_fd = -1;
  const pid_t pid = SpawnMpirun(cargs, &err_fd);
  g_child = pid;
  struct sigaction sa, old_int, old_term;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = ForwardSignal;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  const JobOutcome outcome = ForwardStderr(err_fd, verbose);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  g_child = -1;
  const int rc =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  std::vector<StatusRead> st =
      dir.empty() ? std::vector<StatusRead>(static_cast<size_t>(np)) : ReadStatuses(dir, np);
  return ReportJob(rc, outcome, st, np);
}

}  // namespace

std::vector<char*> ArgsWithoutNp(int argc, char** argv) {
  std::vector<char*> rest;
  ParseNp(argc, argv, &rest);
  return rest;
}

void SetInFlight(const std::string& what) {
  g_inflight_set = 0;
  std::snprintf(g_inflight, sizeof(g_inflight), "%s", what.c_str());
  g_inflight_set = 1;
  if (g_status) {
    g_status->inflight_set = 0;
    std::memcpy(g_status->inflight, g_inflight, sizeof(g_inflight));
    g_status->inflight_set = 1;
  }
}

void ClearInFlight() {
  g_inflight_set = 0;
  if (g_status) g_status->inflight_set = 0;
}

const char* FaultModeName(FaultMode m) { return m == FaultMode::kDetect ? "detect" : "fast"; }

void SetDefaultFaultMode(FaultMode m) { g_default_mode = m; }

FaultMode CurrentFaultMode() {
  if (g_cli_mode >= 0) return static_cast<FaultMode>(g_cli_mode);
  if (const char* e = std::getenv("TPBENCH_FAULT_MODE")) {
    if (!std::strcmp(e, "detect")) return FaultMode::kDetect;
    if (!std::strcmp(e, "fast")) return FaultMode::kFast;
  }
  return g_default_mode;
}

bool VerboseFailures() {
  if (g_verbose_flag) return true;
  const char* v = std::getenv("TPBENCH_VERBOSE");
  return v && std::atoi(v) != 0;
}

void NoteOpStart(int kind, int dtype, size_t count, const std::string& algo) {
  RankStatus* st = g_status;
  if (!st) return;
  st->op_kind = kind;
  st->op_dtype = dtype;
  st->op_count = static_cast<int64_t>(count);
  const size_t n = std::min(algo.size(), sizeof(st->op_algo) - 1);
  std::memcpy(st->op_algo, algo.data(), n);
  st->op_algo[n] = 0;
  ++st->op_seq;
}

void NoteLostPeer(int world_rank) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "lost peer %d", world_rank);
  StatusState(buf);
}

int MaybeRelaunch(int argc, char** argv) {
  std::vector<char*> rest;
  const Launch launch = ParseLaunch(argc, argv, &rest);
  const int np = launch.np;
  if (np < 0) return -1;
  if (UnderLauncher()) {
    if (!launch.hosts.empty()) {
      throw UsageError(
          "--hosts is for --np's own launch; under mpirun or srun the launcher "
          "places the ranks");
    }
    g_requested_np = np;
    return -1;
  }
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  if (cores < 1) cores = 1;
  std::vector<std::string> args = {"mpirun"};
  if (geteuid() == 0) args.push_back("--allow-run-as-root");
  args.push_back("--oversubscribe");
  if (np > cores) args.insert(args.end(), {"--bind-to", "none"});
  args.insert(args.end(), {"-np", std::to_string(np)});
  if (!launch.hosts.empty()) AddHostArgs(launch, &args);
  // Re-run this very binary (argv[0] may be a bazel wrapper path; /proc/self/exe is exact).
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) throw BackendError("cannot resolve /proc/self/exe to relaunch under mpirun");
  self[n] = 0;
  args.push_back(self);
  g_program = self;
  g_program = g_program.substr(g_program.rfind('/') + 1);
  for (size_t i = 1; i < rest.size(); ++i) args.push_back(rest[i]);
  std::vector<char*> cargs;
  for (auto& s : args) cargs.push_back(const_cast<char*>(s.c_str()));
  cargs.push_back(nullptr);
  return RunJob(cargs, np);
}

void Bootstrap::Init(int* argc, char*** argv) {
  if (g_initialized) return;
  if (g_requested_np < 0 && argc && argv) g_requested_np = ParseNp(*argc, *argv, nullptr);
  int provided = 0;
  MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided));
  g_initialized = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  SetProcessRank(g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &local);
  MPI_Comm_size(local, &g_local_size);
  MPI_Comm_free(&local);
  GatherNodes();
  std::snprintf(g_prefix, sizeof(g_prefix), "rank %d: ", g_rank);
  OpenStatusFile();
  SetExitObserver(OnExitCode);
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnTerm;
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = OnAbort;
  sigaction(SIGABRT, &sa, nullptr);
  if (g_requested_np > 0 && g_requested_np != g_size) {
    throw UsageError("--np " + std::to_string(g_requested_np) + " does not match the job size " +
                     std::to_string(g_size) + " given by the launcher");
  }
}

void Bootstrap::Finalize() {
  if (!g_initialized) return;
  int fin = 0;
  MPI_Finalized(&fin);
  if (!fin) MPI_Finalize();
  g_initialized = false;
}

bool Bootstrap::initialized() { return g_initialized; }
int Bootstrap::rank() { return g_rank; }
int Bootstrap::size() { return g_size; }
int Bootstrap::local_size() { return g_local_size; }
int Bootstrap::num_nodes() { return g_num_nodes; }
int Bootstrap::node_of(int world_rank) {
  return g_node_of.empty() ? 0 : g_node_of.at(static_cast<size_t>(world_rank));
}
const std::string& Bootstrap::hostname_of(int world_rank) {
  static const std::string unknown = "unknown";
  return g_hostnames.empty() ? unknown : g_hostnames.at(static_cast<size_t>(world_rank));
}

bool Bootstrap::oversubscribed() {
  if (const char* f = std::getenv("TPBENCH_BLOCKING_PROGRESS")) return std::atoi(f) != 0;
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  return g_local_size > (cores < 1 ? 1 : cores);
}

void Bootstrap::AllGather(const void* in, size_t bytes, void* out) {
  MPI_CHECK(MPI_Allgather(in, static_cast<int>(bytes), MPI_BYTE, out, static_cast<int>(bytes),
                          MPI_BYTE, MPI_COMM_WORLD));
}

namespace {

// Never destroyed: a communicator destroyed during exit (after this file's statics) still
// removes its hook safely.
std::map<int, std::function<void()>>& Hooks() {
  static auto* hooks = new std::map<int, std::function<void()>>();
  return *hooks;
}

// Completes a non-blocking MPI request while running the progress hooks; yields the core
// when ranks outnumber cores.
void WaitProgressing(MPI_Request* req) {
  const bool yield = Bootstrap::oversubscribed();
  for (;;) {
    int done = 0;
    MPI_Test(req, &done, MPI_STATUS_IGNORE);
    if (done) return;
    for (auto& [id, hook] : Hooks()) hook();
    if (yield) sched_yield();
  }
}

}  // namespace

int Bootstrap::AddProgressHook(std::function<void()> hook) {
  static int next = 0;
  Hooks()[++next] = std::move(hook);
  return next;
}

void Bootstrap::RemoveProgressHook(int id) { Hooks().erase(id); }

void Bootstrap::Barrier() {
  MPI_Request req;
  MPI_Ibarrier(MPI_COMM_WORLD, &req);
  WaitProgressing(&req);
}

void Bootstrap::IdleBarrier() {
  MPI_Request req;
  MPI_Ibarrier(MPI_COMM_WORLD, &req);
  for (int done = 0;;) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) return;
    usleep(1000);
  }
}

double Bootstrap::MaxOverRanks(double v) {
  double out = v;
  MPI_Request req;
  MPI_Iallreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD, &req);
  WaitProgressing(&req);
  return out;
}

int64_t Bootstrap::SumOverRanks(int64_t v) {
  int64_t out = v;
  MPI_Request req;
  MPI_Iallreduce(&v, &out, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD, &req);
  WaitProgressing(&req);
  return out;
}

void Bootstrap::Broadcast(void* buf, size_t bytes, int root) {
  MPI_Request req;
  MPI_Ibcast(buf, static_cast<int>(bytes), MPI_BYTE, root, MPI_COMM_WORLD, &req);
  WaitProgressing(&req);
}

void Bootstrap::Abort(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (g_initialized) MPI_Abort(MPI_COMM_WORLD, code);
  _exit(code);
}

}  // namespace tpbench
