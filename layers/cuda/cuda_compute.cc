// layers/cuda/cuda_compute.cc: CudaCompute (cuBLAS + kernels.cu) and the kCuda memory ops.
// See cuda_compute.h. Compiled by the host compiler with the CUDA headers (--config=cuda).
#include "layers/cuda/cuda_compute.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <library_types.h>

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "comm/cuda/cuda_check.h"
#include "comm/error.h"
#include "layers/cuda/kernels.h"

#define CUBLAS_CHECK(call)                                                                      \
  do {                                                                                          \
    cublasStatus_t tp_blas_st_ = (call);                                                        \
    if (tp_blas_st_ != CUBLAS_STATUS_SUCCESS) {                                                 \
      ::tpbench::ThrowCudaError(#call, __FILE__, __LINE__, cublasGetStatusString(tp_blas_st_)); \
    }                                                                                           \
  } while (0)

namespace tpbench {
namespace {

using namespace nominal_flops;  // NOLINT: the per-element costs shared by every backend
namespace k = cuda_kernels;

// kCuda tensors: cudaMalloc'd, zeroed and copied synchronously (cudaMemcpy2D on the legacy
// default stream, which orders after the backends' blocking streams).
class CudaMemoryOps : public MemoryOps {
 public:
  void* Allocate(size_t bytes) override {
    void* p = nullptr;
    CUDA_CHECK(cudaMalloc(&p, bytes));
    CUDA_CHECK(cudaMemset(p, 0, bytes));
    return p;
  }
  void Free(void* p) override { cudaFree(p); }  // no throw from a destructor
  void SetZero(void* p, size_t bytes) override { CUDA_CHECK(cudaMemset(p, 0, bytes)); }
  void Copy2D(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
              size_t height) override {
    if (width == 0 || height == 0) return;
    CUDA_CHECK(cudaMemcpy2D(dst, dpitch, src, spitch, width, height, cudaMemcpyDefault));
  }
};

std::string Sh(const Tensor& t) { return ShapeString(t.shape()); }

[[noreturn]] void Fail(const char* op, const std::string& what) {
  throw UsageError(std::string("compute.") + op + " (cuda): " + what);
}

bool IsF32(const Tensor& t) { return t.dtype() == DataType::kF32; }

// All tensors device, defined, of one dtype; f32/f64 (or also f16/bf16 with halves).
void CheckTensors(const char* op, std::initializer_list<const Tensor*> ts, bool halves = false) {
  const Tensor* first = *ts.begin();
  for (const Tensor* t : ts) {
    if (t == nullptr || !t->defined()) Fail(op, "missing tensor argument");
    if (t->memory() != MemoryType::kCuda) Fail(op, "cuda backend given a non-device tensor");
    const DataType d = t->dtype();
    const bool ok = d == DataType::kF32 || d == DataType::kF64 ||
                    (halves && (d == DataType::kF16 || d == DataType::kBF16));
    if (!ok) Fail(op, std::string("dtype ") + DataTypeName(d) + " not supported");
    if (d != first->dtype()) {
      Fail(op,
           std::string("mixed dtypes ") + DataTypeName(first->dtype()) + " and " + DataTypeName(d));
    }
  }
}

void CheckSameNumel(const char* op, const Tensor& a, const Tensor& b) {
  if (a.numel() != b.numel()) Fail(op, "shape " + Sh(a) + " does not match " + Sh(b));
}

void CheckHeads(const char* op, const Tensor& rows, const Tensor& heads, int64_t b, int64_t s,
                int64_t nh, int64_t parts) {
  if (b <= 0 || s <= 0 || nh <= 0) Fail(op, "b, s and nh must be positive");
  const int64_t hd = heads.cols();
  if (rows.rows() != b * s || rows.cols() != parts * nh * hd || heads.rows() != b * nh * s) {
    Fail(op, "shapes " + Sh(rows) + " and " + Sh(heads) + " do not match b=" + std::to_string(b) +
                 " s=" + std::to_string(s) + " nh=" + std::to_string(nh));
  }
}

template <typename T>
T* P(Tensor* t) {
  return t->data_as<T>();
}
template <typename T>
const T* P(const Tensor& t) {
  return t.data_as<T>();
}

cudaDataType_t CudaType(DataType d) {
  switch (d) {
    case DataType::kF32: return CUDA_R_32F;
    case DataType::kF64: return CUDA_R_64F;
    case DataType::kF16: return CUDA_R_16F;
    case DataType::kBF16: return CUDA_R_16BF;
    default: break;
  }
  throw UsageError(std::string("cuda: no cuBLAS type for ") + DataTypeName(d));
}

CudaMemoryOps* g_ops = nullptr;

bool IsHalf(DataType d) { return d == DataType::kF16 || d == DataType::kBF16; }

// An f32 device copy of a f16/bf16 device tensor (same shape).
Tensor ToF32(const Tensor& t, void* stream) {
  Tensor f(t.shape(), DataType::kF32, MemoryType::kCuda);
  k::HalfToFloat(t.data(), t.dtype() == DataType::kBF16, P<float>(&f), t.numel(), stream);
  return f;
}

// f16/bf16 ops (everything but the GEMMs) run on f32 device copies: every input and output
// (outputs too: AddBias and Axpy accumulate) is converted to f32, run(ins, outs) runs the f32
// op, and the outputs are rounded back (nearest even). So a half op rounds once, at its end,
// as a native kernel computing in f32 would. The copies cost bandwidth (docs/gpu.md).
void ViaF32(void* stream, std::initializer_list<const Tensor*> ins,
            std::initializer_list<Tensor*> outs,
            const std::function<void(std::vector<Tensor>&, std::vector<Tensor>&)>& run) {
  std::vector<Tensor> in32, out32;
  for (const Tensor* t : ins) in32.push_back(ToF32(*t, stream));
  for (Tensor* t : outs) out32.push_back(ToF32(*t, stream));
  run(in32, out32);
  size_t i = 0;
  for (Tensor* t : outs) {
    const Tensor& f = out32[i++];
    k::FloatToHalf(P<float>(f), t->dtype() == DataType::kBF16, t->data(), t->numel(), stream);
  }
}

// True when the op's tensors are f16/bf16 (one dtype, checked): it goes through ViaF32.
bool Halves(const char* op, std::initializer_list<const Tensor*> ts) {
  CheckTensors(op, ts, /*halves=*/true);
  return IsHalf((*ts.begin())->dtype());
}

}  // namespace

void RegisterCudaMemory() {
  static CudaMemoryOps ops;
  if (g_ops == nullptr) {
    g_ops = &ops;
    RegisterMemoryOps(MemoryType::kCuda, g_ops);
  }
}

namespace {
[[maybe_unused]] const bool kRegistered = [] {
  RegisterCudaMemory();
  RegisterCompute("cuda", [] { return std::unique_ptr<Compute>(std::make_unique<CudaCompute>()); });
  RegisterCompute("cuda-tf32",
                  [] { return std::unique_ptr<Compute>(std::make_unique<CudaCompute>(true)); });
  return true;
}();
}  // namespace

CudaCompute::CudaCompute(bool tf32) : tf32_(tf32) {
  RegisterCudaMemory();
  cudaStream_t s = nullptr;
  CUDA_CHECK(cudaStreamCreate(&s));  // blocking: ordered with the legacy stream's copies
  stream_ = s;
  cublasHandle_t h = nullptr;
  const cublasStatus_t st = cublasCreate(&h);
  if (st != CUBLAS_STATUS_SUCCESS) {
    cudaStreamDestroy(s);
    ThrowCudaError("cublasCreate", __FILE__, __LINE__, cublasGetStatusString(st));
  }
  blas_ = h;
  CUBLAS_CHECK(cublasSetStream(h, s));
  CUBLAS_CHECK(cublasSetMathMode(h, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  cudaStream_t cs = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&cs, cudaStreamNonBlocking));
  comm_stream_ = cs;
  cudaEvent_t ev = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
  producers_ = ev;
}

CudaCompute::~CudaCompute() {
  if (comm_stream_) cudaStreamSynchronize(static_cast<cudaStream_t>(comm_stream_));
  if (producers_) cudaEventDestroy(static_cast<cudaEvent_t>(producers_));
  if (comm_stream_) cudaStreamDestroy(static_cast<cudaStream_t>(comm_stream_));
  if (blas_) cublasDestroy(static_cast<cublasHandle_t>(blas_));
  if (stream_) cudaStreamDestroy(static_cast<cudaStream_t>(stream_));
}

Stream CudaCompute::CommStream(bool async) const {
  if (!async) return Stream::Device(stream_);
  // The side stream waits for what the compute stream holds now (the producers of the
  // collective about to be issued); the compute stream never waits for the side stream.
  cudaEvent_t ev = static_cast<cudaEvent_t>(producers_);
  CUDA_CHECK(cudaEventRecord(ev, static_cast<cudaStream_t>(stream_)));
  CUDA_CHECK(cudaStreamWaitEvent(static_cast<cudaStream_t>(comm_stream_), ev, 0));
  return Stream::Device(comm_stream_);
}

Tensor CudaCompute::NewTensor(const Shape& shape, DataType dtype) {
  return Tensor(shape, dtype, MemoryType::kCuda);
}

void CudaCompute::Synchronize() {
  CUDA_CHECK(cudaGetLastError());
  CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream_)));
  CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(comm_stream_)));
}

