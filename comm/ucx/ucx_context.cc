#include "comm/ucx/ucx_context.h"

#include <ucs/config/global_opts.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "comm/bootstrap.h"

namespace tpbench {
namespace {

// Closing endpoints and draining the worker at exit must never hang (a peer may be gone).
constexpr std::chrono::seconds kShutdownWait{2};

}  // namespace

constexpr std::chrono::milliseconds UcxContext::kSlowWait;
constexpr std::chrono::milliseconds UcxContext::kPollCap;
constexpr int UcxContext::kMissedWakeupsToWarn;

std::shared_ptr<UcxContext> UcxContext::Create() {
  std::shared_ptr<UcxContext> ctx(new UcxContext());
  ctx->Init();
  return ctx;
}

void UcxContext::Init() {
  TP_CHECK_MSG(Bootstrap::initialized(), "the ucx transport needs Bootstrap::Init first");
  world_rank_ = Bootstrap::rank();
  world_size_ = Bootstrap::size();
  blocking_ = Bootstrap::oversubscribed();
  ConfigureEnvironment();
  CreateWorker();
  ConnectAll();
}

void UcxContext::ConfigureEnvironment() {
  // UCX warns about every UCX_* variable no component read (launchers set several). The
  // global options are parsed when libucs loads, before main(), so setting the variable now
  // would only add itself to the warning: change the parsed option instead, unless the user
  // chose a value.
  if (std::getenv("UCX_WARN_UNUSED_ENV_VARS") == nullptr) {
    ucs_global_opts_set_value("WARN_UNUSED_ENV_VARS", "n");
    setenv("UCX_WARN_UNUSED_ENV_VARS", "n", /*overwrite=*/0);  // for child processes
  }
  // A failing transport prints no backtrace unless asked for (-v, or the user's
  // UCX_HANDLE_ERRORS); tpbench's own line says what failed.
  if (std::getenv("UCX_HANDLE_ERRORS") == nullptr && !VerboseFailures()) {
    ucs_global_opts_set_value("HANDLE_ERRORS", "");
  }
  // Detect mode (../shared/FAULTS_FACTS.md): peer-failure endpoints need shared-memory
  // transports that support it (else UCX falls back to tcp), and a keepalive well under
  // mpirun's 1 s grace before it kills the survivors. The user's values win.
  detect_ = CurrentFaultMode() == FaultMode::kDetect;
  if (detect_) {
    setenv("UCX_MM_ERROR_HANDLING", "y", /*overwrite=*/0);
    setenv("UCX_KEEPALIVE_INTERVAL", "200ms", /*overwrite=*/0);
  }
}

void UcxContext::CreateWorker() {
  ucp_config_t* config = nullptr;
  UCX_CHECK(ucp_config_read(nullptr, nullptr, &config));
  ucp_params_t params;
  std::memset(&params, 0, sizeof(params));
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_ESTIMATED_NUM_EPS |
                      UCP_PARAM_FIELD_ESTIMATED_NUM_PPN;
  params.features = UCP_FEATURE_TAG | UCP_FEATURE_WAKEUP;
  params.estimated_num_eps = static_cast<size_t>(world_size_);
  params.estimated_num_ppn = static_cast<size_t>(Bootstrap::local_size());
  ucs_status_t s = ucp_init(&params, config, &context_);
  ucp_config_release(config);
  UCX_CHECK_STATUS(s, "ucp_init");

  ucp_worker_params_t wp;
  std::memset(&wp, 0, sizeof(wp));
  wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  wp.thread_mode = UCS_THREAD_MODE_SERIALIZED;
  UCX_CHECK(ucp_worker_create(context_, &wp, &worker_));
  UCX_CHECK(ucp_worker_get_efd(worker_, &efd_));
}

void UcxContext::ConnectAll() {
  // Exchange worker addresses: lengths first, then every address padded to the longest.
  ucp_address_t* addr = nullptr;
  size_t len = 0;
  UCX_CHECK(ucp_worker_get_address(worker_, &addr, &len));
  uint64_t my_len = len;
  std::vector<uint64_t> lens(world_size_);
  Bootstrap::AllGather(&my_len, sizeof(my_len), lens.data());
  const size_t max_len = *std::max_element(lens.begin(), lens.end());
  std::vector<char> mine(max_len, 0), all(max_len * world_size_);
  std::memcpy(mine.data(), addr, len);
  ucp_worker_release_address(worker_, addr);
  Bootstrap::AllGather(mine.data(), max_len, all.data());

  // Endpoints to every world rank, self included, at start-up: cheap at these sizes. To make
  // it lazy at scale, keep the gathered addresses and create eps_[r] on first use in ep(r)
  // (ucp_ep_create does not communicate; wire-up happens on the first send either way).
  eps_.assign(world_size_, nullptr);
  peer_args_.assign(world_size_, PeerArg{this, 0});
  for (int r = 0; r < world_size_; ++r) {
    ucp_ep_params_t ep;
    std::memset(&ep, 0, sizeof(ep));
    ep.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS;
    ep.address = reinterpret_cast<const ucp_address_t*>(all.data() + r * max_len);
    if (detect_) {
      peer_args_[r].world_rank = r;
      ep.field_mask |= UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE | UCP_EP_PARAM_FIELD_ERR_HANDLER;
      ep.err_mode = UCP_ERR_HANDLING_MODE_PEER;
      ep.err_handler.cb = &UcxContext::OnEndpointError;
      ep.err_handler.arg = &peer_args_[r];
    }
    UCX_CHECK(ucp_ep_create(worker_, &ep, &eps_[r]));
  }
}

void UcxContext::OnEndpointError(void* arg, ucp_ep_h /*ep*/, ucs_status_t status) {
  const PeerArg* p = static_cast<const PeerArg*>(arg);
  UcxContext* c = p->ctx;
  if (c->shutting_down_ || c->lost_peer_ >= 0) return;
  c->lost_peer_ = p->world_rank;
  c->lost_status_ = status;
  c->failed_ = true;
  NoteLostPeer(p->world_rank);
}

UcxContext::~UcxContext() { Shutdown(); }

void UcxContext::ProgressIdle() {
  while (ucp_worker_progress(worker_) != 0) {
  }
}

bool UcxContext::BlockOnce(Clock::time_point until) {
  ucs_status_t s = ucp_worker_arm(worker_);
  if (s == UCS_ERR_BUSY) return false;  // events pending: the caller progresses again
  UCX_CHECK_STATUS(s, "ucp_worker_arm");
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()) +
              std::chrono::milliseconds(1);
  const int ms =
      static_cast<int>(std::min<int64_t>(std::max<int64_t>(left.count(), 0), kPollCap.count()));
  pollfd p;
  p.fd = efd_;
  p.events = POLLIN;
  p.revents = 0;
  return poll(&p, 1, ms) == 0 && ms == kPollCap.count();
}

