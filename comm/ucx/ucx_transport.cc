#include "comm/ucx/ucx_transport.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "comm/bootstrap.h"
#include "comm/error.h"
#include "comm/ucx/ucx_communicator.h"
#include "comm/ucx/ucx_context.h"

namespace tpbench {
namespace {

// Bound on draining cancelled requests after a timeout or failure.
constexpr std::chrono::milliseconds kCancelWait{200};

}  // namespace

UcxTransport::UcxTransport(UcxCommunicator& comm, OpKind kind, uint64_t base,
                           Clock::time_point deadline, const std::string& op)
    : UcxTransport(comm, kind, base, deadline, &op) {}

UcxTransport::UcxTransport(UcxCommunicator& comm, OpKind kind, uint64_t base,
                           Clock::time_point deadline)
    : UcxTransport(comm, kind, base, deadline, nullptr) {}

UcxTransport::UcxTransport(UcxCommunicator& comm, OpKind kind, uint64_t base,
                           Clock::time_point deadline, const std::string* op)
    : comm_(comm),
      kind_(kind),
      base_(base),
      p2p_((base & ucx_tag::kP2PFlag) != 0),
      rank_(comm.rank()),
      size_(comm.size()),
      deadline_(deadline),
      op_(op) {
  // No callback and the default datatype (contiguous bytes): requests are polled with
  // ucp_request_check_status; nothing is allocated per message by this layer.
  std::memset(&param_, 0, sizeof(param_));
}

const std::string& UcxTransport::op() const { return op_ ? *op_ : comm_.current_op(); }

uint64_t UcxTransport::TagFor(int src, int peer, int tag, bool send) {
  if (p2p_) {
    uint32_t& seq = send ? comm_.send_seq_[peer] : comm_.recv_seq_[peer];
    const uint64_t s = seq++ & ucx_tag::kP2PSeqMask;
    return base_ | (s << ucx_tag::kP2PSeqShift) | static_cast<uint64_t>(src);
  }
  TP_CHECK_MSG(tag >= 0 && static_cast<uint64_t>(tag) <= ucx_tag::kStepMask,
               "step tag out of 0..4095 in " + op());
  return base_ | (static_cast<uint64_t>(tag) << ucx_tag::kStepShift) | static_cast<uint64_t>(src);
}

Request UcxTransport::Isend(const void* buf, size_t bytes, int peer, int tag) {
  TP_CHECK_MSG(peer >= 0 && peer < size_, "send peer out of range in " + op());
  Request r;
  r.peer = peer;
  r.is_send = true;
  if (bytes == 0) return r;  // zero-byte messages are no-ops on both sides
  const uint64_t t = TagFor(rank_, peer, tag, /*send=*/true);
  comm_.counters_.Add(kind_, bytes);
  ucs_status_ptr_t h =
      ucp_tag_send_nbx(comm_.ctx_->ep(comm_.world_ranks()[peer]), buf, bytes, t, &param_);
  if (UCS_PTR_IS_ERR(h)) {
    throw BackendError("ucx: send of " + std::to_string(bytes) + " bytes to " +
                       comm_.DescribePeers({peer}) + " failed in " + op() + ": " +
                       ucs_status_string(UCS_PTR_STATUS(h)));
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
  ucs_status_ptr_t h =
      ucp_tag_recv_nbx(comm_.ctx_->worker(), buf, bytes, t, ucx_tag::kFullMask, &param_);
  if (UCS_PTR_IS_ERR(h)) {
    throw BackendError("ucx: receive of " + std::to_string(bytes) + " bytes from " +
                       comm_.DescribePeers({peer}) + " failed in " + op() + ": " +
                       ucs_status_string(UCS_PTR_STATUS(h)));
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
    return all || err != UCS_OK;
  };
  auto on_slow = [&] { SetInFlight(op() + "; waiting for " + Pending(reqs, n)); };
  const bool finished = comm_.ctx_->WaitUntil(done, deadline_, on_slow);
  if (finished && err == UCS_OK) return;
  if (err != UCS_OK) {
    const Request& r = reqs[err_i];
    Fail(reqs, n,
         BackendError(std::string("ucx: ") + (r.is_send ? "send to " : "receive from ") +
                      comm_.DescribePeers({r.peer}) + " failed in " + op() + ": " +
                      ucs_status_string(err)));
  }
  char secs[32];
  std::snprintf(secs, sizeof(secs), "%.1f", comm_.timeout().count() / 1000.0);
  Fail(reqs, n,
       TimeoutError("timeout after " + std::string(secs) + " s in " + op() + ": " +
                    Missing(reqs, n)));
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
  if (!from.empty()) s = "no message from " + comm_.DescribePeers(from);
  if (!to.empty()) {
    if (!s.empty()) s += ", ";
    s += "sends to " + comm_.DescribePeers(to) + " not completed";
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
  return comm_.DescribePeers(peers);
}

void UcxTransport::Fail(Request* reqs, int n, const Error& e) {
  CancelAll(reqs, n);
  throw e;
}

void UcxTransport::CancelAll(Request* reqs, int n) {
  comm_.ctx_->MarkFailed();
  ucp_worker_h w = comm_.ctx_->worker();
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
    comm_.ctx_->WaitUntil(drained, Clock::now() + kCancelWait, [] {});
  } catch (const Error&) {
  }
  // A request still in flight is released by UCX when it completes.
  for (int i = 0; i < n; ++i) {
    if (reqs[i].handle) ucp_request_free(reqs[i].handle);
    reqs[i].handle = nullptr;
  }
}

char* UcxTransport::Scratch(size_t bytes, int slot) { return comm_.ScratchBuffer(bytes, slot); }

}  // namespace tpbench