void CudaCompute::Gemm(bool trans_a, bool trans_b, double alpha, const Tensor& a, const Tensor& b,
                       double beta, Tensor* c) {
  GemmBatched(1, trans_a, trans_b, alpha, a, b, beta, c);
}

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS gets B first.
void CudaCompute::GemmBatched(int64_t batch, bool trans_a, bool trans_b, double alpha,
                              const Tensor& a, const Tensor& b, double beta, Tensor* c) {
  const char* op = batch == 1 ? "Gemm" : "GemmBatched";
  CheckTensors(op, {&a, &b, c}, /*halves=*/true);
  if (batch <= 0 || a.rows() % batch || b.rows() % batch || c->rows() % batch) {
    Fail(op, "rows of " + Sh(a) + ", " + Sh(b) + ", " + Sh(*c) + " not divisible by batch " +
                 std::to_string(batch));
  }
  const int64_t ar = a.rows() / batch, ac = a.cols(), br = b.rows() / batch, bc = b.cols();
  const int64_t m = trans_a ? ac : ar, kk = trans_a ? ar : ac;
  const int64_t kb = trans_b ? bc : br, n = trans_b ? br : bc;
  if (kk != kb || c->rows() / batch != m || c->cols() != n) {
    Fail(op, "op(a) " + std::to_string(m) + "x" + std::to_string(kk) + " times op(b) " +
                 std::to_string(kb) + "x" + std::to_string(n) + " into c " + Sh(*c));
  }
  flops_.gemm += static_cast<uint64_t>(2 * batch * m * n * kk);
  if (m == 0 || n == 0) return;
  cublasHandle_t h = static_cast<cublasHandle_t>(blas_);
  const cublasOperation_t ob = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t oa = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const long long sa = ar * ac, sb = br * bc, sc = m * n;
  const int in = static_cast<int>(n), im = static_cast<int>(m), ik = static_cast<int>(kk);
  const int ldb = static_cast<int>(bc), lda = static_cast<int>(ac), ldc = static_cast<int>(n);
  const int nb = static_cast<int>(batch);
  if (a.dtype() == DataType::kF64) {
    CUBLAS_CHECK(cublasDgemmStridedBatched(h, ob, oa, in, im, ik, &alpha, P<double>(b), ldb, sb,
                                           P<double>(a), lda, sa, &beta, P<double>(c), ldc, sc,
                                           nb));
    return;
  }
  const float fa = static_cast<float>(alpha), fb = static_cast<float>(beta);
  if (IsF32(a)) {
    CUBLAS_CHECK(cublasSgemmStridedBatched(h, ob, oa, in, im, ik, &fa, P<float>(b), ldb, sb,
                                           P<float>(a), lda, sa, &fb, P<float>(c), ldc, sc, nb));
    return;
  }
  // f16 / bf16 storage, f32 accumulation.
  const cudaDataType_t t = CudaType(a.dtype());
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, ob, oa, in, im, ik, &fa, b.data(), t, ldb, sb,
                                          a.data(), t, lda, sa, &fb, c->data(), t, ldc, sc, nb,
                                          CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

// Runs k::FN<float> or k::FN<double> by the dtype of t.

void CudaCompute::AddBias(const Tensor& bias, Tensor* y) {
  if (Halves("AddBias", {&bias, y})) {
    return ViaF32(stream_, {&bias}, {y}, [&](auto& i, auto& o) { AddBias(i[0], &o[0]); });
  }
  CheckTensors("AddBias", {&bias, y});
  if (bias.numel() != y->cols()) Fail("AddBias", "bias " + Sh(bias) + " for y " + Sh(*y));
  if (IsF32(*y)) {
    k::AddBias<float>(P<float>(bias), P<float>(y), y->rows(), y->cols(), stream_);
  } else {
    k::AddBias<double>(P<double>(bias), P<double>(y), y->rows(), y->cols(), stream_);
  }
  flops_.other += kFlopsBias * y->numel();
}

void CudaCompute::BiasGrad(const Tensor& dy, Tensor* dbias) {
  if (Halves("BiasGrad", {&dy, dbias})) {
    return ViaF32(stream_, {&dy}, {dbias}, [&](auto& i, auto& o) { BiasGrad(i[0], &o[0]); });
  }
  CheckTensors("BiasGrad", {&dy, dbias});
  if (dbias->numel() != dy.cols()) Fail("BiasGrad", "dbias " + Sh(*dbias) + " for dy " + Sh(dy));
  if (IsF32(dy)) {
    k::BiasGrad<float>(P<float>(dy), P<float>(dbias), dy.rows(), dy.cols(), stream_);
  } else {
    k::BiasGrad<double>(P<double>(dy), P<double>(dbias), dy.rows(), dy.cols(), stream_);
  }
  flops_.other += kFlopsBias * dy.numel();
}

// The f32/f64 dispatch of the remaining ops: F(float) or F(double) where F is a generic lambda
// called with a null pointer of the element type.
template <typename F>
void ByType(const Tensor& t, F&& f) {
  if (IsF32(t)) {
    f(static_cast<float*>(nullptr));
  } else {
    f(static_cast<double*>(nullptr));
  }
}

void CudaCompute::GeluForward(const Tensor& x, Tensor* y) {
  if (Halves("GeluForward", {&x, y})) {
    return ViaF32(stream_, {&x}, {y}, [&](auto& i, auto& o) { GeluForward(i[0], &o[0]); });
  }
  CheckTensors("GeluForward", {&x, y});
  CheckSameNumel("GeluForward", x, *y);
  ByType(x, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    k::GeluForward<T>(P<T>(x), P<T>(y), x.numel(), stream_);
  });
  flops_.other += kFlopsGeluFwd * x.numel();
}

