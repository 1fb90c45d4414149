#include "comm/mpi/mpi_communicator.h"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "comm/bootstrap.h"
#include "comm/comm_base.h"
#include "comm/error.h"
#include "comm/reduce.h"

namespace tpbench {
namespace {

constexpr int kSendRecvTag = 0x7470;  // "tp"

bool MpiAlive() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

std::string MpiErrorString(int rc) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, buf, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(rc);
  return std::string(buf, static_cast<size_t>(len));
}

// ---- f16 / bf16 reductions ---------------------------------------------------------------

// MPI calls fn(in, inout, len, type) for inout[i] = in[i] op inout[i]; every op here is
// commutative, so the operand order does not matter.
template <DataType T, ReduceOp O>
void HalfReduce(void* in, void* inout, int* len, MPI_Datatype* /*type*/) {
  ReduceInto(inout, inout, in, static_cast<size_t>(*len), T, O);
}

template <DataType T>
MPI_User_function* HalfFn(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return &HalfReduce<T, ReduceOp::kSum>;
    case ReduceOp::kProd: return &HalfReduce<T, ReduceOp::kProd>;
    case ReduceOp::kMin: return &HalfReduce<T, ReduceOp::kMin>;
    case ReduceOp::kMax: return &HalfReduce<T, ReduceOp::kMax>;
    case ReduceOp::kAvg: break;
  }
  return nullptr;
}

constexpr int kNumRealOps = 4;  // sum, prod, min, max (avg is sum then divide, in CommBase)

// ---- watchdog ----------------------------------------------------------------------------

class MpiCommunicator;

// One background thread per process. An op stores its deadline and description under a mutex
// (no wake-up, no hand-off); the thread sleeps until the deadline of the op in flight, or for one
// timeout period when idle, so it wakes about once per timeout and never spins. An op that
// outlives its deadline ends the process: a blocking MPI call cannot be cancelled.
class Watchdog {
 public:
  Watchdog() : thread_([this] { Loop(); }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // describe and world_ranks must stay valid until End() (they belong to the communicator
  // running the op); describe is called only if the op is slow (never on the fast path).
  void Begin(Clock::time_point deadline, std::chrono::milliseconds timeout,
             std::function<std::string()> describe, const std::vector<int>* world_ranks) {
    bool wake;
    {
      std::lock_guard<std::mutex> l(mu_);
      active_ = true;
      noted_ = false;
      begin_ = Clock::now();
      deadline_ = deadline;
      timeout_ = timeout;
      describe_ = std::move(describe);
      world_ranks_ = world_ranks;
      // Only when the thread sleeps past this deadline (the first op after a shorter timeout).
      wake = deadline < wake_at_;
    }
    if (wake) cv_.notify_one();
  }

  void End() {
    std::lock_guard<std::mutex> l(mu_);
    active_ = false;
    if (noted_) ClearInFlight();
  }

 private:
  // Wakes every kNotePeriod: an op in flight longer than that is noted for the SIGTERM handler
  // (comm/bootstrap.h), so a launcher tear-down reports it; at the deadline the process ends.
  static constexpr std::chrono::milliseconds kNotePeriod{500};
  void Loop() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      const Clock::time_point now = Clock::now();
      if (active_ && now >= deadline_) Fire();
      if (active_ && !noted_ && now - begin_ >= kNotePeriod) {
        SetInFlight(describe_());
        noted_ = true;
      }
      wake_at_ = std::min(active_ ? deadline_ : now + timeout_, now + kNotePeriod);
      cv_.wait_until(l, wake_at_);
    }
  }

  [[noreturn]] void Fire() {
    std::string ranks;
    const size_t n = world_ranks_->size();
    const size_t shown = n > 64 ? 64 : n;
    for (size_t i = 0; i < shown; ++i) {
      if (i) ranks += ", ";
      ranks += std::to_string((*world_ranks_)[i]);
    }
    if (shown < n) ranks += ", ... (" + std::to_string(n) + " in all)";
    std::fprintf(stderr,
                 "tpbench: error: rank %d: timeout after %g s in %s: the MPI library does not "
                 "report which peers are missing; the group holds world ranks %s\n",
                 Bootstrap::rank(), static_cast<double>(timeout_.count()) / 1000.0,
                 describe_().c_str(), ranks.c_str());
    std::fflush(stderr);
    std::fflush(stdout);
    _exit(static_cast<int>(ExitCode::kTimeout));
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool active_ = false;
  Clock::time_point deadline_{};
  Clock::time_point wake_at_ = Clock::time_point::max();
  std::chrono::milliseconds timeout_ = DefaultTimeout();
  bool noted_ = false;  // SetInFlight done for the op in flight
  Clock::time_point begin_{};
  std::function<std::string()> describe_;
  const std::vector<int>* world_ranks_ = nullptr;
  std::thread thread_;  // last: starts once the fields above exist
};

