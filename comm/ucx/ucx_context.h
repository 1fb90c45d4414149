// comm/ucx/ucx_context.h: the per-process UCX state shared by the world communicator and
// every communicator split from it: one ucp context, one worker, an endpoint to every world
// rank, and the wait loop (spinning or blocking on the worker's event fd).
//
//   std::shared_ptr<UcxContext> ctx = UcxContext::Create();   // collective: after Bootstrap::Init
//   ucp_tag_send_nbx(ctx->ep(world_peer), buf, bytes, &param);
//   bool done = ctx->WaitUntil([&] { return finished(); }, deadline, on_slow);
//
// Not thread-safe: the worker is UCS_THREAD_MODE_SERIALIZED; the communicators' shared
// Executor serializes every op of this process (on the caller's or the progress thread).
#ifndef TPBENCH_COMM_UCX_UCX_CONTEXT_H_
#define TPBENCH_COMM_UCX_UCX_CONTEXT_H_

#include <poll.h>
#include <sched.h>
#include <ucp/api/ucp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "comm/error.h"
#include "comm/work.h"

// Status checks of UCX calls: BackendError with the call, file:line and the rank.
//   UCX_CHECK(ucp_worker_create(context_, &wp, &worker_));
//   UCX_CHECK_STATUS(s, "ucp_init");   // a status kept from an earlier call
#define UCX_CHECK_STATUS(status, what)                                                \
  do {                                                                                \
    const ucs_status_t ucx_check_s_ = (status);                                       \
    if (ucx_check_s_ != UCS_OK) {                                                     \
      ::tpbench::BackendCallFailed(__FILE__, __LINE__, std::string("ucx: ") + (what), \
                                   ucs_status_string(ucx_check_s_));                  \
    }                                                                                 \
  } while (0)
#define UCX_CHECK(call) UCX_CHECK_STATUS((call), #call)

namespace tpbench {

class UcxContext {
 public:
  // Collective over the bootstrap world: creates the worker, exchanges worker addresses and
  // connects an endpoint to every world rank.
  static std::shared_ptr<UcxContext> Create();
  ~UcxContext();
  UcxContext(const UcxContext&) = delete;
  UcxContext& operator=(const UcxContext&) = delete;

  ucp_worker_h worker() const { return worker_; }
  ucp_ep_h ep(int world_rank) const { return eps_[world_rank]; }
  int world_rank() const { return world_rank_; }
  int world_size() const { return world_size_; }
  // True when waits block on the event fd (more ranks on this host than cores).
  bool blocking() const { return blocking_; }

  // Context ids of communicators (see ucx_transport.h): the world is 0; Split agrees on the
  // maximum of next_free_context_id() over the parent and then calls UseContextIdsUpTo.
  uint32_t next_free_context_id() const { return next_free_ctx_; }
  void UseContextIdsUpTo(uint32_t id) { next_free_ctx_ = std::max(next_free_ctx_, id + 1); }

  // Drives the worker until done() is true (returns true) or `deadline` passes (returns
  // false). on_slow() is called once if the wait lasts longer than kSlowWait.
  // Spinning mode: ucp_worker_progress in a loop with a sched_yield every few hundred turns.
  // Blocking mode: progress until idle, ucp_worker_arm, poll() on the event fd (re-progress
  // on UCS_ERR_BUSY), with poll timeouts bounded by the deadline and by kPollCap.
  template <class Done, class Slow>
  bool WaitUntil(Done done, Clock::time_point deadline, Slow on_slow);

  // Progresses the worker until it has nothing to do. Registered as a Bootstrap progress
  // hook: a receive can complete while the rendezvous acknowledgement that lets its sender
  // finish is still queued here; if this rank then waits in MPI (a benchmark agreeing on the
  // slowest rank's time) without driving UCX, the sender waits forever.
  void ProgressIdle();