void CudaCompute::GeluBackward(const Tensor& x, const Tensor& dy, Tensor* dx) {
  if (Halves("GeluBackward", {&x, &dy, dx})) {
    return ViaF32(stream_, {&x, &dy}, {dx},
                  [&](auto& i, auto& o) { GeluBackward(i[0], i[1], &o[0]); });
  }
  CheckTensors("GeluBackward", {&x, &dy, dx});
  CheckSameNumel("GeluBackward", x, dy);
  CheckSameNumel("GeluBackward", x, *dx);
  ByType(x, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    k::GeluBackward<T>(P<T>(x), P<T>(dy), P<T>(dx), x.numel(), stream_);
  });
  flops_.other += kFlopsGeluBwd * x.numel();
}

void CudaCompute::SoftmaxForward(const Tensor& x, bool causal, Tensor* y) {
  if (Halves("SoftmaxForward", {&x, y})) {
    return ViaF32(stream_, {&x}, {y},
                  [&](auto& i, auto& o) { SoftmaxForward(i[0], causal, &o[0]); });
  }
  CheckTensors("SoftmaxForward", {&x, y});
  if (x.rows() != y->rows() || x.cols() != y->cols()) {
    Fail("SoftmaxForward", "x " + Sh(x) + " vs y " + Sh(*y));
  }
  if (causal && x.cols() > 0 && x.rows() % x.cols() != 0) {
    Fail("SoftmaxForward", "causal mask needs rows (" + std::to_string(x.rows()) +
                               ") divisible by cols (" + std::to_string(x.cols()) + ")");
  }
  if (x.cols() == 0) return;
  ByType(x, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    k::SoftmaxForward<T>(P<T>(x), P<T>(y), x.rows(), x.cols(), causal, stream_);
  });
  flops_.other += kFlopsSoftmaxFwd * x.numel();
}

