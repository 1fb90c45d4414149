// layers/cuda/cuda_compute_test.cc: every CudaCompute op against HostCompute on random data,
// f32 and f64, within the dtype's tolerance (f32 1e-5, f64 1e-12 of the largest magnitude:
// both accumulate reductions in double); f32 GEMMs on TF32 and f16/bf16 GEMMs against the f32
// host GEMM of the same (rounded) inputs (TF32 5e-3, f16 5e-3, bf16 3e-2). CommStream's
// ordering: the overlap stream waits for the producers, the compute stream does not wait for
// it, and the plain one is the compute stream (spin kernels on mapped host flags). Without a
// GPU the test reports itself skipped (comm/cuda/gpu_test.h).
#include "layers/cuda/cuda_compute.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "comm/cuda/gpu_test.h"
#include "comm/types.h"
#include "layers/cuda/test_kernels.h"
#include "layers/host_compute.h"
#include "layers/tensor.h"

namespace tpbench {
namespace {

double Tol(DataType dt) { return dt == DataType::kF64 ? 1e-12 : 1e-5; }

Tensor Rand(const Shape& s, DataType dt, uint64_t seed, double lo = -1, double hi = 1) {
  Tensor t(s, dt);
  t.FillUniform(seed, lo, hi);
  return t;
}

Tensor Dev(const Tensor& t) { return t.ToMemory(MemoryType::kCuda); }

// Runs op on the host tensors with HostCompute and on device copies with CudaCompute, then
// compares every output (the tensors at indices outs) within tol.
void Compare(const char* what, DataType dt, std::vector<Tensor> host,
             const std::vector<size_t>& outs,
             const std::function<void(Compute&, std::vector<Tensor>&)>& op) {
  HostCompute hc;
  CudaCompute cc;
  std::vector<Tensor> dev;
  for (const Tensor& t : host) dev.push_back(Dev(t));
  op(hc, host);
  op(cc, dev);
  cc.Synchronize();
  for (size_t i : outs) {
    const Tensor got = dev[i].ToMemory(MemoryType::kHost);
    EXPECT_LE(MaxRelError(got, host[i]), Tol(dt))
        << what << " " << DataTypeName(dt) << " output " << i;
  }
}

class CudaComputeTest : public ::testing::TestWithParam<DataType> {};

TEST_P(CudaComputeTest, Gemms) {
  const DataType dt = GetParam();
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const Shape as = ta ? Shape{33, 17} : Shape{17, 33};
      const Shape bs = tb ? Shape{29, 33} : Shape{33, 29};
      Compare("Gemm", dt, {Rand(as, dt, 1), Rand(bs, dt, 2), Rand({17, 29}, dt, 3)}, {2},
              [&](Compute& c, std::vector<Tensor>& t) {
                c.Gemm(ta, tb, 0.5, t[0], t[1], 0.25, &t[2]);
              });
      const int64_t batch = 3;
      const Shape abs = {batch * as[0], as[1]}, bbs = {batch * bs[0], bs[1]};
      Compare("GemmBatched", dt,
              {Rand(abs, dt, 4), Rand(bbs, dt, 5), Rand({batch * 17, 29}, dt, 6)}, {2},
              [&](Compute& c, std::vector<Tensor>& t) {
                c.GemmBatched(batch, ta, tb, 1.0, t[0], t[1], 0.0, &t[2]);
              });
    }
  }
}

TEST_P(CudaComputeTest, Elementwise) {
  const DataType dt = GetParam();
  const Shape s = {37, 300};
  Compare("AddBias", dt, {Rand({300}, dt, 1), Rand(s, dt, 2)}, {1},
          [](Compute& c, std::vector<Tensor>& t) { c.AddBias(t[0], &t[1]); });
  Compare("BiasGrad", dt, {Rand(s, dt, 3), Tensor({300}, dt)}, {1},
          [](Compute& c, std::vector<Tensor>& t) { c.BiasGrad(t[0], &t[1]); });
  Compare("GeluForward", dt, {Rand(s, dt, 4, -4, 4), Tensor(s, dt)}, {1},
          [](Compute& c, std::vector<Tensor>& t) { c.GeluForward(t[0], &t[1]); });
  Compare("GeluBackward", dt, {Rand(s, dt, 5, -4, 4), Rand(s, dt, 6), Tensor(s, dt)}, {2},
          [](Compute& c, std::vector<Tensor>& t) { c.GeluBackward(t[0], t[1], &t[2]); });
  Compare("Add", dt, {Rand(s, dt, 7), Rand(s, dt, 8), Tensor(s, dt)}, {2},
          [](Compute& c, std::vector<Tensor>& t) { c.Add(t[0], t[1], &t[2]); });
  Compare("Axpy", dt, {Rand(s, dt, 9), Rand(s, dt, 10)}, {1},
          [](Compute& c, std::vector<Tensor>& t) { c.Axpy(-0.75, t[0], &t[1]); });
  Compare("ScaledCopy", dt, {Rand(s, dt, 11), Tensor(s, dt)}, {1},
          [](Compute& c, std::vector<Tensor>& t) { c.ScaledCopy(0.125, t[0], &t[1]); });
}