  static constexpr std::chrono::milliseconds kSlowWait{500};
  // The longest single poll() of the event fd. Every event UCX delivers wakes the poll, so
  // the cap only bounds the cost of a wake-up that UCX fails to signal; a poll that reaches
  // it and is followed by progress is counted as a missed wake-up (NoteMissedWakeup).
  static constexpr std::chrono::milliseconds kPollCap{100};
  // Missed wake-ups so far; after kMissedWakeupsToWarn of them a warning says once that
  // timings include the cap (docs/multinode.md, "Wake-ups across emulated nodes").
  int missed_wakeups() const { return missed_wakeups_; }
  static constexpr int kMissedWakeupsToWarn = 3;

  // After an op failed or timed out, peers may be stuck or gone: close endpoints by force at
  // shutdown instead of flushing them.
  void MarkFailed() { failed_ = true; }

  // Fault mode detect (comm/bootstrap.h): the endpoints are in peer-failure mode and the
  // first endpoint error names the lost world rank (-1: none), with UCX's status. Ranks that
  // never talked to the dead one get a callback for it too, so the first callback's peer is
  // the one blamed. Transports check lost_peer() in their waits and fail the op at once.
  bool detect() const { return detect_; }
  int lost_peer() const { return lost_peer_; }
  ucs_status_t lost_status() const { return lost_status_; }

 private:
  UcxContext() = default;
  void Init();
  void ConfigureEnvironment();  // UCX options: warnings, backtraces, detect mode
  void CreateWorker();          // context, worker and its event fd
  void ConnectAll();            // worker addresses exchanged, endpoints to every rank
  void Shutdown();
  // One blocking step: arm the worker, then poll its fd until `until` (at most kPollCap).
  // True when the poll ran the whole kPollCap without an event.
  bool BlockOnce(Clock::time_point until);
  void NoteMissedWakeup();
  static void OnEndpointError(void* arg, ucp_ep_h ep, ucs_status_t status);

  struct PeerArg {
    UcxContext* ctx;
    int world_rank;
  };
  std::vector<PeerArg> peer_args_;  // the error callbacks' arguments, one per endpoint
  bool detect_ = false;
  bool shutting_down_ = false;
  int lost_peer_ = -1;
  ucs_status_t lost_status_ = UCS_OK;

  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  std::vector<ucp_ep_h> eps_;
  int efd_ = -1;
  int world_rank_ = 0;
  int world_size_ = 1;
  bool blocking_ = false;
  bool failed_ = false;
  int missed_wakeups_ = 0;
  uint32_t next_free_ctx_ = 1;  // 0 is the world
};

template <class Done, class Slow>
bool UcxContext::WaitUntil(Done done, Clock::time_point deadline, Slow on_slow) {
  if (done()) return true;
  // The clock is read only on slow paths (it costs as much as a small message here): the
  // wait's start is taken at its first clock check, which is early enough for kSlowWait.
  Clock::time_point start{};
  bool slow_reported = false;
  // Checks the clock: false once the deadline has passed; reports a slow wait once.
  auto in_time = [&] {
    const Clock::time_point now = Clock::now();
    if (now >= deadline) return false;
    if (start == Clock::time_point{}) start = now;
    if (!slow_reported && now - start > kSlowWait) {
      slow_reported = true;
      on_slow();
    }
    return true;
  };
  bool capped = false;  // the last poll ran into kPollCap with no event signalled
  for (unsigned turn = 1;; ++turn) {
    unsigned progressed = 0;
    while (const unsigned n = ucp_worker_progress(worker_)) progressed += n;
    if (capped && progressed != 0) NoteMissedWakeup();
    if (done()) return true;
    if (blocking_) {
      if (!in_time()) return false;
      capped = BlockOnce(deadline);
    } else if ((turn & 255) == 0) {
      sched_yield();
      if (!in_time()) return false;
    }
  }
}

}  // namespace tpbench

#endif  // TPBENCH_COMM_UCX_UCX_CONTEXT_H_