void CudaCompute::SoftmaxBackward(const Tensor& y, const Tensor& dy, Tensor* dx) {
  if (Halves("SoftmaxBackward", {&y, &dy, dx})) {
    return ViaF32(stream_, {&y, &dy}, {dx},
                  [&](auto& i, auto& o) { SoftmaxBackward(i[0], i[1], &o[0]); });
  }
  CheckTensors("SoftmaxBackward", {&y, &dy, dx});
  if (y.rows() != dy.rows() || y.cols() != dy.cols()) {
    Fail("SoftmaxBackward", "y " + Sh(y) + " vs dy " + Sh(dy));
  }
  CheckSameNumel("SoftmaxBackward", y, *dx);
  ByType(y, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    k::SoftmaxBackward<T>(P<T>(y), P<T>(dy), P<T>(dx), y.rows(), y.cols(), stream_);
  });
  flops_.other += kFlopsSoftmaxBwd * y.numel();
}

void CudaCompute::LayerNormForward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                   double eps, Tensor* y, Tensor* mean, Tensor* rstd) {
  const char* op = "LayerNormForward";
  if (Halves(op, {&x, &gamma, &beta, y, mean, rstd})) {
    return ViaF32(stream_, {&x, &gamma, &beta}, {y, mean, rstd}, [&](auto& i, auto& o) {
      LayerNormForward(i[0], i[1], i[2], eps, &o[0], &o[1], &o[2]);
    });
  }
  CheckTensors(op, {&x, &gamma, &beta, y, mean, rstd});
  if (gamma.numel() != x.cols() || beta.numel() != x.cols() || y->numel() != x.numel() ||
      mean->numel() != x.rows() || rstd->numel() != x.rows()) {
    Fail(op, "x " + Sh(x) + ", gamma " + Sh(gamma) + ", beta " + Sh(beta) + ", y " + Sh(*y) +
                 ", mean " + Sh(*mean) + ", rstd " + Sh(*rstd));
  }
  if (x.cols() == 0) Fail(op, "zero-width rows");
  ByType(x, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    k::LayerNormForward<T>(P<T>(x), P<T>(gamma), P<T>(beta), eps, P<T>(y), P<T>(mean), P<T>(rstd),
                           x.rows(), x.cols(), stream_);
  });
  flops_.other += kFlopsLnFwd * x.numel();
}