// ---- per-process state shared by the world and its splits --------------------------------

class MpiShared {
 public:
  MpiShared() {
    Check(MPI_Type_contiguous(2, MPI_BYTE, &f16_), "MPI_Type_contiguous(f16)");
    Check(MPI_Type_commit(&f16_), "MPI_Type_commit(f16)");
    Check(MPI_Type_contiguous(2, MPI_BYTE, &bf16_), "MPI_Type_contiguous(bf16)");
    Check(MPI_Type_commit(&bf16_), "MPI_Type_commit(bf16)");
    const ReduceOp ops[kNumRealOps] = {ReduceOp::kSum, ReduceOp::kProd, ReduceOp::kMin,
                                       ReduceOp::kMax};
    for (int i = 0; i < kNumRealOps; ++i) {
      Check(MPI_Op_create(HalfFn<DataType::kF16>(ops[i]), 1, &f16_ops_[i]), "MPI_Op_create(f16)");
      Check(MPI_Op_create(HalfFn<DataType::kBF16>(ops[i]), 1, &bf16_ops_[i]),
            "MPI_Op_create(bf16)");
    }
  }
  ~MpiShared() {
    if (!MpiAlive()) return;
    for (int i = 0; i < kNumRealOps; ++i) {
      MPI_Op_free(&f16_ops_[i]);
      MPI_Op_free(&bf16_ops_[i]);
    }
    MPI_Type_free(&f16_);
    MPI_Type_free(&bf16_);
  }
  MpiShared(const MpiShared&) = delete;
  MpiShared& operator=(const MpiShared&) = delete;

  MPI_Datatype Type(DataType t) const {
    switch (t) {
      case DataType::kF32: return MPI_FLOAT;
      case DataType::kF64: return MPI_DOUBLE;
      case DataType::kF16: return f16_;
      case DataType::kBF16: return bf16_;
      case DataType::kI8: return MPI_INT8_T;
      case DataType::kU8: return MPI_UINT8_T;
      case DataType::kI32: return MPI_INT32_T;
      case DataType::kI64: return MPI_INT64_T;
    }
    TP_CHECK_MSG(false, "unknown dtype");
    return MPI_DATATYPE_NULL;
  }

  MPI_Op Op(DataType t, ReduceOp op) const {
    const int i = static_cast<int>(op);
    TP_CHECK_MSG(i >= 0 && i < kNumRealOps, "avg must be mapped to sum before the mpi backend");
    if (t == DataType::kF16) return f16_ops_[i];
    if (t == DataType::kBF16) return bf16_ops_[i];
    static const MPI_Op kBuiltin[kNumRealOps] = {MPI_SUM, MPI_PROD, MPI_MIN, MPI_MAX};
    return kBuiltin[i];
  }

  Watchdog& watchdog() { return watchdog_; }

  static void Check(int rc, const char* what) {
    if (rc != MPI_SUCCESS) throw BackendError(std::string(what) + " failed: " + MpiErrorString(rc));
  }

 private:
  MPI_Datatype f16_ = MPI_DATATYPE_NULL, bf16_ = MPI_DATATYPE_NULL;
  MPI_Op f16_ops_[kNumRealOps], bf16_ops_[kNumRealOps];
  Watchdog watchdog_;
};

// ---- the communicator --------------------------------------------------------------------

std::vector<int> WorldRanksOf(MPI_Comm comm) {
  int n = 0;
  MPI_Comm_size(comm, &n);
  MPI_Group group, world;
  MPI_Comm_group(comm, &group);
  MPI_Comm_group(MPI_COMM_WORLD, &world);
  std::vector<int> in(static_cast<size_t>(n)), out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) in[static_cast<size_t>(i)] = i;
  MpiShared::Check(MPI_Group_translate_ranks(group, n, in.data(), world, out.data()),
                   "MPI_Group_translate_ranks");
  MPI_Group_free(&group);
  MPI_Group_free(&world);
  return out;
}

