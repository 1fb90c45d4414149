// comm/nccl/nccl_transport.cc: see nccl_transport.h.
#include "comm/nccl/nccl_transport.h"

#include <algorithm>
#include <string>
#include <utility>

#include "comm/cuda/cuda_check.h"
#include "comm/cuda/device_reduce.h"
#include "comm/error.h"

#define TP_NCCL_CHECK(call)                                                                  \
  do {                                                                                       \
    ncclResult_t tp_nccl_rc_ = (call);                                                       \
    if (tp_nccl_rc_ != ncclSuccess) {                                                        \
      ::tpbench::ThrowCudaError(#call, __FILE__, __LINE__, ncclGetErrorString(tp_nccl_rc_)); \
    }                                                                                        \
  } while (0)

namespace tpbench {

NcclTransport::NcclTransport(ncclComm_t group, int rank, int size, std::vector<int> world_ranks,
                             cudaStream_t op_stream)
    : rank_(rank),
      size_(size),
      world_ranks_(std::move(world_ranks)),
      op_stream_(op_stream),
      out_(static_cast<size_t>(size)),
      in_(static_cast<size_t>(size)) {
  if (size_ > 1) CreateEdges(group);
}

// Rank q's id for edge (q -> p) is ids[q * size + p]; every rank makes the ids of its
// outgoing edges and the group all-gathers them over its own communicator.
void NcclTransport::CreateEdges(ncclComm_t group) {
  const size_t n = static_cast<size_t>(size_);
  std::vector<ncclUniqueId> ids(n * n);
  for (size_t p = 0; p < n; ++p) {
    if (static_cast<int>(p) != rank_) TP_NCCL_CHECK(ncclGetUniqueId(&ids[rank_ * n + p]));
  }
  const size_t row = n * sizeof(ncclUniqueId);
  char* d = nullptr;
  CUDA_CHECK(cudaMalloc(&d, row * (n + 1)));
  try {
    CUDA_CHECK(cudaMemcpyAsync(d, &ids[rank_ * n], row, cudaMemcpyHostToDevice, op_stream_));
    TP_NCCL_CHECK(ncclAllGather(d, d + row, row, ncclUint8, group, op_stream_));
    CUDA_CHECK(cudaStreamSynchronize(op_stream_));
    CUDA_CHECK(cudaMemcpy(ids.data(), d + row, row * n, cudaMemcpyDeviceToHost));
  } catch (...) {
    cudaFree(d);
    throw;
  }
  cudaFree(d);
  ncclConfig_t cfg = NCCL_CONFIG_INITIALIZER;
  cfg.minCTAs = 1;
  cfg.maxCTAs = 2;  // up to 2 (size - 1) of these kernels run at once, next to the reductions
  TP_NCCL_CHECK(ncclGroupStart());
  for (size_t p = 0; p < n; ++p) {
    if (static_cast<int>(p) == rank_) continue;
    TP_NCCL_CHECK(ncclCommInitRankConfig(&out_[p].comm, 2, ids[rank_ * n + p], 0, &cfg));
    TP_NCCL_CHECK(ncclCommInitRankConfig(&in_[p].comm, 2, ids[p * n + rank_], 1, &cfg));
  }
  TP_NCCL_CHECK(ncclGroupEnd());
  for (size_t p = 0; p < n; ++p) {
    if (static_cast<int>(p) == rank_) continue;
    CUDA_CHECK(cudaStreamCreateWithFlags(&out_[p].stream, cudaStreamNonBlocking));
    CUDA_CHECK(cudaStreamCreateWithFlags(&in_[p].stream, cudaStreamNonBlocking));
  }
}

NcclTransport::~NcclTransport() {
  cudaStreamSynchronize(op_stream_);
  for (std::vector<Edge>* v : {&out_, &in_}) {
    for (Edge& e : *v) {
      if (e.stream) cudaStreamDestroy(e.stream);
      if (e.comm && !abandoned_) ncclCommDestroy(e.comm);
    }
  }
  for (cudaEvent_t ev : free_events_) cudaEventDestroy(ev);
  for (cudaEvent_t ev : op_events_) cudaEventDestroy(ev);
  for (char* s : scratch_) cudaFree(s);
  for (SelfMsg& m : self_sends_) {
    if (m.staged) cudaFree(m.buf);
  }
}

std::vector<ncclComm_t> NcclTransport::comms() const {
  std::vector<ncclComm_t> out;
  for (const std::vector<Edge>* v : {&out_, &in_}) {
    for (const Edge& e : *v) {
      if (e.comm) out.push_back(e.comm);
    }
  }
  return out;
}

std::unique_ptr<Transport> NcclTransport::Split(uint32_t, const std::vector<int>&) {
  throw BackendError("backend nccl: groups are split by the communicator (ncclCommSplit)");
}

cudaEvent_t NcclTransport::NewEvent() {
  cudaEvent_t ev = nullptr;
  if (!free_events_.empty()) {
    ev = free_events_.back();
    free_events_.pop_back();
  } else {
    CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
  }
  op_events_.push_back(ev);
  return ev;
}

void NcclTransport::BeginOp(const TransportOp& op) {
  op_ = op;
  for (Edge& e : out_) e.used = false;
  for (Edge& e : in_) e.used = false;
}

// The edge's stream waits for what the op stream has queued (the data a send reads, the
// reads of a buffer a receive overwrites), then the message, then its completion event.
Request NcclTransport::Post(Edge& e, bool send, void* buf, size_t bytes, int peer) {
  cudaEvent_t ready = NewEvent();
  CUDA_CHECK(cudaEventRecord(ready, op_stream_));
  CUDA_CHECK(cudaStreamWaitEvent(e.stream, ready, 0));
  if (send) {
    TP_NCCL_CHECK(ncclSend(buf, bytes, ncclUint8, /*peer=*/1, e.comm, e.stream));
  } else {
    TP_NCCL_CHECK(ncclRecv(buf, bytes, ncclUint8, /*peer=*/0, e.comm, e.stream));
  }
  cudaEvent_t done = NewEvent();
  CUDA_CHECK(cudaEventRecord(done, e.stream));
  e.used = true;
  Request r;
  r.handle = done;
  r.peer = peer;
  r.is_send = send;
  return r;
}

Request NcclTransport::Isend(const void* buf, size_t bytes, int peer, int) {
  if (bytes == 0) return Request{};
  if (peer == rank_) {
    SelfSend(buf, bytes);
    return Request{};
  }
  if (op_.owner) op_.owner->op_counters().Add(op_.kind, bytes);
  return Post(out_[static_cast<size_t>(peer)], true, const_cast<void*>(buf), bytes, peer);
}

Request NcclTransport::Irecv(void* buf, size_t bytes, int peer, int) {
  if (bytes == 0) return Request{};
  if (peer == rank_) {
    SelfRecv(buf, bytes);
    return Request{};
  }
  return Post(in_[static_cast<size_t>(peer)], false, buf, bytes, peer);
}

// A send to itself completes at once (p2p.h lets the sender reuse its buffer after the
// wait): without a receive posted it is staged in a device copy.
void NcclTransport::SelfSend(const void* buf, size_t bytes) {
  if (!self_recvs_.empty()) {
    SelfMsg r = self_recvs_.front();
    self_recvs_.pop_front();
    if (r.bytes != bytes) {
      throw BackendError("backend nccl: a message to itself of " + std::to_string(bytes) +
                         " B met a receive of " + std::to_string(r.bytes) + " B");
    }
    Copy(r.buf, buf, bytes);
    return;
  }
  SelfMsg m;
  CUDA_CHECK(cudaMallocAsync(&m.buf, bytes, op_stream_));
  m.bytes = bytes;
  m.staged = true;
  Copy(m.buf, buf, bytes);
  self_sends_.push_back(m);
}

void NcclTransport::SelfRecv(void* buf, size_t bytes) {
  if (self_sends_.empty()) {
    self_recvs_.push_back(SelfMsg{buf, bytes, false});
    return;
  }
  SelfMsg m = self_sends_.front();
  self_sends_.pop_front();
  if (m.bytes != bytes) {
    cudaFreeAsync(m.buf, op_stream_);
    throw BackendError("backend nccl: a receive of " + std::to_string(bytes) +
                       " B from itself met a message of " + std::to_string(m.bytes) + " B");
  }
  Copy(buf, m.buf, bytes);
  CUDA_CHECK(cudaFreeAsync(m.buf, op_stream_));
}

void NcclTransport::WaitAll(Request* reqs, int n) {
  for (int i = 0; i < n; ++i) {
    if (reqs[i].handle == nullptr) continue;
    CUDA_CHECK(cudaStreamWaitEvent(op_stream_, static_cast<cudaEvent_t>(reqs[i].handle), 0));
    reqs[i].handle = nullptr;
  }
}

void NcclTransport::EndOp() {
  for (std::vector<Edge>* v : {&out_, &in_}) {
    for (Edge& e : *v) {
      if (!e.used) continue;
      cudaEvent_t ev = NewEvent();
      CUDA_CHECK(cudaEventRecord(ev, e.stream));
      CUDA_CHECK(cudaStreamWaitEvent(op_stream_, ev, 0));
    }
  }
  // Waits were enqueued on the events' latest records: they can be recorded again.
  free_events_.insert(free_events_.end(), op_events_.begin(), op_events_.end());
  op_events_.clear();
  if (!self_sends_.empty() || !self_recvs_.empty()) {
    const size_t s = self_sends_.size(), r = self_recvs_.size();
    for (SelfMsg& m : self_sends_) cudaFreeAsync(m.buf, op_stream_);
    self_sends_.clear();
    self_recvs_.clear();
    throw BackendError("backend nccl: " + std::to_string(s) + " send(s) to and " +
                       std::to_string(r) + " receive(s) from this rank itself never matched");
  }
}

char* NcclTransport::Scratch(size_t bytes, int slot) {
  TP_CHECK_MSG(slot >= 0 && slot < kScratchSlots, "scratch slot out of range");
  if (bytes > scratch_bytes_[slot]) {
    // cudaFree waits for the device, so work still reading the old buffer is done.
    const size_t want = std::max(bytes, 2 * scratch_bytes_[slot]);
    if (scratch_[slot]) CUDA_CHECK(cudaFree(scratch_[slot]));
    scratch_[slot] = nullptr;
    scratch_bytes_[slot] = 0;
    CUDA_CHECK(cudaMalloc(&scratch_[slot], want));
    scratch_bytes_[slot] = want;
  }
  return scratch_[slot];
}

void NcclTransport::Reduce(void* out, const void* a, const void* b, size_t count, DataType t,
                           ReduceOp op, bool) {
  const int rc =
      DeviceReduce(out, a, b, count, static_cast<int>(t), static_cast<int>(op), op_stream_);
  CUDA_CHECK(static_cast<cudaError_t>(rc));
}

void NcclTransport::Copy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0 || dst == src) return;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, op_stream_));
}

}  // namespace tpbench
