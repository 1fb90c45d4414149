#include "comm/ucx/ucx_transport.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "comm/bootstrap.h"
#include "comm/error.h"
#include "comm/ucx/ucx_context.h"

namespace tpbench {
namespace {

// Bound on draining cancelled requests after a timeout or failure.
constexpr std::chrono::milliseconds kCancelWait{200};

}  // namespace

std::unique_ptr<Transport> CreateUcxTransport() {
  std::shared_ptr<UcxContext> ctx = UcxContext::Create();
  const int n = ctx->world_size();
  if (n > ucx_tag::kMaxGroupSize) {
    throw UsageError("ucx: " + std::to_string(n) + " ranks exceed the backend's limit of " +
                     std::to_string(ucx_tag::kMaxGroupSize));
  }
  std::vector<int> world(n);
  for (int r = 0; r < n; ++r) world[r] = r;
  return std::make_unique<UcxTransport>(ctx, /*context_id=*/0, ctx->world_rank(), std::move(world));
}

UcxTransport::UcxTransport(std::shared_ptr<UcxContext> ctx, uint32_t context_id, int rank,
                           std::vector<int> world_ranks)
    : ctx_(std::move(ctx)),
      context_id_(context_id),
      rank_(rank),
      size_(static_cast<int>(world_ranks.size())),
      world_ranks_(std::move(world_ranks)),
      send_seq_(size_, 0),
      recv_seq_(size_, 0) {
  // No callback and the default datatype (contiguous bytes): requests are polled with
  // ucp_request_check_status; nothing is allocated per message by this layer.
  std::memset(&param_, 0, sizeof(param_));
  // Each peer's node, once: a send looks its flag up instead of comparing hostnames.
  remote_.resize(static_cast<size_t>(size_));
  for (int r = 0; r < size_; ++r) remote_[r] = node(r) != node(rank_) ? 1 : 0;
}

UcxTransport::~UcxTransport() {
  for (Buffer& b : scratch_) std::free(b.data);
}

void UcxTransport::BeginOp(const TransportOp& op) {
  op_ = op;
  base_ = op.point_to_point ? ucx_tag::PointToPoint(context_id_)
                            : ucx_tag::Collective(context_id_, op_seq_++);
}

uint32_t UcxTransport::next_free_context_id() const { return ctx_->next_free_context_id(); }

std::unique_ptr<Transport> UcxTransport::Split(uint32_t context_id,
                                               const std::vector<int>& members) {
  TP_CHECK_MSG(context_id < ucx_tag::kMaxContexts, "context id out of range");
  ctx_->UseContextIdsUpTo(context_id);
  if (members.empty()) return nullptr;
  std::vector<int> world(members.size());
  int new_rank = -1;
  for (size_t i = 0; i < members.size(); ++i) {
    world[i] = world_ranks_[members[i]];
    if (members[i] == rank_) new_rank = static_cast<int>(i);
  }
  TP_CHECK_MSG(new_rank >= 0, "a split transport must include this rank");
  return std::make_unique<UcxTransport>(ctx_, context_id, new_rank, std::move(world));
}

void UcxTransport::ProgressIdle() { ctx_->ProgressIdle(); }

char* UcxTransport::Scratch(size_t bytes, int slot) {
  TP_CHECK_MSG(slot >= 0 && slot < kScratchSlots, "scratch slot out of range 0..3");
  Buffer& b = scratch_[slot];
  if (bytes > b.capacity || !b.data) {
    const size_t cap = std::max<size_t>((bytes + 63) / 64 * 64, 64);
    char* p = static_cast<char*>(AlignedAllocOrThrow(64, cap, "ucx scratch"));
    std::free(b.data);
    b.data = p;
    b.capacity = cap;
  }
  return b.data;
}

uint64_t UcxTransport::TagFor(int src, int peer, int tag, bool send) {
  if (op_.point_to_point) {
    uint32_t& seq = send ? send_seq_[peer] : recv_seq_[peer];
    const uint64_t s = seq++ & ucx_tag::kP2PSeqMask;
    return base_ | (s << ucx_tag::kP2PSeqShift) | static_cast<uint64_t>(src);
  }
  TP_CHECK_MSG(tag >= 0 && static_cast<uint64_t>(tag) <= ucx_tag::kStepMask,
               "step tag out of 0..4095 in " + op());
  return base_ | (static_cast<uint64_t>(tag) << ucx_tag::kStepShift) | static_cast<uint64_t>(src);
}

void UcxTransport::Failed(int line, const std::string& what, ucs_status_t s) {
  BackendCallFailed(__FILE__, line, "ucx: " + what + " in " + op(), ucs_status_string(s));
}

Request UcxTransport::Isend(const void* buf, size_t bytes, int peer, int tag) {
  TP_CHECK_MSG(peer >= 0 && peer < size_, "send peer out of range in " + op());
  Request r;
  r.peer = peer;
  r.is_send = true;
  if (bytes == 0) return r;  // zero-byte messages are no-ops on both sides
  const uint64_t t = TagFor(rank_, peer, tag, /*send=*/true);
  op_.owner->op_counters().Add(op_.kind, bytes, remote_[static_cast<size_t>(peer)] != 0);
  ucs_status_ptr_t h = ucp_tag_send_nbx(ctx_->ep(world_ranks_[peer]), buf, bytes, t, &param_);
  if (UCS_PTR_IS_ERR(h)) {
    Failed(__LINE__,
           "send of " + std::to_string(bytes) + " bytes to " + op_.owner->DescribePeers({peer}),
           UCS_PTR_STATUS(h));
  }
  r.handle = h;
  return r;
}

Request UcxTransport::Irecv(void* buf, size_t bytes, int peer, int tag) {
  TP_CHECK_MSG(peer >= 0 && peer < size_, "recv peer out of range in " + op());
  Request r;
  r.peer = peer;
  r.is_send = false;
  if (bytes == 0) return r;
  const uint64_t t = TagFor(peer, peer, tag, /*send=*/false);
  ucs_status_ptr_t h = ucp_tag_recv_nbx(ctx_->worker(), buf, bytes, t, ucx_tag::kFullMask, &param_);
  if (UCS_PTR_IS_ERR(h)) {
    Failed(
        __LINE__,
        "receive of " + std::to_string(bytes) + " bytes from " + op_.owner->DescribePeers({peer}),
        UCS_PTR_STATUS(h));
  }
  r.handle = h;
  return r;
}

void UcxTransport::WaitAll(Request* reqs, int n) {
  ucs_status_t err = UCS_OK;
  int err_i = -1;
  auto done = [&] {
    bool all = true;
    for (int i = 0; i < n; ++i) {
      void* h = reqs[i].handle;
      if (!h) continue;
      const ucs_status_t s = ucp_request_check_status(h);
      if (s == UCS_INPROGRESS) {
        all = false;
        continue;
      }
      ucp_request_free(h);
      reqs[i].handle = nullptr;
      if (s != UCS_OK && err == UCS_OK) {
        err = s;
        err_i = i;
      }
    }
    return all || err != UCS_OK || ctx_->lost_peer() >= 0;
  };
  auto on_slow = [&] { op_.owner->NoteWaiting(Pending(reqs, n)); };
  const bool finished = ctx_->WaitUntil(done, op_.deadline, on_slow);
  if (ctx_->lost_peer() >= 0) LostPeer(reqs, n);
  if (finished && err == UCS_OK) return;
  if (err != UCS_OK) {
    const Request& r = reqs[err_i];
    CancelAll(reqs, n);
    Failed(
        __LINE__,
        std::string(r.is_send ? "send to " : "receive from ") + op_.owner->DescribePeers({r.peer}),
        err);
  }
  char secs[32];
  std::snprintf(secs, sizeof(secs), "%.1f", op_.owner->op_timeout().count() / 1000.0);
  Fail(reqs, n,
       TimeoutError("timeout after " + std::string(secs) + " s in " + op() + ": " +
                    Missing(reqs, n)));
}

void UcxTransport::LostPeer(Request* reqs, int n) {
  // Report at once and end the process: requests to or from the dead rank may never complete,
  // even cancelled, and unwinding through communicators that still hold them crashed inside
  // UCX (a double free) in tests; mpirun ends the job within a second anyway
  // (../shared/FAULTS_FACTS.md). The status file already says "lost peer N" for the launcher.
  const std::string missing = Missing(reqs, n);
  const int p = ctx_->lost_peer();
  std::fprintf(stderr,
               "tpbench: error: rank %d: lost peer: world rank %d (host %s) is gone (ucx: %s, "
               "fault mode detect) during %s%s%s\n",
               ctx_->world_rank(), p, Bootstrap::hostname_of(p).c_str(),
               ucs_status_string(ctx_->lost_status()), op().c_str(), missing.empty() ? "" : "; ",
               missing.c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  _exit(static_cast<int>(ExitCode::kTimeout));
}

std::string UcxTransport::Missing(Request* reqs, int n) const {
  std::vector<int> from, to;
  for (int i = 0; i < n; ++i) {
    if (!reqs[i].handle) continue;
    (reqs[i].is_send ? to : from).push_back(reqs[i].peer);
  }
  for (auto* v : {&from, &to}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  std::string s;
  if (!from.empty()) s = "no message from " + op_.owner->DescribePeers(from);
  if (!to.empty()) {
    if (!s.empty()) s += ", ";
    s += "sends to " + op_.owner->DescribePeers(to) + " not completed";
  }
  return s;
}

std::string UcxTransport::Pending(Request* reqs, int n) const {
  std::vector<int> peers;
  for (int i = 0; i < n; ++i) {
    if (reqs[i].handle) peers.push_back(reqs[i].peer);
  }
  std::sort(peers.begin(), peers.end());
  peers.erase(std::unique(peers.begin(), peers.end()), peers.end());
  return op_.owner->DescribePeers(peers);
}

void UcxTransport::Fail(Request* reqs, int n, const Error& e) {
  CancelAll(reqs, n);
  throw e;
}

void UcxTransport::CancelAll(Request* reqs, int n) {
  ctx_->MarkFailed();
  ucp_worker_h w = ctx_->worker();
  for (int i = 0; i < n; ++i) {
    if (reqs[i].handle) ucp_request_cancel(w, reqs[i].handle);
  }
  auto drained = [&] {
    bool all = true;
    for (int i = 0; i < n; ++i) {
      if (reqs[i].handle && ucp_request_check_status(reqs[i].handle) == UCS_INPROGRESS) {
        all = false;
      }
    }
    return all;
  };
  try {
    ctx_->WaitUntil(drained, Clock::now() + kCancelWait, [] {});
  } catch (const Error&) {
  }
  // A request still in flight is released by UCX when it completes.
  for (int i = 0; i < n; ++i) {
    if (reqs[i].handle) ucp_request_free(reqs[i].handle);
    reqs[i].handle = nullptr;
  }
}

int UcxTransport::node(int r) const { return Bootstrap::node_of(world_ranks_.at(r)); }

}  // namespace tpbench
