// layers/device_neutral_test.cc: the device-neutral contract on a host-only machine.
// - Tensors of a device memory type allocate, zero and copy only through that type's
//   MemoryOps (a fake "device" here: host memory behind counting ops), so column slices,
//   SetCols, CopyFrom and ToMemory work on device tensors; element access stays host-only.
// - The layers ask the communicator which algorithms it offers (never its backend's name).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "comm/error.h"
#include "layers/scheme.h"
#include "layers/tensor.h"
#include "layers/tp1d/tp1d.h"

namespace tpbench {
namespace {

// Host memory posing as device memory; counts every call.
class FakeDeviceOps : public MemoryOps {
 public:
  void* Allocate(size_t bytes) override {
    ++allocs;
    void* p = std::aligned_alloc(64, bytes);
    std::memset(p, 0, bytes);
    return p;
  }
  void Free(void* p) override {
    ++frees;
    std::free(p);
  }
  void SetZero(void* p, size_t bytes) override {
    ++zeros;
    std::memset(p, 0, bytes);
  }
  void Copy2D(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
              size_t height) override {
    ++copies;
    for (size_t i = 0; i < height; ++i) {
      std::memcpy(static_cast<char*>(dst) + i * dpitch, static_cast<const char*>(src) + i * spitch,
                  width);
    }
  }
  int allocs = 0, frees = 0, zeros = 0, copies = 0;
};

TEST(DeviceNeutral, DeviceTensorsGoThroughTheirMemoryOps) {
  EXPECT_THROW(Tensor({2}, DataType::kF32, MemoryType::kCuda), Error);  // nothing registered
  static FakeDeviceOps ops;
  RegisterMemoryOps(MemoryType::kCuda, &ops);
  Tensor h({4, 6}, DataType::kF64);
  h.FillUniform(5, -1, 1);
  {
    const Tensor d = h.ToMemory(MemoryType::kCuda);
    EXPECT_EQ(d.memory(), MemoryType::kCuda);
    EXPECT_EQ(ops.allocs, 1);
    EXPECT_EQ(ops.copies, 1);
    EXPECT_THROW(d.Get(0), Error);         // element access is host-only
    const Tensor cols = d.CopyCols(1, 4);  // a device copy, by Copy2D
    EXPECT_EQ(cols.memory(), MemoryType::kCuda);
    EXPECT_EQ(ops.copies, 2);
    EXPECT_EQ(MaxAbsError(cols.ToMemory(MemoryType::kHost), h.CopyCols(1, 4)), 0.0);
    Tensor d2 = d.Clone();
    d2.Zero();
    EXPECT_GE(ops.zeros, 1);
    d2.SetCols(1, cols);
    Tensor want({4, 6}, DataType::kF64);
    want.SetCols(1, h.CopyCols(1, 4));
    EXPECT_EQ(MaxAbsError(d2.ToMemory(MemoryType::kHost), want), 0.0);
    // A slice of a device tensor, as the schemes shard parameters.
    const Tensor region = CopyRegion(d, Rect{1, 3, 2, 5});
    EXPECT_EQ(region.memory(), MemoryType::kCuda);
    EXPECT_EQ(MaxAbsError(region.ToMemory(MemoryType::kHost), CopyRegion(h, Rect{1, 3, 2, 5})),
              0.0);
  }
  EXPECT_EQ(ops.allocs, ops.frees);  // every device tensor freed through the ops
}

// A communicator that only answers Algorithms(): enough for the algorithm choice.
class OffersOnly : public Communicator {
 public:
  OffersOnly(std::string backend, std::vector<std::string> algos)
      : backend_(std::move(backend)), algos_(std::move(algos)) {}
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return backend_; }
  std::string name() const override { return "world"; }
  const std::vector<int>& world_ranks() const override { return ranks_; }
  std::unique_ptr<Communicator> Split(int, int) override { return nullptr; }
  WorkPtr AllReduce(const void*, void*, size_t, DataType, ReduceOp, const OpOptions&) override {
    return nullptr;
  }
  WorkPtr AllGather(const void*, void*, size_t, DataType, const OpOptions&) override {
    return nullptr;
  }
  WorkPtr ReduceScatter(const void*, void*, size_t, DataType, ReduceOp, const OpOptions&) override {
    return nullptr;
  }
  WorkPtr Broadcast(const void*, void*, size_t, DataType, int, const OpOptions&) override {
    return nullptr;
  }
  WorkPtr Reduce(const void*, void*, size_t, DataType, ReduceOp, int, const OpOptions&) override {
    return nullptr;
  }
  WorkPtr AllToAll(const void*, void*, size_t, DataType, const OpOptions&) override {
    return nullptr;
  }
  WorkPtr SendRecv(const void*, int, void*, int, size_t, DataType, const OpOptions&) override {
    return nullptr;
  }
  WorkPtr Send(const void*, size_t, DataType, int, const OpOptions&) override { return nullptr; }
  WorkPtr Recv(void*, size_t, DataType, int, const OpOptions&) override { return nullptr; }
  WorkPtr Barrier(const OpOptions&) override { return nullptr; }
  WorkPtr Run(const CollArgs&, const OpOptions&) override { return nullptr; }
  const Counters& counters() const override { return counters_; }
  void ResetCounters() override {}
  void set_timeout(std::chrono::milliseconds) override {}
  std::chrono::milliseconds timeout() const override { return std::chrono::milliseconds(1); }
  std::vector<std::string> Algorithms(OpKind) const override { return algos_; }

 private:
  std::string backend_;
  std::vector<std::string> algos_;
  std::vector<int> ranks_ = {0};
  Counters counters_;
};

TEST(DeviceNeutral, AlgorithmsAreAskedOfTheCommunicator) {
  // By what is offered, whatever the backend is called.
  const OffersOnly library("mpi", {"auto", "native"}), ours("mpi", {"auto", "ring", "binomial"});
  const OffersOnly device("nccl", {"auto", "native"}), renamed("x", {"auto", "ring", "binomial"});
  EXPECT_EQ(Tp1dAlgorithm(library), "auto");
  EXPECT_EQ(Tp1dAlgorithm(device), "auto");
  EXPECT_EQ(Tp1dAlgorithm(ours), "ring");
  EXPECT_EQ(Tp1dAlgorithm(renamed), "ring");
  EXPECT_EQ(SchemeAlgorithm(library, OpKind::kAllReduce), "auto");
  EXPECT_EQ(SchemeAlgorithm(ours, OpKind::kAllReduce), "ring");
  EXPECT_EQ(SchemeAlgorithm(ours, OpKind::kBroadcast), "binomial");
  EXPECT_EQ(SchemeAlgorithm(device, OpKind::kReduce), "auto");
  // nccl also offers tpbench's algorithms over its point-to-point: the layers still run the
  // library's own collectives.
  const OffersOnly both("nccl", {"auto", "native", "ring", "binomial"});
  EXPECT_EQ(Tp1dAlgorithm(both), "auto");
  EXPECT_EQ(SchemeAlgorithm(both, OpKind::kAllReduce), "auto");
  EXPECT_EQ(SchemeAlgorithm(both, OpKind::kBroadcast), "auto");
}

}  // namespace
}  // namespace tpbench