TEST_P(CudaComputeTest, Softmax) {
  const DataType dt = GetParam();
  for (bool causal : {false, true}) {
    const Shape s = {4 * 70, 70};  // 4 [s, s] score matrices; wider rows than one warp
    Compare(causal ? "SoftmaxForward causal" : "SoftmaxForward", dt,
            {Rand(s, dt, 1, -8, 8), Tensor(s, dt)}, {1},
            [&](Compute& c, std::vector<Tensor>& t) { c.SoftmaxForward(t[0], causal, &t[1]); });
  }
  const Shape s = {50, 300};
  Compare("SoftmaxBackward", dt, {Rand(s, dt, 2, 0, 1), Rand(s, dt, 3), Tensor(s, dt)}, {2},
          [](Compute& c, std::vector<Tensor>& t) { c.SoftmaxBackward(t[0], t[1], &t[2]); });
}

TEST_P(CudaComputeTest, LayerNorm) {
  const DataType dt = GetParam();
  const int64_t R = 45, C = 300;
  Compare("LayerNormForward", dt,
          {Rand({R, C}, dt, 1, -2, 3), Rand({C}, dt, 2), Rand({C}, dt, 3), Tensor({R, C}, dt),
           Tensor({R}, dt), Tensor({R}, dt)},
          {3, 4, 5}, [](Compute& c, std::vector<Tensor>& t) {
            c.LayerNormForward(t[0], t[1], t[2], 1e-5, &t[3], &t[4], &t[5]);
          });
  // Backward from the host's forward statistics.
  HostCompute hc;
  Tensor x = Rand({R, C}, dt, 4, -2, 3), g = Rand({C}, dt, 5), b = Rand({C}, dt, 6);
  Tensor y({R, C}, dt), mean({R}, dt), rstd({R}, dt);
  hc.LayerNormForward(x, g, b, 1e-5, &y, &mean, &rstd);
  Compare(
      "LayerNormBackward", dt,
      {x, g, mean, rstd, Rand({R, C}, dt, 7), Tensor({R, C}, dt), Tensor({C}, dt), Tensor({C}, dt)},
      {5, 6, 7}, [](Compute& c, std::vector<Tensor>& t) {
        c.LayerNormBackward(t[0], t[1], t[2], t[3], t[4], &t[5], &t[6], &t[7]);
      });
  // The split-hidden variant (2D, 2.5D, 3D): this rank's 100 of h_total = 300 columns.
  const int64_t h = 300;
  Tensor xs = Rand({R, 100}, dt, 8, -2, 3);
  Compare("LayerNormStats", dt, {xs, Tensor({2, R}, dt)}, {1},
          [](Compute& c, std::vector<Tensor>& t) { c.LayerNormStats(t[0], &t[1]); });
  Tensor stats({2, R}, dt);
  hc.LayerNormStats(xs, &stats);
  hc.ScaledCopy(3.0, stats, &stats);  // as if summed over 3 ranks
  Compare("LayerNormApply", dt,
          {xs, stats, Rand({100}, dt, 9), Rand({100}, dt, 10), Tensor({R, 100}, dt),
           Tensor({R}, dt), Tensor({R}, dt)},
          {4, 5, 6}, [&](Compute& c, std::vector<Tensor>& t) {
            c.LayerNormApply(t[0], t[1], h, 1e-5, t[2], t[3], &t[4], &t[5], &t[6]);
          });
  Compare("LayerNormBackwardStats", dt,
          {x, g, mean, rstd, Rand({R, C}, dt, 11), Tensor({2, R}, dt)}, {5},
          [](Compute& c, std::vector<Tensor>& t) {
            c.LayerNormBackwardStats(t[0], t[1], t[2], t[3], t[4], &t[5]);
          });
  Compare("LayerNormBackwardApply", dt,
          {x, g, mean, rstd, Rand({R, C}, dt, 12), Rand({2, R}, dt, 13), Tensor({R, C}, dt),
           Tensor({C}, dt), Tensor({C}, dt)},
          {6, 7, 8}, [&](Compute& c, std::vector<Tensor>& t) {
            c.LayerNormBackwardApply(t[0], t[1], t[2], t[3], t[4], t[5], 2 * C, &t[6], &t[7],
                                     &t[8]);
          });
}

