// comm/nccl/nccl_test.cc: the nccl backend on one rank (NCCL refuses two ranks on one GPU):
// every collective on device memory with small integers (exact in every dtype), the number of
// wrong elements counted and required to be 0; a split; CUDA-event durations; the payload
// counters. The NCCL transport of tpbench's algorithms (nccl_transport.h) on one rank: its
// device Reduce against comm/reduce.h for every dtype x op (bit for bit), the avg division,
// Copy, messages to itself (and an unmatched one refused), and the communicator running a
// registered algorithm by name. Without a GPU the test reports itself skipped
// (comm/cuda/gpu_test.h).
#include <cuda_runtime.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "comm/bootstrap.h"
#include "comm/communicator.h"
#include "comm/cuda/device_reduce.h"
#include "comm/cuda/gpu_test.h"
#include "comm/error.h"
#include "comm/nccl/nccl_communicator.h"
#include "comm/nccl/nccl_transport.h"
#include "comm/reduce.h"
#include "comm/types.h"

namespace tpbench {
namespace {

int wrong = 0;

void Expect(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
    ++wrong;
  }
}

// Runs op on device buffers holding in[] and checks the result against want[].
void Check(const std::string& what, Communicator& c, const std::vector<float>& in,
           const std::vector<float>& want,
           const std::function<WorkPtr(Communicator&, float*, float*)>& op) {
  float *d_in = nullptr, *d_out = nullptr;
  cudaMalloc(&d_in, in.size() * sizeof(float) + 4);
  cudaMalloc(&d_out, want.size() * sizeof(float) + 4);
  cudaMemcpy(d_in, in.data(), in.size() * sizeof(float), cudaMemcpyHostToDevice);
  cudaMemset(d_out, 0, want.size() * sizeof(float));
  WorkPtr w = op(c, d_in, d_out);
  w->Wait();
  std::vector<float> got(want.size());
  cudaMemcpy(got.data(), d_out, got.size() * sizeof(float), cudaMemcpyDeviceToHost);
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) bad += got[i] != want[i];
  Expect(bad == 0, what + ": #wrong " + std::to_string(bad));
  Expect(w->DurationUs() > 0, what + ": no CUDA-event duration");
  std::printf("%-16s #wrong %d  %.1f us\n", what.c_str(), bad, w->DurationUs());
  cudaFree(d_in);
  cudaFree(d_out);
}

// Host bytes <-> a device buffer.
struct Dev {
  explicit Dev(const std::vector<char>& h) : bytes(h.size()) {
    cudaMalloc(&p, bytes + 1);
    cudaMemcpy(p, h.data(), bytes, cudaMemcpyHostToDevice);
  }
  ~Dev() { cudaFree(p); }
  std::vector<char> Get() const {
    std::vector<char> h(bytes);
    cudaMemcpy(h.data(), p, bytes, cudaMemcpyDeviceToHost);
    return h;
  }
  void* p = nullptr;
  size_t bytes;
};

// n elements of t: values in [-4, 4) in steps of 1/8 (integers for integer dtypes), seeded.
std::vector<char> Values(DataType t, size_t n, int seed) {
  std::vector<char> h(n * DataTypeSize(t));
  const bool integral =
      t == DataType::kI8 || t == DataType::kU8 || t == DataType::kI32 || t == DataType::kI64;
  for (size_t i = 0; i < n; ++i) {
    const int k = static_cast<int>((i * 37 + static_cast<size_t>(seed) * 11) % 64);
    double v = integral ? k : (k - 32) / 8.0;
    if (t == DataType::kU8 && v < 0) v = -v;
    StoreFromDouble(h.data(), i, t, v);
  }
  return h;
}

// The transport's device Reduce (and DeviceDivide) against the host's, bit for bit.
void CheckReductions(NcclTransport& t, cudaStream_t s) {
  const size_t n = 1000;
  for (int ti = 0; ti < kNumDataTypes; ++ti) {
    const DataType dt = static_cast<DataType>(ti);
    const std::vector<char> a = Values(dt, n, 1), b = Values(dt, n, 2);
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kProd, ReduceOp::kMin, ReduceOp::kMax}) {
      std::vector<char> want(a.size());
      ReduceInto(want.data(), a.data(), b.data(), n, dt, op);
      Dev da(a), db(b), out(std::vector<char>(a.size(), 0));
      t.Reduce(out.p, da.p, db.p, n, dt, op);
      t.Reduce(da.p, da.p, db.p, n, dt, op, /*streaming=*/true);  // in place
      cudaStreamSynchronize(s);
      const std::string what = std::string("reduce ") + DataTypeName(dt) + " " + ReduceOpName(op);
      Expect(out.Get() == want, what + " differs from comm/reduce.h");
      Expect(da.Get() == want, what + " (in place) differs from comm/reduce.h");
    }
    std::vector<char> want = a;
    DivideForAvg(want.data(), n, dt, 3);
    Dev d(a);
    Expect(DeviceDivide(d.p, n, ti, 3, s) == 0, "DeviceDivide launch");
    cudaStreamSynchronize(s);
    Expect(d.Get() == want, std::string("divide ") + DataTypeName(dt) + " differs from host");
  }
}

