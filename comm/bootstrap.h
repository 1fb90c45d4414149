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
// returns mpirun's exit code. Returns -1 when there is nothing to do (no --np, or already
// launched; then --np must equal the job size or it is a usage error, checked in Init).
// Across hosts: --hosts H1,H2,... (or "cluster": $TPBENCH_HOSTS of tools/cluster/up) and
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

}  // namespace tpbench

#endif  // TPBENCH_COMM_BOOTSTRAP_H_