void CudaCompute::LayerNormBackward(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                    const Tensor& rstd, const Tensor& dy, Tensor* dx,
                                    Tensor* dgamma, Tensor* dbeta) {
  const char* op = "LayerNormBackward";
  if (Halves(op, {&x, &gamma, &mean, &rstd, &dy, dx, dgamma, dbeta})) {
    return ViaF32(stream_, {&x, &gamma, &mean, &rstd, &dy}, {dx, dgamma, dbeta},
                  [&](auto& i, auto& o) {
                    LayerNormBackward(i[0], i[1], i[2], i[3], i[4], &o[0], &o[1], &o[2]);
                  });
  }
  CheckTensors(op, {&x, &gamma, &mean, &rstd, &dy, dx, dgamma, dbeta});
  if (gamma.numel() != x.cols() || dgamma->numel() != x.cols() || dbeta->numel() != x.cols() ||
      dy.numel() != x.numel() || dx->numel() != x.numel() || mean.numel() != x.rows() ||
      rstd.numel() != x.rows()) {
    Fail(op, "x " + Sh(x) + ", gamma " + Sh(gamma) + ", dy " + Sh(dy) + ", dx " + Sh(*dx) +
                 ", mean " + Sh(mean) + ", rstd " + Sh(rstd));
  }
  ByType(x, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    k::LayerNormBackward<T>(P<T>(x), P<T>(gamma), P<T>(mean), P<T>(rstd), P<T>(dy), P<T>(dx),
                            P<T>(dgamma), P<T>(dbeta), x.rows(), x.cols(), stream_);
  });
  flops_.other += kFlopsLnBwd * x.numel();
}