// Copy and messages to this rank itself (receive first, send first, unmatched).
void CheckTransportMoves(NcclTransport& t, cudaStream_t s) {
  const std::vector<char> v = Values(DataType::kF32, 64, 3);
  const std::vector<char> zero(v.size(), 0);
  Dev src(v), a(zero), b(zero), c(zero);
  t.BeginOp(TransportOp{});
  t.Copy(a.p, src.p, v.size());
  Request r[2] = {t.Irecv(b.p, v.size(), 0, 0), t.Isend(src.p, v.size(), 0, 0)};
  t.WaitAll(r, 2);
  Request q[2] = {t.Isend(src.p, v.size(), 0, 0), t.Irecv(c.p, v.size(), 0, 0)};
  t.WaitAll(q, 2);
  t.EndOp();
  cudaStreamSynchronize(s);
  Expect(a.Get() == v && b.Get() == v && c.Get() == v, "copy / messages to itself");
  bool refused = false;
  t.BeginOp(TransportOp{});
  t.Isend(src.p, v.size(), 0, 0);  // never received
  try {
    t.EndOp();
  } catch (const Error& e) {
    refused = e.code() == ExitCode::kBackend;
  }
  Expect(refused, "an unmatched message to itself is refused at the op's end");
}

// A registered algorithm through the communicator: out = in + in on device, by name.
void CheckRegisteredAlgorithm(Communicator& c) {
  NcclP2PAlgorithms algs;
  algs.names = [](OpKind k) {
    return k == OpKind::kAllReduce ? std::vector<std::string>{"test_twice"}
                                   : std::vector<std::string>{};
  };
  algs.run = [](P2P& p, const CollArgs& a, const std::string&) {
    p.Reduce(a.recv, a.send, a.send, a.count, a.dtype, a.op);
  };
  RegisterNcclP2PAlgorithms(algs);
  const std::vector<std::string> names = c.Algorithms(OpKind::kAllReduce);
  Expect(names.size() == 3 && names[2] == "test_twice", "Algorithms() offers test_twice");
  const std::vector<float> v = {1, 2, 3, 4, 5, 6, 7, 8}, twice = {2, 4, 6, 8, 10, 12, 14, 16};
  c.ResetCounters();
  OpOptions o;
  o.algo = "test_twice";
  Check("alg test_twice", c, v, twice, [&](Communicator& k, float* i, float* out) {
    return k.AllReduce(i, out, v.size(), DataType::kF32, ReduceOp::kSum, o);
  });
  Check("alg avg", c, v, twice, [&](Communicator& k, float* i, float* out) {
    return k.AllReduce(i, out, v.size(), DataType::kF32, ReduceOp::kAvg, o);
  });
  Expect(c.counters().measured, "counters measured after a tpbench algorithm");
  Expect(c.counters().Get(OpKind::kAllReduce).bytes == 0,
         "no bytes counted: one rank sends only to itself");
  c.Barrier()->Wait();  // native (a one-element ncclAllReduce)
  Expect(!c.counters().measured, "counters not measured after a native op");
  bool refused = false;
  o.algo = "no_such";
  try {
    c.AllReduce(nullptr, nullptr, 0, DataType::kF32, ReduceOp::kSum, o);
  } catch (const Error& e) {
    refused = e.code() == ExitCode::kUsage;
  }
  Expect(refused, "an unknown algorithm is a usage error");
}

void CheckTransport(Communicator& world) {
  cudaStream_t s = nullptr;
  cudaStreamCreate(&s);
  {
    NcclTransport t(nullptr, 0, 1, {0}, s);  // one rank: no pair communicators
    CheckReductions(t, s);
    CheckTransportMoves(t, s);
  }
  cudaStreamDestroy(s);
  CheckRegisteredAlgorithm(world);
}

int Run() {
  std::unique_ptr<Communicator> world = CreateNcclWorld();
  Communicator& c = *world;
  Expect(c.size() == 1 && c.rank() == 0, "one rank");
  const std::vector<float> v = {1, 2, 3, 4, 5, 6, 7, 8};
  const size_t n = v.size();
  const DataType f = DataType::kF32;
  Check("all_reduce", c, v, v, [&](Communicator& k, float* i, float* o) {
    return k.AllReduce(i, o, n, f, ReduceOp::kSum);
  });
  Check("all_gather", c, v, v,
        [&](Communicator& k, float* i, float* o) { return k.AllGather(i, o, n, f); });
  Check("reduce_scatter", c, v, v, [&](Communicator& k, float* i, float* o) {
    return k.ReduceScatter(i, o, n, f, ReduceOp::kSum);
  });
  Check("broadcast", c, v, v,
        [&](Communicator& k, float* i, float* o) { return k.Broadcast(i, o, n, f, 0); });
  Check("reduce", c, v, v, [&](Communicator& k, float* i, float* o) {
    return k.Reduce(i, o, n, f, ReduceOp::kSum, 0);
  });
  Check("all_to_all", c, v, v,
        [&](Communicator& k, float* i, float* o) { return k.AllToAll(i, o, n, f); });
  Check("sendrecv", c, v, v,
        [&](Communicator& k, float* i, float* o) { return k.SendRecv(i, 0, o, 0, n, f); });
  Check("all_reduce avg", c, v, v, [&](Communicator& k, float* i, float* o) {
    return k.AllReduce(i, o, n, f, ReduceOp::kAvg);
  });
  c.Barrier()->Wait();
  Expect(c.counters().Get(OpKind::kAllReduce).msgs == 2, "all_reduce counted twice");
  std::unique_ptr<Communicator> sub = c.Split(0, 0);
  Expect(sub && sub->size() == 1 && sub->world_ranks() == std::vector<int>{0}, "split");
  if (sub) {
    Check("split all_reduce", *sub, v, v, [&](Communicator& k, float* i, float* o) {
      return k.AllReduce(i, o, n, f, ReduceOp::kSum);
    });
  }
  CheckTransport(c);
  std::printf(wrong ? "FAILED\n" : "OK\n");
  return wrong ? 1 : 0;
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  if (tpbench::SkipWithoutGpu("nccl_test")) return 0;
  tpbench::Bootstrap::Init(&argc, &argv);
  const int rc = tpbench::Run();
  tpbench::Bootstrap::Finalize();
  return rc;
}