TEST_P(CudaComputeTest, Heads) {
  const DataType dt = GetParam();
  const int64_t b = 2, s = 5, nh = 3, hd = 4;
  const Shape heads = {b * nh * s, hd};
  Compare(
      "SplitQkvHeads", dt,
      {Rand({b * s, 3 * nh * hd}, dt, 1), Tensor(heads, dt), Tensor(heads, dt), Tensor(heads, dt)},
      {1, 2, 3}, [&](Compute& c, std::vector<Tensor>& t) {
        c.SplitQkvHeads(t[0], b, s, nh, &t[1], &t[2], &t[3]);
      });
  Compare("MergeQkvHeads", dt,
          {Rand(heads, dt, 2), Rand(heads, dt, 3), Rand(heads, dt, 4),
           Tensor({b * s, 3 * nh * hd}, dt)},
          {3}, [&](Compute& c, std::vector<Tensor>& t) {
            c.MergeQkvHeads(t[0], t[1], t[2], b, s, nh, &t[3]);
          });
  Compare("MergeHeads", dt, {Rand(heads, dt, 5), Tensor({b * s, nh * hd}, dt)}, {1},
          [&](Compute& c, std::vector<Tensor>& t) { c.MergeHeads(t[0], b, s, nh, &t[1]); });
  Compare("SplitHeads", dt, {Rand({b * s, nh * hd}, dt, 6), Tensor(heads, dt)}, {1},
          [&](Compute& c, std::vector<Tensor>& t) { c.SplitHeads(t[0], b, s, nh, &t[1]); });
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaComputeTest,
                         ::testing::Values(DataType::kF32, DataType::kF64));

// Reduced-precision GEMMs against the f32 host GEMM of the same rounded inputs.
TEST(CudaComputeLowPrecision, Gemm) {
  struct Case {
    DataType dt;
    bool tf32;
    double tol;
  };
  for (const Case& k : {Case{DataType::kF32, true, 5e-3}, Case{DataType::kF16, false, 5e-3},
                        Case{DataType::kBF16, false, 3e-2}}) {
    const Tensor a = Rand({64, 96}, DataType::kF32, 1).To(k.dt).To(DataType::kF32);
    const Tensor b = Rand({96, 48}, DataType::kF32, 2).To(k.dt).To(DataType::kF32);
    Tensor want({64, 48}, DataType::kF32);
    HostCompute hc;
    hc.Gemm(false, false, 1.0, a, b, 0.0, &want);
    CudaCompute cc(k.tf32);
    const Tensor da = Dev(a.To(k.dt)), db = Dev(b.To(k.dt));
    Tensor dc = cc.NewTensor({64, 48}, k.dt);
    cc.Gemm(false, false, 1.0, da, db, 0.0, &dc);
    cc.Synchronize();
    const Tensor got = dc.ToMemory(MemoryType::kHost).To(DataType::kF32);
    EXPECT_LE(MaxRelError(got, want), k.tol) << DataTypeName(k.dt) << (k.tf32 ? " tf32" : "");
  }
}

// f16/bf16 ops (f32 device copies, one rounding at the end): against HostCompute in f32 on
// the same rounded inputs, within 2 unit roundoffs of the largest magnitude (bf16 2 * 2^-8,
// f16 2 * 2^-11: one output rounding plus f32-vs-double accumulation differences).
class CudaHalfTest : public ::testing::TestWithParam<DataType> {};