void CudaCompute::LayerNormStats(const Tensor& x, Tensor* stats) {
  if (Halves("LayerNormStats", {&x, stats})) {
    return ViaF32(stream_, {&x}, {stats}, [&](auto& i, auto& o) { LayerNormStats(i[0], &o[0]); });
  }
  const char* op = "LayerNormStats";
  CheckTensors(op, {&x, stats});
  if (stats->numel() != 2 * x.rows()) Fail(op, "x " + Sh(x) + ", stats " + Sh(*stats));
  ByType(x, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    k::LayerNormStats<T>(P<T>(x), P<T>(stats), x.rows(), x.cols(), stream_);
  });
  flops_.other += kFlopsLnStats * x.numel();
}

void CudaCompute::LayerNormApply(const Tensor& x, const Tensor& stats, int64_t h_total, double eps,
                                 const Tensor& gamma, const Tensor& beta, Tensor* y, Tensor* mean,
                                 Tensor* rstd) {
  const char* op = "LayerNormApply";
  if (Halves(op, {&x, &stats, &gamma, &beta, y, mean, rstd})) {
    return ViaF32(stream_, {&x, &stats, &gamma, &beta}, {y, mean, rstd}, [&](auto& i, auto& o) {
      LayerNormApply(i[0], i[1], h_total, eps, i[2], i[3], &o[0], &o[1], &o[2]);
    });
  }
  CheckTensors(op, {&x, &stats, &gamma, &beta, y, mean, rstd});
  if (stats.numel() != 2 * x.rows() || gamma.numel() != x.cols() || beta.numel() != x.cols() ||
      y->numel() != x.numel() || mean->numel() != x.rows() || rstd->numel() != x.rows() ||
      h_total < x.cols()) {
    Fail(op, "x " + Sh(x) + ", stats " + Sh(stats) + ", gamma " + Sh(gamma) + ", y " + Sh(*y) +
                 ", h_total " + std::to_string(h_total));
  }
  ByType(x, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    k::LayerNormApply<T>(P<T>(x), P<T>(stats), h_total, eps, P<T>(gamma), P<T>(beta), P<T>(y),
                         P<T>(mean), P<T>(rstd), x.rows(), x.cols(), stream_);
  });
  flops_.other += (kFlopsLnFwd - kFlopsLnStats) * x.numel();
}

void CudaCompute::LayerNormBackwardStats(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                         const Tensor& rstd, const Tensor& dy, Tensor* stats) {
  const char* op = "LayerNormBackwardStats";
  if (Halves(op, {&x, &gamma, &mean, &rstd, &dy, stats})) {
    return ViaF32(stream_, {&x, &gamma, &mean, &rstd, &dy}, {stats}, [&](auto& i, auto& o) {
      LayerNormBackwardStats(i[0], i[1], i[2], i[3], i[4], &o[0]);
    });
  }
  CheckTensors(op, {&x, &gamma, &mean, &rstd, &dy, stats});
  if (stats->numel() != 2 * x.rows() || gamma.numel() != x.cols() || dy.numel() != x.numel() ||
      mean.numel() != x.rows() || rstd.numel() != x.rows()) {
    Fail(op, "x " + Sh(x) + ", gamma " + Sh(gamma) + ", dy " + Sh(dy) + ", stats " + Sh(*stats));
  }
  ByType(x, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    k::LayerNormBackwardStats<T>(P<T>(x), P<T>(gamma), P<T>(mean), P<T>(rstd), P<T>(dy),
                                 P<T>(stats), x.rows(), x.cols(), stream_);
  });
  flops_.other += kFlopsLnBwdStats * x.numel();
}