int RankOf(MPI_Comm c) {
  int r = 0;
  MPI_Comm_rank(c, &r);
  return r;
}
int SizeOf(MPI_Comm c) {
  int s = 0;
  MPI_Comm_size(c, &s);
  return s;
}

class MpiCommunicator : public CommBase {
 public:
  // Takes ownership of comm.
  MpiCommunicator(MPI_Comm comm, std::string name, std::shared_ptr<MpiShared> shared,
                  std::shared_ptr<Executor> executor)
      : CommBase(RankOf(comm), SizeOf(comm), std::move(name), WorldRanksOf(comm),
                 std::move(executor)),
        comm_(comm),
        shared_(std::move(shared)) {
    counters_.measured = false;  // see the header: Open MPI 4.1.4 exposes no usable counts
  }

  ~MpiCommunicator() override {
    executor()->RunInline([] {});  // nothing queued may still use comm_
    if (comm_ != MPI_COMM_NULL && MpiAlive()) MPI_Comm_free(&comm_);
  }

  std::string backend() const override { return "mpi"; }

  std::vector<std::string> Algorithms(OpKind) const override { return {"auto", "native"}; }

  std::unique_ptr<Communicator> Split(int color, int key) override {
    std::unique_ptr<Communicator> out;
    executor()->RunInline([&] {
      const std::string what = "split(color=" + std::to_string(color) +
                               ", key=" + std::to_string(key) + ") on group '" + name() + "' (" +
                               std::to_string(size()) + " ranks, this is rank " +
                               std::to_string(rank()) + ")";
      MPI_Comm sub = MPI_COMM_NULL;
      {
        const std::chrono::milliseconds t = timeout();
        InFlight guard(
            shared_->watchdog(), Clock::now() + t, t, [&what] { return what; }, &world_ranks());
        MpiShared::Check(MPI_Comm_split(comm_, color < 0 ? MPI_UNDEFINED : color, key, &sub),
                         "MPI_Comm_split");
      }
      if (sub == MPI_COMM_NULL) return;
      MPI_Comm_set_errhandler(sub, MPI_ERRORS_RETURN);
      auto c = std::make_unique<MpiCommunicator>(
          sub, name() + "/split(color=" + std::to_string(color) + ")", shared_, executor());
      c->set_timeout(timeout());
      out = std::move(c);
    });
    return out;
  }

 protected:
  void CheckAlgorithm(OpKind kind, const std::string& algo) const override {
    if (algo == "auto" || algo == "native") return;
    throw UsageError("backend mpi: unknown algorithm '" + algo + "' for " + OpKindName(kind) +
                     "; valid: auto, native");
  }