void UcxContext::NoteMissedWakeup() {
  if (++missed_wakeups_ != kMissedWakeupsToWarn) return;
  std::fprintf(stderr,
               "tpbench: warning: rank %d: ucx: %d waits were woken by the %lld ms poll cap, "
               "not by UCX, with work pending (missed wake-ups): timings include the cap. "
               "Ranks on one kernel in different network namespaces that share an IPC "
               "namespace do this (docs/multinode.md)\n",
               world_rank_, missed_wakeups_, static_cast<long long>(kPollCap.count()));
}

void UcxContext::Shutdown() {
  shutting_down_ = true;
  // A lost peer: endpoints may never close and the launcher ends the job within a second;
  // leave the worker and context to the process exit.
  if (lost_peer_ >= 0) return;
  if (!worker_) {
    if (context_) ucp_cleanup(context_);
    return;
  }
  // Close every endpoint with a flush, waiting a bounded time; if a peer is gone and the
  // closes do not finish, leave the worker and context to the process exit rather than hang.
  std::vector<void*> pending;
  ucp_request_param_t param;
  std::memset(&param, 0, sizeof(param));
  param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  param.flags = failed_ ? UCP_EP_CLOSE_FLAG_FORCE : 0;
  for (ucp_ep_h ep : eps_) {
    if (!ep) continue;
    ucs_status_ptr_t r = ucp_ep_close_nbx(ep, &param);
    if (r != nullptr && !UCS_PTR_IS_ERR(r)) pending.push_back(r);
  }
  eps_.clear();
  auto all_closed = [&] {
    for (void*& r : pending) {
      if (r && ucp_request_check_status(r) != UCS_INPROGRESS) {
        ucp_request_free(r);
        r = nullptr;
      }
    }
    return std::all_of(pending.begin(), pending.end(), [](void* r) { return r == nullptr; });
  };
  bool closed = false;
  try {
    closed = WaitUntil(all_closed, Clock::now() + kShutdownWait, [] {});
  } catch (const Error&) {
    closed = false;
  }
  if (!closed) return;  // leaked on purpose; see above
  ucp_worker_destroy(worker_);
  worker_ = nullptr;
  ucp_cleanup(context_);
  context_ = nullptr;
}

}  // namespace tpbench
