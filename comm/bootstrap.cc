#include "comm/bootstrap.h"

#include <mpi.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "comm/error.h"
#include "comm/mpi/mpi_check.h"

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

void OnTerm(int sig) {
  // Async-signal-safe: write() of preformatted buffers only.
  const char* a = "tpbench: error: ";
  (void)!write(2, a, std::strlen(a));
  (void)!write(2, g_prefix, std::strlen(g_prefix));
  if (g_inflight_set) {
    const char* b = "terminated by the launcher (a peer rank died or timed out) during ";
    (void)!write(2, b, std::strlen(b));
    (void)!write(2, g_inflight, std::strlen(g_inflight));
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
}

void ClearInFlight() { g_inflight_set = 0; }

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
  for (size_t i = 1; i < rest.size(); ++i) args.push_back(rest[i]);
  std::vector<char*> cargs;
  for (auto& s : args) cargs.push_back(const_cast<char*>(s.c_str()));
  cargs.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) throw BackendError("fork failed while relaunching under mpirun");
  if (pid == 0) {
    execvp("mpirun", cargs.data());
    std::fprintf(stderr,
                 "tpbench: error: cannot run mpirun (%s); install openmpi-bin "
                 "(tools/setup.sh) or start the program under your launcher\n",
                 std::strerror(errno));
    _exit(static_cast<int>(ExitCode::kBackend));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
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
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnTerm;
  sigaction(SIGTERM, &sa, nullptr);
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

std::map<int, std::function<void()>>& Hooks() {
  static std::map<int, std::function<void()>> hooks;
  return hooks;
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