  void Execute(const CollArgs& a, const std::string& /*algo*/) override {
    if (a.count > static_cast<size_t>(INT_MAX)) {
      throw UsageError(std::string("backend mpi: ") + OpKindName(a.kind) + " of " +
                       std::to_string(a.count) + " elements exceeds MPI's int count limit (" +
                       std::to_string(INT_MAX) + "); split the op or use another backend");
    }
    const int n = static_cast<int>(a.count);
    const MPI_Datatype dt = shared_->Type(a.dtype);
    const size_t block = a.count * a.elem_size();
    const bool in_place = a.in_place();
    int rc = MPI_SUCCESS;
    const char* call = "";

    InFlight guard(
        shared_->watchdog(), deadline(), timeout(), [this] { return current_op(); },
        &world_ranks());
    switch (a.kind) {
      case OpKind::kAllReduce:
        call = "MPI_Allreduce";
        rc = MPI_Allreduce(in_place ? MPI_IN_PLACE : a.send, a.recv, n, dt,
                           shared_->Op(a.dtype, a.op), comm_);
        break;
      case OpKind::kAllGather:
        call = "MPI_Allgather";
        rc = MPI_Allgather(in_place ? MPI_IN_PLACE : a.send, n, dt, a.recv, n, dt, comm_);
        break;
      case OpKind::kReduceScatter: {
        call = "MPI_Reduce_scatter_block";
        if (in_place) {
          // MPI_IN_PLACE takes the input from recvbuf (the whole send buffer) and leaves this
          // rank's block at its front; NCCL's convention wants it at send + rank*count.
          char* buf = static_cast<char*>(const_cast<void*>(a.send));
          rc =
              MPI_Reduce_scatter_block(MPI_IN_PLACE, buf, n, dt, shared_->Op(a.dtype, a.op), comm_);
          if (rc == MPI_SUCCESS && a.rank != 0 && block) std::memcpy(a.recv, buf, block);
        } else {
          rc = MPI_Reduce_scatter_block(a.send, a.recv, n, dt, shared_->Op(a.dtype, a.op), comm_);
        }
        break;
      }
      case OpKind::kBroadcast:
        call = "MPI_Bcast";
        if (a.rank == a.root && !in_place && block) std::memcpy(a.recv, a.send, block);
        rc = MPI_Bcast(a.recv, n, dt, a.root, comm_);
        break;
      case OpKind::kReduce:
        call = "MPI_Reduce";
        rc = MPI_Reduce(a.rank == a.root && in_place ? MPI_IN_PLACE : a.send, a.recv, n, dt,
                        shared_->Op(a.dtype, a.op), a.root, comm_);
        break;
      case OpKind::kAllToAll:
        call = "MPI_Alltoall";
        rc = MPI_Alltoall(in_place ? MPI_IN_PLACE : a.send, n, dt, a.recv, n, dt, comm_);
        break;
      case OpKind::kSendRecv:
        if (a.peer_send >= 0 && a.peer_recv >= 0) {
          if (a.send == a.recv) {
            call = "MPI_Sendrecv_replace";
            rc = MPI_Sendrecv_replace(a.recv, n, dt, a.peer_send, kSendRecvTag, a.peer_recv,
                                      kSendRecvTag, comm_, MPI_STATUS_IGNORE);
          } else {
            call = "MPI_Sendrecv";
            rc = MPI_Sendrecv(a.send, n, dt, a.peer_send, kSendRecvTag, a.recv, n, dt, a.peer_recv,
                              kSendRecvTag, comm_, MPI_STATUS_IGNORE);
          }
        } else if (a.peer_send >= 0) {
          call = "MPI_Send";
          rc = MPI_Send(a.send, n, dt, a.peer_send, kSendRecvTag, comm_);
        } else if (a.peer_recv >= 0) {
          call = "MPI_Recv";
          rc = MPI_Recv(a.recv, n, dt, a.peer_recv, kSendRecvTag, comm_, MPI_STATUS_IGNORE);
        }
        break;
      case OpKind::kBarrier:
        call = "MPI_Barrier";
        rc = MPI_Barrier(comm_);
        break;
      case OpKind::kInternal: throw UsageError("backend mpi: 'internal' is not an op");
    }
    if (rc != MPI_SUCCESS) {
      throw BackendError(std::string(call) + " failed in " + current_op() + ": " +
                         MpiErrorString(rc));
    }
  }

 private:
  // Marks an op in flight for the watchdog and for the SIGTERM handler (comm/bootstrap.h).
  struct InFlight {
    InFlight(Watchdog& w, Clock::time_point deadline, std::chrono::milliseconds timeout,
             std::function<std::string()> describe, const std::vector<int>* ranks)
        : w_(w) {
      w_.Begin(deadline, timeout, std::move(describe), ranks);
    }
    ~InFlight() { w_.End(); }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
    Watchdog& w_;
  };

  MPI_Comm comm_;
  std::shared_ptr<MpiShared> shared_;
};

}  // namespace

std::unique_ptr<Communicator> CreateMpiWorld() {
  if (!Bootstrap::initialized() || !MpiAlive()) {
    throw UsageError("backend mpi: call Bootstrap::Init before creating the world communicator");
  }
  MPI_Comm world = MPI_COMM_NULL;
  MpiShared::Check(MPI_Comm_dup(MPI_COMM_WORLD, &world), "MPI_Comm_dup(MPI_COMM_WORLD)");
  MPI_Comm_set_errhandler(world, MPI_ERRORS_RETURN);
  return std::make_unique<MpiCommunicator>(world, "world", std::make_shared<MpiShared>(),
                                           std::make_shared<Executor>());
}

}  // namespace tpbench