// Host: f32 tensors holding values the half dtype represents; device: those values in dt.
void CompareHalf(const char* what, DataType dt, std::vector<Tensor> host,
                 const std::vector<size_t>& outs,
                 const std::function<void(Compute&, std::vector<Tensor>&)>& op) {
  const double tol = dt == DataType::kBF16 ? 2 * 0x1.0p-8 : 2 * 0x1.0p-11;
  HostCompute hc;
  CudaCompute cc;
  std::vector<Tensor> dev;
  for (Tensor& t : host) {
    t = t.To(dt).To(DataType::kF32);
    dev.push_back(Dev(t.To(dt)));
  }
  op(hc, host);
  op(cc, dev);
  cc.Synchronize();
  for (size_t i : outs) {
    const Tensor got = dev[i].ToMemory(MemoryType::kHost);
    EXPECT_EQ(got.dtype(), dt) << what;
    EXPECT_LE(MaxRelError(got.To(DataType::kF32), host[i]), tol)
        << what << " " << DataTypeName(dt) << " output " << i;
  }
}

TEST_P(CudaHalfTest, OpsMatchTheF32HostOnRoundedInputs) {
  const DataType dt = GetParam(), f = DataType::kF32;
  const Shape s = {37, 300};
  CompareHalf("AddBias", dt, {Rand({300}, f, 1), Rand(s, f, 2)}, {1},
              [](Compute& c, std::vector<Tensor>& t) { c.AddBias(t[0], &t[1]); });
  CompareHalf("BiasGrad", dt, {Rand(s, f, 3), Tensor({300}, f)}, {1},
              [](Compute& c, std::vector<Tensor>& t) { c.BiasGrad(t[0], &t[1]); });
  CompareHalf("GeluForward", dt, {Rand(s, f, 4, -4, 4), Tensor(s, f)}, {1},
              [](Compute& c, std::vector<Tensor>& t) { c.GeluForward(t[0], &t[1]); });
  CompareHalf("GeluBackward", dt, {Rand(s, f, 5, -4, 4), Rand(s, f, 6), Tensor(s, f)}, {2},
              [](Compute& c, std::vector<Tensor>& t) { c.GeluBackward(t[0], t[1], &t[2]); });
  CompareHalf("Add (out aliases a)", dt, {Rand(s, f, 7), Rand(s, f, 8)}, {0},
              [](Compute& c, std::vector<Tensor>& t) { c.Add(t[0], t[1], &t[0]); });
  CompareHalf("Axpy", dt, {Rand(s, f, 9), Rand(s, f, 10)}, {1},
              [](Compute& c, std::vector<Tensor>& t) { c.Axpy(-0.75, t[0], &t[1]); });
  CompareHalf("SoftmaxForward causal", dt, {Rand({4 * 70, 70}, f, 11, -8, 8), Tensor({280, 70}, f)},
              {1}, [](Compute& c, std::vector<Tensor>& t) { c.SoftmaxForward(t[0], true, &t[1]); });
  CompareHalf("SoftmaxBackward", dt, {Rand(s, f, 12, 0, 1), Rand(s, f, 13), Tensor(s, f)}, {2},
              [](Compute& c, std::vector<Tensor>& t) { c.SoftmaxBackward(t[0], t[1], &t[2]); });
  const int64_t R = 45, C = 300;
  CompareHalf("LayerNormForward", dt,
              {Rand({R, C}, f, 14, -2, 3), Rand({C}, f, 15), Rand({C}, f, 16), Tensor({R, C}, f),
               Tensor({R}, f), Tensor({R}, f)},
              {3, 4, 5}, [](Compute& c, std::vector<Tensor>& t) {
                c.LayerNormForward(t[0], t[1], t[2], 1e-5, &t[3], &t[4], &t[5]);
              });
  HostCompute hc;  // backward from the host's statistics (CompareHalf rounds them too)
  Tensor x = Rand({R, C}, f, 17, -2, 3).To(dt).To(f), g = Rand({C}, f, 18), b = Rand({C}, f, 19);
  Tensor y({R, C}, f), mean({R}, f), rstd({R}, f);
  hc.LayerNormForward(x, g.To(dt).To(f), b, 1e-5, &y, &mean, &rstd);
  CompareHalf(
      "LayerNormBackward", dt,
      {x, g, mean, rstd, Rand({R, C}, f, 20), Tensor({R, C}, f), Tensor({C}, f), Tensor({C}, f)},
      {5, 6, 7}, [](Compute& c, std::vector<Tensor>& t) {
        c.LayerNormBackward(t[0], t[1], t[2], t[3], t[4], &t[5], &t[6], &t[7]);
      });
  const int64_t bb = 2, ss = 5, nh = 3, hd = 4;
  CompareHalf("SplitQkvHeads", dt,
              {Rand({bb * ss, 3 * nh * hd}, f, 21), Tensor({bb * nh * ss, hd}, f),
               Tensor({bb * nh * ss, hd}, f), Tensor({bb * nh * ss, hd}, f)},
              {1, 2, 3}, [&](Compute& c, std::vector<Tensor>& t) {
                c.SplitQkvHeads(t[0], bb, ss, nh, &t[1], &t[2], &t[3]);
              });
}