void CudaCompute::LayerNormBackwardApply(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                         const Tensor& rstd, const Tensor& dy, const Tensor& stats,
                                         int64_t h_total, Tensor* dx, Tensor* dgamma,
                                         Tensor* dbeta) {
  const char* op = "LayerNormBackwardApply";
  if (Halves(op, {&x, &gamma, &mean, &rstd, &dy, &stats, dx, dgamma, dbeta})) {
    return ViaF32(stream_, {&x, &gamma, &mean, &rstd, &dy, &stats}, {dx, dgamma, dbeta},
                  [&](auto& i, auto& o) {
                    LayerNormBackwardApply(i[0], i[1], i[2], i[3], i[4], i[5], h_total, &o[0],
                                           &o[1], &o[2]);
                  });
  }
  CheckTensors(op, {&x, &gamma, &mean, &rstd, &dy, &stats, dx, dgamma, dbeta});
  if (stats.numel() != 2 * x.rows() || gamma.numel() != x.cols() || dy.numel() != x.numel() ||
      dx->numel() != x.numel() || dgamma->numel() != x.cols() || dbeta->numel() != x.cols() ||
      mean.numel() != x.rows() || rstd.numel() != x.rows() || h_total < x.cols()) {
    Fail(op, "x " + Sh(x) + ", gamma " + Sh(gamma) + ", dy " + Sh(dy) + ", dx " + Sh(*dx) +
                 ", stats " + Sh(stats));
  }
  ByType(x, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    k::LayerNormBackwardApply<T>(P<T>(x), P<T>(gamma), P<T>(mean), P<T>(rstd), P<T>(dy),
                                 P<T>(stats), h_total, P<T>(dx), P<T>(dgamma), P<T>(dbeta),
                                 x.rows(), x.cols(), stream_);
  });
  flops_.other += (kFlopsLnBwd - kFlopsLnBwdStats) * x.numel();
}

void CudaCompute::Add(const Tensor& a, const Tensor& b, Tensor* out) {
  if (Halves("Add", {&a, &b, out})) {
    return ViaF32(stream_, {&a, &b}, {out}, [&](auto& i, auto& o) { Add(i[0], i[1], &o[0]); });
  }
  CheckTensors("Add", {&a, &b, out});
  CheckSameNumel("Add", a, b);
  CheckSameNumel("Add", a, *out);
  ByType(a, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    k::Add<T>(P<T>(a), P<T>(b), P<T>(out), a.numel(), stream_);
  });
  flops_.other += kFlopsAdd * a.numel();
}

void CudaCompute::Axpy(double alpha, const Tensor& x, Tensor* y) {
  if (Halves("Axpy", {&x, y})) {
    return ViaF32(stream_, {&x}, {y}, [&](auto& i, auto& o) { Axpy(alpha, i[0], &o[0]); });
  }
  CheckTensors("Axpy", {&x, y});
  CheckSameNumel("Axpy", x, *y);
  ByType(x, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    k::Axpy<T>(alpha, P<T>(x), P<T>(y), x.numel(), stream_);
  });
  flops_.other += kFlopsAxpy * x.numel();
}

void CudaCompute::ScaledCopy(double alpha, const Tensor& x, Tensor* y) {
  if (Halves("ScaledCopy", {&x, y})) {
    return ViaF32(stream_, {&x}, {y}, [&](auto& i, auto& o) { ScaledCopy(alpha, i[0], &o[0]); });
  }
  CheckTensors("ScaledCopy", {&x, y});
  CheckSameNumel("ScaledCopy", x, *y);
  ByType(x, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    k::ScaledCopy<T>(alpha, P<T>(x), P<T>(y), x.numel(), stream_);
  });
  flops_.other += kFlopsScale * x.numel();
}

