// comm/nccl/nccl_communicator.cc: the nccl backend. See nccl_communicator.h.
#include "comm/nccl/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "comm/bootstrap.h"
#include "comm/coll.h"
#include "comm/cuda/cuda_check.h"
#include "comm/cuda/device_reduce.h"
#include "comm/error.h"
#include "comm/nccl/nccl_transport.h"
#include "comm/world.h"

#define NCCL_CHECK(call)                                                                     \
  do {                                                                                       \
    ncclResult_t tp_nccl_rc_ = (call);                                                       \
    if (tp_nccl_rc_ != ncclSuccess) {                                                        \
      ::tpbench::ThrowCudaError(#call, __FILE__, __LINE__, ncclGetErrorString(tp_nccl_rc_)); \
    }                                                                                        \
  } while (0)

namespace tpbench {
namespace {

ncclDataType_t NcclType(DataType t) {
  switch (t) {
    case DataType::kF32: return ncclFloat32;
    case DataType::kF64: return ncclFloat64;
    case DataType::kF16: return ncclFloat16;
    case DataType::kBF16: return ncclBfloat16;
    case DataType::kI8: return ncclInt8;
    case DataType::kU8: return ncclUint8;
    case DataType::kI32: return ncclInt32;
    case DataType::kI64: return ncclInt64;
  }
  throw UsageError("backend nccl: unknown dtype");
}

ncclRedOp_t NcclOp(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kProd: return ncclProd;
    case ReduceOp::kMin: return ncclMin;
    case ReduceOp::kMax: return ncclMax;
    case ReduceOp::kAvg: return ncclAvg;
  }
  throw UsageError("backend nccl: unknown reduction");
}

// The NCCL communicator of one group, shared by its Communicator and the Works in flight (a
// timed-out Work aborts it).
struct NcclHandle {
  ncclComm_t comm = nullptr;
  std::vector<ncclComm_t> pairs;  // the NcclTransport's pair communicators, if any
  bool aborted = false;

  void Abort() {
    if (aborted) return;
    ncclCommAbort(comm);
    for (ncclComm_t c : pairs) ncclCommAbort(c);
    aborted = true;
  }
};

NcclP2PAlgorithms& Registered() {
  static NcclP2PAlgorithms algorithms;
  return algorithms;
}

bool IsNative(const std::string& algo) {
  return algo.empty() || algo == "auto" || algo == "native";
}

class NcclWork : public Work {
 public:
  NcclWork(std::function<std::string()> describe, std::chrono::milliseconds timeout,
           std::shared_ptr<NcclHandle> handle, cudaEvent_t start, cudaEvent_t stop)
      : Work(std::move(describe), timeout),
        handle_(std::move(handle)),
        start_ev_(start),
        stop_ev_(stop) {}
  ~NcclWork() override {
    cudaEventDestroy(start_ev_);
    cudaEventDestroy(stop_ev_);
  }

  using Work::Wait;

  bool Test() override {
    Poll();
    return finished_;
  }

  void Wait(std::chrono::milliseconds timeout) override {
    const Clock::time_point deadline = Clock::now() + timeout;
    while (!finished_) {
      Poll();
      if (finished_) break;
      if (Clock::now() > deadline) {
        // A hung NCCL op cannot be cancelled; its communicator is aborted (unusable after).
        handle_->Abort();
        Finish(std::make_exception_ptr(
            TimeoutError("timeout after " + std::to_string(timeout.count()) + " ms: " + Describe() +
                         " did not complete; ncclCommAbort called")));
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    Work::Wait(timeout);  // rethrows the op's error
  }

  double DurationUs() override {
    if (!finished_ || !Ok()) return 0;
    float ms = 0;
    if (cudaEventElapsedTime(&ms, start_ev_, stop_ev_) != cudaSuccess) return 0;
    return static_cast<double>(ms) * 1e3;
  }

 private:
  void Poll() {
    if (finished_) return;
    const cudaError_t q = cudaEventQuery(stop_ev_);
    if (q == cudaSuccess) {
      Finish(nullptr);
    } else if (q != cudaErrorNotReady) {
      Finish(std::make_exception_ptr(BackendError(Describe() + ": " + cudaGetErrorString(q))));
    } else {
      ncclResult_t async = ncclSuccess;
      if (!handle_->aborted && ncclCommGetAsyncError(handle_->comm, &async) == ncclSuccess &&
          async != ncclSuccess && async != ncclInProgress) {
        Finish(std::make_exception_ptr(
            BackendError(Describe() + ": NCCL error: " + ncclGetErrorString(async))));
      }
    }
  }
  void Finish(std::exception_ptr e) {
    finished_ = true;
    MarkFinished(std::move(e));
  }

  std::shared_ptr<NcclHandle> handle_;
  cudaEvent_t start_ev_, stop_ev_;
  bool finished_ = false;
};

CollArgs Make(OpKind k, const void* s, void* r, size_t n, DataType t) {
  CollArgs a;
  a.kind = k;
  a.send = s;
  a.recv = r;
  a.count = n;
  a.dtype = t;
  return a;
}

class NcclCommunicator : public Communicator, public TransportOwner {
 public:
  NcclCommunicator(ncclComm_t comm, std::string name, std::vector<int> world_ranks, int device)
      : handle_(std::make_shared<NcclHandle>()),
        name_(std::move(name)),
        world_ranks_(std::move(world_ranks)),
        device_(device),
        timeout_(DefaultTimeout()) {
    handle_->comm = comm;
    NCCL_CHECK(ncclCommUserRank(comm, &rank_));
    NCCL_CHECK(ncclCommCount(comm, &size_));
    CUDA_CHECK(cudaSetDevice(device_));
    cudaStream_t s = nullptr;
    // Non-blocking: legacy-stream work (a tensor's cudaMemset, another thread's copies) must not
    // wait for a collective in flight; host callers' ops wait for the legacy stream by an event.
    CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    stream_ = s;
    CUDA_CHECK(cudaMalloc(&scratch_, 64));
  }

  ~NcclCommunicator() override {
    cudaStreamSynchronize(stream_);
    if (transport_ && handle_->aborted) transport_->Abandon();
    transport_.reset();
    if (!handle_->aborted) ncclCommDestroy(handle_->comm);
    cudaFree(scratch_);
    cudaStreamDestroy(stream_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }
  std::string name() const override { return name_; }
  const std::vector<int>& world_ranks() const override { return world_ranks_; }

  std::unique_ptr<Communicator> Split(int color, int key) override {
    CUDA_CHECK(cudaSetDevice(device_));
    // (color, key, world rank) of every member, for the new group's world ranks.
    const long long mine[3] = {color, key, world_ranks_[static_cast<size_t>(rank_)]};
    long long* d = nullptr;
    CUDA_CHECK(cudaMalloc(&d, sizeof(long long) * 3 * static_cast<size_t>(size_ + 1)));
    std::vector<long long> all(3 * static_cast<size_t>(size_));
    try {
      CUDA_CHECK(cudaMemcpyAsync(d, mine, sizeof mine, cudaMemcpyHostToDevice, stream_));
      NCCL_CHECK(ncclAllGather(d, d + 3, 3, ncclInt64, handle_->comm, stream_));
      CUDA_CHECK(cudaStreamSynchronize(stream_));
      CUDA_CHECK(
          cudaMemcpy(all.data(), d + 3, all.size() * sizeof(long long), cudaMemcpyDeviceToHost));
    } catch (...) {
      cudaFree(d);
      throw;
    }
    cudaFree(d);
    ncclComm_t sub = nullptr;
    NCCL_CHECK(
        ncclCommSplit(handle_->comm, color < 0 ? NCCL_SPLIT_NOCOLOR : color, key, &sub, nullptr));
    if (color < 0 || sub == nullptr) return nullptr;
    std::vector<std::tuple<long long, int, int>> members;  // (key, old rank, world rank)
    for (int r = 0; r < size_; ++r) {
      const long long* e = &all[3 * static_cast<size_t>(r)];
      if (e[0] == color) members.emplace_back(e[1], r, static_cast<int>(e[2]));
    }
    std::sort(members.begin(), members.end());
    std::vector<int> world;
    for (const auto& m : members) world.push_back(std::get<2>(m));
    auto out = std::make_unique<NcclCommunicator>(
        sub, name_ + "/split(color=" + std::to_string(color) + ")", std::move(world), device_);
    out->set_timeout(timeout_);
    return out;
  }

  WorkPtr AllReduce(const void* s, void* r, size_t n, DataType t, ReduceOp op,
                    const OpOptions& o) override {
    CollArgs a = Make(OpKind::kAllReduce, s, r, n, t);
    a.op = op;
    return Run(a, o);
  }
  WorkPtr AllGather(const void* s, void* r, size_t n, DataType t, const OpOptions& o) override {
    return Run(Make(OpKind::kAllGather, s, r, n, t), o);
  }
  WorkPtr ReduceScatter(const void* s, void* r, size_t n, DataType t, ReduceOp op,
                        const OpOptions& o) override {
    CollArgs a = Make(OpKind::kReduceScatter, s, r, n, t);
    a.op = op;
    return Run(a, o);
  }
  WorkPtr Broadcast(const void* s, void* r, size_t n, DataType t, int root,
                    const OpOptions& o) override {
    CollArgs a = Make(OpKind::kBroadcast, s, r, n, t);
    a.root = root;
    return Run(a, o);
  }
  WorkPtr Reduce(const void* s, void* r, size_t n, DataType t, ReduceOp op, int root,
                 const OpOptions& o) override {
    CollArgs a = Make(OpKind::kReduce, s, r, n, t);
    a.op = op;
    a.root = root;
    return Run(a, o);
  }
  WorkPtr AllToAll(const void* s, void* r, size_t n, DataType t, const OpOptions& o) override {
    return Run(Make(OpKind::kAllToAll, s, r, n, t), o);
  }
  WorkPtr SendRecv(const void* s, int peer_send, void* r, int peer_recv, size_t n, DataType t,
                   const OpOptions& o) override {
    CollArgs a = Make(OpKind::kSendRecv, s, r, n, t);
    a.peer_send = peer_send;
    a.peer_recv = peer_recv;
    return Run(a, o);
  }
  WorkPtr Send(const void* buf, size_t n, DataType t, int peer, const OpOptions& o) override {
    return SendRecv(buf, peer, nullptr, -1, n, t, o);
  }
  WorkPtr Recv(void* buf, size_t n, DataType t, int peer, const OpOptions& o) override {
    return SendRecv(nullptr, -1, buf, peer, n, t, o);
  }
  WorkPtr Barrier(const OpOptions& o) override {
    return Run(Make(OpKind::kBarrier, scratch_, scratch_, 1, DataType::kF32), o);
  }

  WorkPtr Run(const CollArgs& in, const OpOptions& o) override {
    CollArgs a = in;
    a.rank = rank_;
    a.size = size_;
    Validate(a, o);
    CUDA_CHECK(cudaSetDevice(device_));
    cudaStream_t caller = o.stream.kind == Stream::Kind::kDevice
                              ? static_cast<cudaStream_t>(o.stream.handle)
                              : nullptr;
    cudaEvent_t ready = nullptr, start = nullptr, stop = nullptr;
    CUDA_CHECK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&stop));
    auto work = std::make_shared<NcclWork>([this, a] { return Describe(a); }, timeout_, handle_,
                                           start, stop);
    // Ordered after the caller's queued work: its stream (exactly what it queued so far: the
    // producers), or the legacy stream for host callers (their cudaMemcpy uploads).
    CUDA_CHECK(cudaEventRecord(ready, caller != nullptr ? caller : cudaStreamLegacy));
    CUDA_CHECK(cudaStreamWaitEvent(stream_, ready, 0));
    cudaEventDestroy(ready);
    CUDA_CHECK(cudaEventRecord(start, stream_));
    work->MarkStarted();
    if (IsNative(o.algo)) {
      Issue(a);
      Count(a);
    } else {
      RunAlgorithm(a, o.algo);
    }
    CUDA_CHECK(cudaEventRecord(stop, stream_));
    if (caller != nullptr) CUDA_CHECK(cudaStreamWaitEvent(caller, stop, 0));
    if (o.stream.kind == Stream::Kind::kInline) work->Wait();
    return work;
  }

  const Counters& counters() const override { return counters_; }
  void ResetCounters() override { counters_.Reset(); }
  void set_timeout(std::chrono::milliseconds t) override { timeout_ = t; }
  std::chrono::milliseconds timeout() const override { return timeout_; }
  std::vector<std::string> Algorithms(OpKind k) const override {
    std::vector<std::string> out = {"auto", "native"};
    const bool p2p = k != OpKind::kBarrier && k != OpKind::kSendRecv && k != OpKind::kInternal;
    if (p2p && Registered().names) {
      for (std::string& n : Registered().names(k)) out.push_back(std::move(n));
    }
    return out;
  }
  bool device_memory() const override { return true; }

  // TransportOwner (for the NcclTransport of tpbench's algorithms).
  Counters& op_counters() override { return counters_; }
  const std::string& current_op() const override { return current_op_; }
  std::string DescribePeers(const std::vector<int>& group_ranks) const override {
    std::string s = "ranks ", w;
    for (size_t i = 0; i < group_ranks.size(); ++i) {
      s += (i ? ", " : "") + std::to_string(group_ranks[i]);
      w += (i ? ", " : "") + std::to_string(world_ranks_[static_cast<size_t>(group_ranks[i])]);
    }
    return s + " (world ranks " + w + ")";
  }
  std::chrono::milliseconds op_timeout() const override { return timeout_; }
  void NoteWaiting(const std::string&) override {}  // waits never block the host here

 private:
  void Validate(const CollArgs& a, const OpOptions& o) const {
    if (handle_->aborted) {
      throw BackendError("backend nccl: group '" + name_ + "' was aborted after a timeout");
    }
    const std::string algo = o.algo.empty() ? "auto" : o.algo;
    const std::vector<std::string> valid = Algorithms(a.kind);
    if (std::find(valid.begin(), valid.end(), algo) == valid.end()) {
      std::string list;
      for (const std::string& v : valid) list += (list.empty() ? "" : ", ") + v;
      throw UsageError("backend nccl: unknown algorithm '" + algo + "' for " + OpKindName(a.kind) +
                       "; valid: " + list);
    }
    auto bad_rank = [&](int r) { return r < 0 || r >= size_; };
    if ((a.kind == OpKind::kBroadcast || a.kind == OpKind::kReduce) && bad_rank(a.root)) {
      throw UsageError("backend nccl: root " + std::to_string(a.root) +
                       " is not a rank of group '" + name_ + "' (" + std::to_string(size_) +
                       " ranks)");
    }
    if (a.kind == OpKind::kSendRecv && ((a.peer_send >= size_) || (a.peer_recv >= size_))) {
      throw UsageError("backend nccl: peer out of range in group '" + name_ + "'");
    }
  }

  void Issue(const CollArgs& a) {
    ncclComm_t c = handle_->comm;
    const ncclDataType_t t = NcclType(a.dtype);
    const size_t n = a.count;
    const size_t bytes = n * a.elem_size();
    switch (a.kind) {
      case OpKind::kAllReduce:
        NCCL_CHECK(ncclAllReduce(a.send, a.recv, n, t, NcclOp(a.op), c, stream_));
        break;
      case OpKind::kAllGather: NCCL_CHECK(ncclAllGather(a.send, a.recv, n, t, c, stream_)); break;
      case OpKind::kReduceScatter:
        NCCL_CHECK(ncclReduceScatter(a.send, a.recv, n, t, NcclOp(a.op), c, stream_));
        break;
      case OpKind::kBroadcast:
        NCCL_CHECK(ncclBroadcast(a.send ? a.send : a.recv, a.recv, n, t, a.root, c, stream_));
        break;
      case OpKind::kReduce:
        NCCL_CHECK(ncclReduce(a.send, a.recv, n, t, NcclOp(a.op), a.root, c, stream_));
        break;
      case OpKind::kAllToAll: {
        NCCL_CHECK(ncclGroupStart());
        for (int p = 0; p < size_; ++p) {
          const char* s = static_cast<const char*>(a.send) + static_cast<size_t>(p) * bytes;
          char* r = static_cast<char*>(a.recv) + static_cast<size_t>(p) * bytes;
          NCCL_CHECK(ncclSend(s, n, t, p, c, stream_));
          NCCL_CHECK(ncclRecv(r, n, t, p, c, stream_));
        }
        NCCL_CHECK(ncclGroupEnd());
        break;
      }
      case OpKind::kSendRecv:
        NCCL_CHECK(ncclGroupStart());
        if (a.peer_send >= 0) NCCL_CHECK(ncclSend(a.send, n, t, a.peer_send, c, stream_));
        if (a.peer_recv >= 0) NCCL_CHECK(ncclRecv(a.recv, n, t, a.peer_recv, c, stream_));
        NCCL_CHECK(ncclGroupEnd());
        break;
      case OpKind::kBarrier:
        NCCL_CHECK(ncclAllReduce(scratch_, scratch_, 1, ncclFloat32, ncclSum, c, stream_));
        break;
      case OpKind::kInternal: throw UsageError("backend nccl: 'internal' is not an op");
    }
  }

  // tpbench's algorithm `algo` over the NcclTransport (made on the group's first such op: every
  // member runs the same ops in the same order, so all of them make it at the same op).
  void RunAlgorithm(const CollArgs& in, const std::string& algo) {
    CollArgs a = in;
    const bool avg = a.op == ReduceOp::kAvg;
    if (avg) a.op = ReduceOp::kSum;
    if (a.kind == OpKind::kBroadcast && a.send == nullptr) a.send = a.recv;  // non-root
    if (!transport_) {
      transport_ =
          std::make_unique<NcclTransport>(handle_->comm, rank_, size_, world_ranks_, stream_);
      handle_->pairs = transport_->comms();
    }
    current_op_ = std::string(OpKindName(a.kind)) + "/" + algo + " of " + std::to_string(a.count) +
                  " x " + DataTypeName(a.dtype) + " on group '" + name_ + "' (" +
                  std::to_string(size_) + " ranks, this is rank " + std::to_string(rank_) + ")";
    TransportOp op;
    op.kind = a.kind;
    op.deadline = Clock::now() + timeout_;
    op.owner = this;
    transport_->BeginOp(op);
    counters_.measured = true;  // this op's counts are our own sends
    Registered().run(*transport_, a, algo);
    transport_->EndOp();
    if (avg && (a.kind != OpKind::kReduce || rank_ == a.root)) {
      CUDA_CHECK(static_cast<cudaError_t>(DeviceDivide(a.recv, a.count, static_cast<int>(a.dtype),
                                                       size_, static_cast<void*>(stream_))));
    }
  }

  // The payload this rank handed to NCCL (not its wire bytes: see the header).
  void Count(const CollArgs& a) {
    counters_.measured = false;
    const uint64_t block = a.count * a.elem_size();
    uint64_t b = block;
    if (a.kind == OpKind::kAllToAll) b = block * static_cast<uint64_t>(size_);
    if (a.kind == OpKind::kReduceScatter) b = block * static_cast<uint64_t>(size_);
    if (a.kind == OpKind::kSendRecv && a.peer_send < 0) b = 0;
    if (a.kind == OpKind::kBarrier) b = 0;
    counters_.Add(a.kind, b);
  }

  std::string Describe(const CollArgs& a) const {
    std::string ranks;
    for (size_t i = 0; i < world_ranks_.size() && i < 64; ++i) {
      ranks += (i ? ", " : "") + std::to_string(world_ranks_[i]);
    }
    return std::string(OpKindName(a.kind)) + "/nccl of " + std::to_string(a.count) + " x " +
           DataTypeName(a.dtype) + " on group '" + name_ + "' (" + std::to_string(size_) +
           " ranks: world ranks " + ranks + "; this is rank " + std::to_string(rank_) + ")";
  }

  std::shared_ptr<NcclHandle> handle_;
  std::string name_;
  std::vector<int> world_ranks_;
  int device_ = 0;
  int rank_ = 0, size_ = 1;
  cudaStream_t stream_ = nullptr;
  void* scratch_ = nullptr;                   // barrier's element
  std::unique_ptr<NcclTransport> transport_;  // tpbench's algorithms (RunAlgorithm)
  std::string current_op_;
  std::chrono::milliseconds timeout_;
  Counters counters_;
};

}  // namespace

std::unique_ptr<Communicator> CreateNcclWorld() {
  if (!Bootstrap::initialized()) {
    throw UsageError("backend nccl: call Bootstrap::Init before creating the world communicator");
  }
  int ndev = 0;
  CUDA_CHECK(cudaGetDeviceCount(&ndev));
  const int rank = Bootstrap::rank(), size = Bootstrap::size();
  int local = 0;
  for (int r = 0; r < rank; ++r) local += Bootstrap::node_of(r) == Bootstrap::node_of(rank);
  if (Bootstrap::local_size() > ndev) {
    throw UsageError("backend nccl: " + std::to_string(Bootstrap::local_size()) +
                     " ranks on this node but " + std::to_string(ndev) +
                     " GPU(s); NCCL needs one GPU per rank");
  }
  const int device = local % ndev;
  CUDA_CHECK(cudaSetDevice(device));
  ncclUniqueId id;
  if (rank == 0) NCCL_CHECK(ncclGetUniqueId(&id));
  Bootstrap::Broadcast(&id, sizeof id, 0);
  ncclComm_t comm = nullptr;
  NCCL_CHECK(ncclCommInitRank(&comm, size, id, rank));
  std::vector<int> world(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) world[static_cast<size_t>(r)] = r;
  return std::make_unique<NcclCommunicator>(comm, "world", std::move(world), device);
}

void RegisterNcclP2PAlgorithms(const NcclP2PAlgorithms& algorithms) { Registered() = algorithms; }

TPBENCH_REGISTER_BACKEND("nccl", /*order=*/2, CreateNcclWorld);

}  // namespace tpbench