INSTANTIATE_TEST_SUITE_P(Halves, CudaHalfTest, ::testing::Values(DataType::kF16, DataType::kBF16),
                         [](const ::testing::TestParamInfo<DataType>& i) {
                           return std::string(DataTypeName(i.param));
                         });

TEST(CudaCompute, DeviceTensorsRoundTrip) {
  const Tensor h = Rand({6, 8}, DataType::kF64, 3);
  const Tensor d = Dev(h);
  EXPECT_EQ(d.memory(), MemoryType::kCuda);
  const Tensor cols = d.CopyCols(2, 5).ToMemory(MemoryType::kHost);
  EXPECT_EQ(MaxAbsError(cols, h.CopyCols(2, 5)), 0.0);
  Tensor back = h.Clone();
  back.Zero();
  back.CopyFrom(d);
  EXPECT_EQ(MaxAbsError(back, h), 0.0);
}

}  // namespace
}  // namespace tpbench

namespace tpbench {
namespace {

// Three flags in mapped host memory, zeroed.
struct Flags {
  Flags() {
    cudaHostAlloc(reinterpret_cast<void**>(&f), 3 * sizeof(int), cudaHostAllocMapped);
    for (int i = 0; i < 3; ++i) f[i] = 0;
  }
  ~Flags() { cudaFreeHost(f); }
  // True once *p == 1 within ms milliseconds (read by the host).
  static bool Becomes(volatile int* p, int ms) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
      if (*p == 1) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return *p == 1;
  }
  int* f = nullptr;
};

TEST(CommStream, OverlapStreamWaitsForProducersOnly) {
  CudaCompute c;
  Flags fl;
  volatile int* f = fl.f;
  // A producer still running: work on the overlap stream must wait for it.
  cuda_test::SpinUntil(fl.f + 0, 1, c.stream());
  Stream s = c.CommStream(/*async=*/true);
  ASSERT_NE(s.handle, c.stream());
  cuda_test::Store(fl.f + 1, 1, s.handle);
  EXPECT_FALSE(Flags::Becomes(f + 1, 200)) << "the overlap stream ran before its producer";
  f[0] = 1;
  EXPECT_TRUE(Flags::Becomes(f + 1, 5000));
  // A "collective" in flight on the overlap stream: compute issued after it runs meanwhile.
  f[0] = 0;
  s = c.CommStream(true);
  cuda_test::SpinUntil(fl.f + 0, 1, s.handle);
  cuda_test::Store(fl.f + 2, 1, c.stream());
  EXPECT_TRUE(Flags::Becomes(f + 2, 5000)) << "the compute stream waited for the collective";
  f[0] = 1;
  c.Synchronize();
}

// The failure the test above exists to catch: a collective on CommStream(false) (the compute
// stream) holds back the compute after it.
TEST(CommStream, PlainStreamIsTheComputeStream) {
  CudaCompute c;
  Flags fl;
  volatile int* f = fl.f;
  Stream s = c.CommStream(/*async=*/false);
  EXPECT_EQ(s.handle, c.stream());
  cuda_test::SpinUntil(fl.f + 0, 1, s.handle);
  cuda_test::Store(fl.f + 2, 1, c.stream());
  EXPECT_FALSE(Flags::Becomes(f + 2, 200));
  f[0] = 1;
  EXPECT_TRUE(Flags::Becomes(f + 2, 5000));
  c.Synchronize();
}

}  // namespace
}  // namespace tpbench

int main(int argc, char** argv) {
  if (tpbench::SkipWithoutGpu("cuda_compute_test")) return 0;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
