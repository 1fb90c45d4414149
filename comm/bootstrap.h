// comm/bootstrap.h: process start-up. MPI does the out-of-band exchange (UCX worker
// addresses, NCCL unique ids); the launcher is mpirun, srun, or the program itself (--np N).
//
//   int main(int argc, char** argv) {
//     if (int rc = MaybeRelaunch(argc, argv); rc >= 0) return rc;  // --np N: ran under mpirun
//     Bootstrap::Init(&argc, &argv);
//     ...
//     Bootstrap::Finalize();
//   }
#ifndef TPBENCH_COMM_BOOTSTRAP_H_
#define TPBENCH_COMM_BOOTSTRAP_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tpbench {

// How the transports treat a lost peer (--fault-mode, recorded as the results context's
// fault_mode). fast: the transports' fastest settings, no peer-failure support (UCX uses CMA
// for large messages; a survivor may abort inside UCX or hang until the launcher ends it: the
// --np launcher reports the dead rank from the job's outcome). detect: UCX endpoints in
// peer-failure mode (UCP_ERR_HANDLING_MODE_PEER, UCX_MM_ERROR_HANDLING=y, a 200 ms keepalive):
// survivors report the lost peer themselves within ~0.2 s, at a cost in large-message
// bandwidth (no CMA; docs/runtime.md). The mpi backend is the same in both modes.
enum class FaultMode { kFast, kDetect };
const char* FaultModeName(FaultMode m);
// The mode of this process: --fault-mode fast|detect on the command line (parsed by
// MaybeRelaunch and Bootstrap::Init, kept in argv for the program's own parser to accept),
// else $TPBENCH_FAULT_MODE, else the program's default (fast unless set here before
// MaybeRelaunch: //bench:accept and //bench:soak default to detect).
void SetDefaultFaultMode(FaultMode m);
FaultMode CurrentFaultMode();
// True when -v / --verbose is on the command line or $TPBENCH_VERBOSE=1: the launcher then
// passes UCX's and Open MPI's own failure output (backtraces) through unfiltered.
bool VerboseFailures();

class Bootstrap {
 public:
  // MPI_Init_thread (serialized); idempotent. Installs the SIGTERM handler that reports the
  // op in flight when the launcher tears the job down (a peer died).
  static void Init(int* argc, char*** argv);
  static void Finalize();
  static bool initialized();
  static int rank();
  static int size();
  // Ranks of this job on this host, and whether they outnumber its hardware threads (then
  // every wait must block or yield instead of spinning).
  static int local_size();
  static bool oversubscribed();
  // The nodes of the job: ranks with the same hostname share a node, numbered in the order of
  // their lowest rank (gathered once in Init).
  static int num_nodes();
  static int node_of(int world_rank);
  static const std::string& hostname_of(int world_rank);
  // Every rank contributes `bytes` bytes; out receives size()*bytes, ordered by rank.
  static void AllGather(const void* in, size_t bytes, void* out);
  static void Barrier();
  // A barrier that waits asleep (1 ms between checks, no progress hooks): for ranks that must
  // leave the cores to one rank measuring alone (per-rank compute in //bench:accept).
  static void IdleBarrier();
  // Small world-wide agreements used by benchmarks outside the timed region. They wait with
  // non-blocking MPI and run the progress hooks meanwhile (see AddProgressHook).

  static double MaxOverRanks(double v);
  static int64_t SumOverRanks(int64_t v);
  static void Broadcast(void* buf, size_t bytes, int root);
  // Hooks run while the agreements above wait. A backend whose peers may need this rank to
  // keep driving its transport (UCX rendezvous acknowledgements still queued after an op)
  // registers one, so a rank waiting here never starves a peer still inside an op.
  static int AddProgressHook(std::function<void()> hook);
  static void RemoveProgressHook(int id);
  // Ends the job from any rank with an exit code (used after a fatal error on one rank).
  [[noreturn]] static void Abort(int code);
};

// If argv holds "--np N" (or "--np=N") and the process was not started by a launcher, runs
// mpirun with the flags this machine needs (--allow-run-as-root as root, --oversubscribe,
// --bind-to none when ranks outnumber cores) over this same program without --np, waits and
// returns the job's exit code. The ranks keep a status file each (rank, host, pid, state, the
// op in flight) in a run folder under $TMPDIR; when the job fails the launcher prints one line
// naming the rank that died (host, pid, signal or exit code, its op) and the op the others
// were in, and returns 4 for a lost peer (mpirun itself returns 137 when a rank was killed).
// Unless VerboseFailures(), mpirun's stderr is filtered: UCX backtraces and Open MPI's
// tear-down notices are dropped (tpbench's own lines and the ranks' other output stay). Returns -1
// when there is nothing to do (no --np, or already launched; then --np must equal the job size or
// it is a usage error, checked in Init). Across hosts: --hosts H1,H2,... (or "cluster":
// $TPBENCH_HOSTS of tools/cluster/up) and
// --ranks-per-node R (default: --np spread evenly) become mpirun's --host H1:R,...; the
// environment of tools/cluster/up adds its rsh agent (TPBENCH_RSH_AGENT) and pins Open MPI
// and UCX to the nodes' links (TPBENCH_NET, TPBENCH_UCX_NET_DEVICES).
int MaybeRelaunch(int argc, char** argv);

// argv without the launcher's flags (--np, --hosts, --ranks-per-node), for programs that parse
// the rest.
std::vector<char*> ArgsWithoutNp(int argc, char** argv);

// The in-flight op, reported by the SIGTERM handler: "<op>; waiting for <peers>". Kept in a
// fixed buffer so the handler stays async-signal-safe. Backends update it as they wait.
void SetInFlight(const std::string& what);
void ClearInFlight();
// Records the op this rank starts (OpKind, DataType as ints) in its status file, for the
// launcher's report of a lost rank; a few stores, no formatting (called for every op).
void NoteOpStart(int kind, int dtype, size_t count, const std::string& algo);
// Records in this rank's status file that a transport lost `world_rank` (detect mode).
void NoteLostPeer(int world_rank);

}  // namespace tpbench

#endif  // TPBENCH_COMM_BOOTSTRAP_H_