void CudaCompute::SplitQkvHeads(const Tensor& qkv, int64_t b, int64_t s, int64_t nh, Tensor* q,
                                Tensor* kt, Tensor* v) {
  if (Halves("SplitQkvHeads", {&qkv, q, kt, v})) {
    return ViaF32(stream_, {&qkv}, {q, kt, v},
                  [&](auto& i, auto& o) { SplitQkvHeads(i[0], b, s, nh, &o[0], &o[1], &o[2]); });
  }
  CheckTensors("SplitQkvHeads", {&qkv, q, kt, v});
  CheckHeads("SplitQkvHeads", qkv, *q, b, s, nh, 3);
  CheckSameNumel("SplitQkvHeads", *q, *kt);
  CheckSameNumel("SplitQkvHeads", *q, *v);
  const int64_t hd = q->cols();
  Tensor* parts[3] = {q, kt, v};
  Tensor src = qkv;  // a view; only read
  ByType(qkv, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    for (int p = 0; p < 3; ++p) {
      k::PermuteHeads<T>(P<T>(&src), src.cols(), P<T>(parts[p]), b, s, nh, hd, 3 * hd, p * hd, true,
                         stream_);
    }
  });
}

void CudaCompute::MergeQkvHeads(const Tensor& q, const Tensor& kt, const Tensor& v, int64_t b,
                                int64_t s, int64_t nh, Tensor* qkv) {
  if (Halves("MergeQkvHeads", {&q, &kt, &v, qkv})) {
    return ViaF32(stream_, {&q, &kt, &v}, {qkv},
                  [&](auto& i, auto& o) { MergeQkvHeads(i[0], i[1], i[2], b, s, nh, &o[0]); });
  }
  CheckTensors("MergeQkvHeads", {&q, &kt, &v, qkv});
  CheckHeads("MergeQkvHeads", *qkv, q, b, s, nh, 3);
  CheckSameNumel("MergeQkvHeads", q, kt);
  CheckSameNumel("MergeQkvHeads", q, v);
  const int64_t hd = q.cols();
  Tensor parts[3] = {q, kt, v};  // views; only read
  ByType(q, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    for (int p = 0; p < 3; ++p) {
      k::PermuteHeads<T>(P<T>(qkv), qkv->cols(), P<T>(&parts[p]), b, s, nh, hd, 3 * hd, p * hd,
                         false, stream_);
    }
  });
}

void CudaCompute::MergeHeads(const Tensor& x, int64_t b, int64_t s, int64_t nh, Tensor* y) {
  if (Halves("MergeHeads", {&x, y})) {
    return ViaF32(stream_, {&x}, {y}, [&](auto& i, auto& o) { MergeHeads(i[0], b, s, nh, &o[0]); });
  }
  CheckTensors("MergeHeads", {&x, y});
  CheckHeads("MergeHeads", *y, x, b, s, nh, 1);
  Tensor xx = x;  // a view; only read
  const int64_t hd = x.cols();
  ByType(x, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    k::PermuteHeads<T>(P<T>(y), y->cols(), P<T>(&xx), b, s, nh, hd, hd, 0, false, stream_);
  });
}

void CudaCompute::SplitHeads(const Tensor& y, int64_t b, int64_t s, int64_t nh, Tensor* x) {
  if (Halves("SplitHeads", {&y, x})) {
    return ViaF32(stream_, {&y}, {x}, [&](auto& i, auto& o) { SplitHeads(i[0], b, s, nh, &o[0]); });
  }
  CheckTensors("SplitHeads", {&y, x});
  CheckHeads("SplitHeads", y, *x, b, s, nh, 1);
  Tensor yy = y;  // a view; only read
  const int64_t hd = x->cols();
  ByType(y, [&](auto* z) {
    using T = std::remove_pointer_t<decltype(z)>;
    k::PermuteHeads<T>(P<T>(&yy), y.cols(), P<T>(x), b, s, nh, hd, hd, 0, true, stream_);
  });
}

}  // namespace tpbench
