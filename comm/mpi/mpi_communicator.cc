#include "comm/mpi/mpi_communicator.h"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "comm/bootstrap.h"
#include "comm/comm_base.h"
#include "comm/error.h"
#include "comm/mpi/mpi_check.h"
#include "comm/reduce.h"
#include "comm/world.h"

namespace tpbench {
namespace {

constexpr int kSendRecvTag = 0x7470;  // "tp"

bool MpiAlive() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
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

// ---- per-process state shared by the world and its splits --------------------------------

class MpiShared {
 public:
  MpiShared() {
    MPI_CHECK(MPI_Type_contiguous(2, MPI_BYTE, &f16_));
    MPI_CHECK(MPI_Type_commit(&f16_));
    MPI_CHECK(MPI_Type_contiguous(2, MPI_BYTE, &bf16_));
    MPI_CHECK(MPI_Type_commit(&bf16_));
    const ReduceOp ops[kNumRealOps] = {ReduceOp::kSum, ReduceOp::kProd, ReduceOp::kMin,
                                       ReduceOp::kMax};
    for (int i = 0; i < kNumRealOps; ++i) {
      MPI_CHECK(MPI_Op_create(HalfFn<DataType::kF16>(ops[i]), 1, &f16_ops_[i]));
      MPI_CHECK(MPI_Op_create(HalfFn<DataType::kBF16>(ops[i]), 1, &bf16_ops_[i]));
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

 private:
  MPI_Datatype f16_ = MPI_DATATYPE_NULL, bf16_ = MPI_DATATYPE_NULL;
  MPI_Op f16_ops_[kNumRealOps], bf16_ops_[kNumRealOps];
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
  MPI_CHECK(MPI_Group_translate_ranks(group, n, in.data(), world, out.data()));
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
    DrainOps();  // nothing queued may still use comm_
    if (comm_ != MPI_COMM_NULL && MpiAlive()) MPI_Comm_free(&comm_);
  }

  std::string backend() const override { return "mpi"; }

  std::vector<std::string> Algorithms(OpKind) const override { return {"auto", "native"}; }

  // A blocking MPI call cannot stop at its deadline: the watch ends the process instead.
  bool EnforcesDeadline() const override { return false; }
  std::string MissingNote() const override {
    std::string ranks;
    const size_t n = world_ranks().size(), shown = std::min<size_t>(n, 64);
    for (size_t i = 0; i < shown; ++i) {
      if (i) ranks += ", ";
      ranks += std::to_string(world_ranks()[i]);
    }
    if (shown < n) ranks += ", ... (" + std::to_string(n) + " in all)";
    return "the MPI library does not report which peers are missing; the group holds world "
           "ranks " +
           ranks;
  }

 protected:
  std::unique_ptr<CommBase> SplitGroup(int color, int key, std::string name) override {
    MPI_Comm sub = MPI_COMM_NULL;
    MPI_CHECK(MPI_Comm_split(comm_, color < 0 ? MPI_UNDEFINED : color, key, &sub));
    if (sub == MPI_COMM_NULL) return nullptr;
    MPI_Comm_set_errhandler(sub, MPI_ERRORS_RETURN);
    return std::make_unique<MpiCommunicator>(sub, std::move(name), shared_, executor());
  }

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
      case OpKind::kReduceScatter:
        call = "MPI_Reduce_scatter_block";
        rc = ReduceScatter(a, n, dt);
        break;
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
      case OpKind::kSendRecv: rc = SendRecv(a, n, dt, &call); break;
      case OpKind::kBarrier:
        call = "MPI_Barrier";
        rc = MPI_Barrier(comm_);
        break;
      case OpKind::kInternal: throw UsageError("backend mpi: 'internal' is not an op");
    }
    if (rc != MPI_SUCCESS) {
      BackendCallFailed(__FILE__, __LINE__, std::string(call) + " in " + current_op(),
                        MpiErrorString(rc));
    }
  }

 private:
  int ReduceScatter(const CollArgs& a, int n, MPI_Datatype dt) {
    if (!a.in_place()) {
      return MPI_Reduce_scatter_block(a.send, a.recv, n, dt, shared_->Op(a.dtype, a.op), comm_);
    }
    // MPI_IN_PLACE takes the input from recvbuf (the whole send buffer) and leaves this rank's
    // block at its front; NCCL's convention wants it at send + rank*count.
    char* buf = static_cast<char*>(const_cast<void*>(a.send));
    const int rc =
        MPI_Reduce_scatter_block(MPI_IN_PLACE, buf, n, dt, shared_->Op(a.dtype, a.op), comm_);
    const size_t block = a.count * a.elem_size();
    if (rc == MPI_SUCCESS && a.rank != 0 && block) std::memcpy(a.recv, buf, block);
    return rc;
  }

  int SendRecv(const CollArgs& a, int n, MPI_Datatype dt, const char** call) {
    if (a.peer_send >= 0 && a.peer_recv >= 0 && a.send == a.recv) {
      *call = "MPI_Sendrecv_replace";
      return MPI_Sendrecv_replace(a.recv, n, dt, a.peer_send, kSendRecvTag, a.peer_recv,
                                  kSendRecvTag, comm_, MPI_STATUS_IGNORE);
    }
    if (a.peer_send >= 0 && a.peer_recv >= 0) {
      *call = "MPI_Sendrecv";
      return MPI_Sendrecv(a.send, n, dt, a.peer_send, kSendRecvTag, a.recv, n, dt, a.peer_recv,
                          kSendRecvTag, comm_, MPI_STATUS_IGNORE);
    }
    if (a.peer_send >= 0) {
      *call = "MPI_Send";
      return MPI_Send(a.send, n, dt, a.peer_send, kSendRecvTag, comm_);
    }
    if (a.peer_recv >= 0) {
      *call = "MPI_Recv";
      return MPI_Recv(a.recv, n, dt, a.peer_recv, kSendRecvTag, comm_, MPI_STATUS_IGNORE);
    }
    return MPI_SUCCESS;
  }

  MPI_Comm comm_;
  std::shared_ptr<MpiShared> shared_;
};

}  // namespace

std::unique_ptr<Communicator> CreateMpiWorld() {
  if (!Bootstrap::initialized() || !MpiAlive()) {
    throw UsageError("backend mpi: call Bootstrap::Init before creating the world communicator");
  }
  MPI_Comm world = MPI_COMM_NULL;
  MPI_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &world));
  MPI_Comm_set_errhandler(world, MPI_ERRORS_RETURN);
  return std::make_unique<MpiCommunicator>(world, "world", std::make_shared<MpiShared>(),
                                           std::make_shared<Executor>());
}

TPBENCH_REGISTER_BACKEND("mpi", /*order=*/1, CreateMpiWorld);

}  // namespace tpbench
