#include "layers/host_compute.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "comm/error.h"

namespace tpbench {
namespace {

using namespace nominal_flops;  // NOLINT: the per-element costs shared by every backend

std::string Sh(const Tensor& t) { return ShapeString(t.shape()); }

void Fail(const char* op, const std::string& what) {
  throw UsageError(std::string("compute.") + op + ": " + what);
}

// All tensors host, defined, f32/f64, and of one dtype.
void CheckTensors(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first = *ts.begin();
  for (const Tensor* t : ts) {
    if (t == nullptr || !t->defined()) Fail(op, "missing tensor argument");
    if (t->memory() != MemoryType::kHost) Fail(op, "host backend given a non-host tensor");
    if (t->dtype() != DataType::kF32 && t->dtype() != DataType::kF64) {
      Fail(op, std::string("dtype ") + DataTypeName(t->dtype()) + " not supported (f32, f64)");
    }
    if (t->dtype() != first->dtype()) {
      Fail(op, std::string("mixed dtypes ") + DataTypeName(first->dtype()) + " and " +
                   DataTypeName(t->dtype()));
    }
  }
}

void CheckSameNumel(const char* op, const Tensor& a, const Tensor& b) {
  if (a.numel() != b.numel()) Fail(op, "shape " + Sh(a) + " does not match " + Sh(b));
}

bool IsF32(const Tensor& t) { return t.dtype() == DataType::kF32; }

template <typename T>
void GemmT(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const T* a, int64_t lda,
           const T* b, int64_t ldb, double beta, T* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (beta == 0) std::fill(c, c + m * ldc, T(0));  // ignore NaNs in an uninitialised c
  if (k == 0) {
    if (beta != 0 && beta != 1)
      for (int64_t i = 0; i < m * ldc; ++i) c[i] *= T(beta);
    return;
  }
  CBLAS_TRANSPOSE oa = ta ? CblasTrans : CblasNoTrans, ob = tb ? CblasTrans : CblasNoTrans;
  if constexpr (sizeof(T) == 4) {
    cblas_sgemm(CblasRowMajor, oa, ob, m, n, k, static_cast<float>(alpha), a, lda, b, ldb,
                static_cast<float>(beta), c, ldc);
  } else {
    cblas_dgemm(CblasRowMajor, oa, ob, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}

template <typename T>
T GeluT(T x) {
  const T c = static_cast<T>(0.7978845608028654);  // sqrt(2/pi)
  return T(0.5) * x * (T(1) + std::tanh(c * (x + T(0.044715) * x * x * x)));
}

template <typename T>
T GeluGradT(T x) {
  const T c = static_cast<T>(0.7978845608028654);
  T u = c * (x + T(0.044715) * x * x * x);
  T t = std::tanh(u);
  return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * c * (T(1) + T(3 * 0.044715) * x * x);
}

// Runs f<float> or f<double> by the dtype of t.
#define TP_DISPATCH(t, FN, ...) (IsF32(t) ? FN<float>(__VA_ARGS__) : FN<double>(__VA_ARGS__))

template <typename T>
void SoftmaxFwdT(const Tensor& x, bool causal, Tensor* y) {
  int64_t R = x.rows(), C = x.cols();
  const T* xp = x.data_as<T>();
  T* yp = y->data_as<T>();
  for (int64_t r = 0; r < R; ++r) {
    int64_t n = causal ? (r % C) + 1 : C;  // keys 0..n-1 are visible
    const T* xr = xp + r * C;
    T* yr = yp + r * C;
    T mx = xr[0];
    for (int64_t j = 1; j < n; ++j) mx = std::max(mx, xr[j]);
    double sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      yr[j] = std::exp(xr[j] - mx);
      sum += yr[j];
    }
    T inv = static_cast<T>(1.0 / sum);
    for (int64_t j = 0; j < n; ++j) yr[j] *= inv;
    for (int64_t j = n; j < C; ++j) yr[j] = 0;
  }
}

template <typename T>
void SoftmaxBwdT(const Tensor& y, const Tensor& dy, Tensor* dx) {
  int64_t R = y.rows(), C = y.cols();
  const T* yp = y.data_as<T>();
  const T* gp = dy.data_as<T>();
  T* dp = dx->data_as<T>();
  for (int64_t r = 0; r < R; ++r) {
    double dot = 0;
    for (int64_t j = 0; j < C; ++j) dot += double(gp[r * C + j]) * yp[r * C + j];
    for (int64_t j = 0; j < C; ++j) {
      dp[r * C + j] = yp[r * C + j] * (gp[r * C + j] - static_cast<T>(dot));
    }
  }
}

template <typename T>
void LnFwdT(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps, Tensor* y,
            Tensor* mean, Tensor* rstd) {
  int64_t R = x.rows(), C = x.cols();
  const T* xp = x.data_as<T>();
  const T* g = gamma.data_as<T>();
  const T* bb = beta.data_as<T>();
  T* yp = y->data_as<T>();
  for (int64_t r = 0; r < R; ++r) {
    const T* xr = xp + r * C;
    double mu = 0;
    for (int64_t j = 0; j < C; ++j) mu += xr[j];
    mu /= C;
    double var = 0;
    for (int64_t j = 0; j < C; ++j) var += (xr[j] - mu) * (xr[j] - mu);
    var /= C;
    double rs = 1.0 / std::sqrt(var + eps);
    mean->data_as<T>()[r] = static_cast<T>(mu);
    rstd->data_as<T>()[r] = static_cast<T>(rs);
    for (int64_t j = 0; j < C; ++j) {
      yp[r * C + j] = static_cast<T>((xr[j] - mu) * rs) * g[j] + bb[j];
    }
  }
}

template <typename T>
void LnBwdT(const Tensor& x, const Tensor& gamma, const Tensor& mean, const Tensor& rstd,
            const Tensor& dy, Tensor* dx, Tensor* dgamma, Tensor* dbeta) {
  int64_t R = x.rows(), C = x.cols();
  const T* xp = x.data_as<T>();
  const T* g = gamma.data_as<T>();
  const T* gy = dy.data_as<T>();
  T* dxp = dx->data_as<T>();
  T* dg = dgamma->data_as<T>();
  T* db = dbeta->data_as<T>();
  std::vector<double> acc_g(C, 0.0), acc_b(C, 0.0);
  for (int64_t r = 0; r < R; ++r) {
    double mu = mean.data_as<T>()[r], rs = rstd.data_as<T>()[r];
    // xhat = (x - mu) rs; gx = dy * gamma;
    // dx = rs * (gx - mean(gx) - xhat * mean(gx * xhat)).
    double m1 = 0, m2 = 0;
    for (int64_t j = 0; j < C; ++j) {
      double xh = (xp[r * C + j] - mu) * rs;
      double gx = double(gy[r * C + j]) * g[j];
      m1 += gx;
      m2 += gx * xh;
      acc_g[j] += double(gy[r * C + j]) * xh;
      acc_b[j] += gy[r * C + j];
    }
    m1 /= C;
    m2 /= C;
    for (int64_t j = 0; j < C; ++j) {
      double xh = (xp[r * C + j] - mu) * rs;
      double gx = double(gy[r * C + j]) * g[j];
      dxp[r * C + j] = static_cast<T>(rs * (gx - m1 - xh * m2));
    }
  }
  for (int64_t j = 0; j < C; ++j) {
    dg[j] = static_cast<T>(acc_g[j]);
    db[j] = static_cast<T>(acc_b[j]);
  }
}

// --- LayerNorm with the hidden dim split (statistics summed between Stats and Apply) ---

template <typename T>
void LnStatsT(const Tensor& x, Tensor* stats) {
  const int64_t R = x.rows(), C = x.cols();
  const T* xp = x.data_as<T>();
  T* s = stats->data_as<T>();
  for (int64_t r = 0; r < R; ++r) {
    double s1 = 0, s2 = 0;
    for (int64_t j = 0; j < C; ++j) {
      const double v = xp[r * C + j];
      s1 += v;
      s2 += v * v;
    }
    s[r] = static_cast<T>(s1);
    s[R + r] = static_cast<T>(s2);
  }
}

template <typename T>
void LnApplyT(const Tensor& x, const Tensor& stats, int64_t h, double eps, const Tensor& gamma,
              const Tensor& beta, Tensor* y, Tensor* mean, Tensor* rstd) {
  const int64_t R = x.rows(), C = x.cols();
  const T* xp = x.data_as<T>();
  const T* s = stats.data_as<T>();
  const T* g = gamma.data_as<T>();
  const T* bb = beta.data_as<T>();
  T* yp = y->data_as<T>();
  for (int64_t r = 0; r < R; ++r) {
    const double mu = double(s[r]) / double(h);
    const double var = double(s[R + r]) / double(h) - mu * mu;
    const double rs = 1.0 / std::sqrt(var + eps);
    mean->data_as<T>()[r] = static_cast<T>(mu);
    rstd->data_as<T>()[r] = static_cast<T>(rs);
    for (int64_t j = 0; j < C; ++j) {
      yp[r * C + j] = static_cast<T>((xp[r * C + j] - mu) * rs) * g[j] + bb[j];
    }
  }
}

template <typename T>
void LnBwdStatsT(const Tensor& x, const Tensor& gamma, const Tensor& mean, const Tensor& rstd,
                 const Tensor& dy, Tensor* stats) {
  const int64_t R = x.rows(), C = x.cols();
  const T* xp = x.data_as<T>();
  const T* g = gamma.data_as<T>();
  const T* gy = dy.data_as<T>();
  T* s = stats->data_as<T>();
  for (int64_t r = 0; r < R; ++r) {
    const double mu = mean.data_as<T>()[r], rs = rstd.data_as<T>()[r];
    double s1 = 0, s2 = 0;
    for (int64_t j = 0; j < C; ++j) {
      const double gx = double(gy[r * C + j]) * g[j];
      s1 += gx;
      s2 += gx * (xp[r * C + j] - mu) * rs;
    }
    s[r] = static_cast<T>(s1);
    s[R + r] = static_cast<T>(s2);
  }
}

template <typename T>
void LnBwdApplyT(const Tensor& x, const Tensor& gamma, const Tensor& mean, const Tensor& rstd,
                 const Tensor& dy, const Tensor& stats, int64_t h, Tensor* dx, Tensor* dgamma,
                 Tensor* dbeta) {
  const int64_t R = x.rows(), C = x.cols();
  const T* xp = x.data_as<T>();
  const T* g = gamma.data_as<T>();
  const T* gy = dy.data_as<T>();
  const T* s = stats.data_as<T>();
  T* dxp = dx->data_as<T>();
  std::vector<double> acc_g(C, 0.0), acc_b(C, 0.0);
  for (int64_t r = 0; r < R; ++r) {
    const double mu = mean.data_as<T>()[r], rs = rstd.data_as<T>()[r];
    const double a = double(s[r]) / double(h), c = double(s[R + r]) / double(h);
    for (int64_t j = 0; j < C; ++j) {
      const double xh = (xp[r * C + j] - mu) * rs;
      const double gx = double(gy[r * C + j]) * g[j];
      dxp[r * C + j] = static_cast<T>(rs * (gx - a - xh * c));
      acc_g[j] += double(gy[r * C + j]) * xh;
      acc_b[j] += gy[r * C + j];
    }
  }
  for (int64_t j = 0; j < C; ++j) {
    dgamma->data_as<T>()[j] = static_cast<T>(acc_g[j]);
    dbeta->data_as<T>()[j] = static_cast<T>(acc_b[j]);
  }
}

// Copies hd-wide blocks between a [b*s, width] row layout and a [b*nh*s, hd] head layout.
// Head n's block of a row starts at column n*stride + offset. to_heads selects the direction.
template <typename T>
void PermuteHeadsT(T* rows_p, int64_t width, T* heads_p, int64_t b, int64_t s, int64_t nh,
                   int64_t hd, int64_t stride, int64_t offset, bool to_heads) {
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t n = 0; n < nh; ++n)
      for (int64_t si = 0; si < s; ++si) {
        T* r = rows_p + (bi * s + si) * width + n * stride + offset;
        T* h = heads_p + ((bi * nh + n) * s + si) * hd;
        if (to_heads) {
          std::copy(r, r + hd, h);
        } else {
          std::copy(h, h + hd, r);
        }
      }
}

template <typename T>
void QkvT(Tensor* qkv, int64_t b, int64_t s, int64_t nh, Tensor* q, Tensor* k, Tensor* v,
          bool to_heads) {
  int64_t hd = q->cols();
  Tensor* parts[3] = {q, k, v};
  for (int p = 0; p < 3; ++p) {
    PermuteHeadsT<T>(qkv->data_as<T>(), qkv->cols(), parts[p]->data_as<T>(), b, s, nh, hd, 3 * hd,
                     p * hd, to_heads);
  }
}

void CheckHeads(const char* op, const Tensor& rows, const Tensor& heads, int64_t b, int64_t s,
                int64_t nh, int64_t parts) {
  if (b <= 0 || s <= 0 || nh <= 0) Fail(op, "b, s and nh must be positive");
  int64_t hd = heads.cols();
  if (rows.rows() != b * s || rows.cols() != parts * nh * hd || heads.rows() != b * nh * s) {
    Fail(op, "shapes " + Sh(rows) + " and " + Sh(heads) + " do not match b=" + std::to_string(b) +
                 " s=" + std::to_string(s) + " nh=" + std::to_string(nh));
  }
}

}  // namespace

HostCompute::HostCompute(int blas_threads) { SetBlasThreads(blas_threads); }

namespace {
[[maybe_unused]] const bool kRegistered = RegisterCompute(
    "host", [] { return std::unique_ptr<Compute>(std::make_unique<HostCompute>()); });
}  // namespace

void HostCompute::SetBlasThreads(int n) {
  if (n < 1) throw UsageError("blas threads must be >= 1, got " + std::to_string(n));
  blas_threads_ = n;
  openblas_set_num_threads(n);
}

Tensor HostCompute::NewTensor(const Shape& shape, DataType dtype) {
  return Tensor(shape, dtype, MemoryType::kHost);
}

void HostCompute::Gemm(bool trans_a, bool trans_b, double alpha, const Tensor& a, const Tensor& b,
                       double beta, Tensor* c) {
  GemmBatched(1, trans_a, trans_b, alpha, a, b, beta, c);
}

void HostCompute::GemmBatched(int64_t batch, bool trans_a, bool trans_b, double alpha,
                              const Tensor& a, const Tensor& b, double beta, Tensor* c) {
  const char* op = batch == 1 ? "Gemm" : "GemmBatched";
  CheckTensors(op, {&a, &b, c});
  if (batch <= 0 || a.rows() % batch || b.rows() % batch || c->rows() % batch) {
    Fail(op, "rows of " + Sh(a) + ", " + Sh(b) + ", " + Sh(*c) + " not divisible by batch " +
                 std::to_string(batch));
  }
  int64_t ar = a.rows() / batch, ac = a.cols(), br = b.rows() / batch, bc = b.cols();
  int64_t m = trans_a ? ac : ar, k = trans_a ? ar : ac;
  int64_t kb = trans_b ? bc : br, n = trans_b ? br : bc;
  if (k != kb || c->rows() / batch != m || c->cols() != n) {
    Fail(op, std::string("op(a) ") + std::to_string(m) + "x" + std::to_string(k) + " times op(b) " +
                 std::to_string(kb) + "x" + std::to_string(n) + " into c " +
                 std::to_string(c->rows() / batch) + "x" + std::to_string(c->cols()) + " (a " +
                 Sh(a) + ", b " + Sh(b) + ", c " + Sh(*c) + ")");
  }
  for (int64_t i = 0; i < batch; ++i) {
    if (IsF32(a)) {
      GemmT<float>(trans_a, trans_b, m, n, k, alpha, a.data_as<float>() + i * ar * ac, ac,
                   b.data_as<float>() + i * br * bc, bc, beta, c->data_as<float>() + i * m * n, n);
    } else {
      GemmT<double>(trans_a, trans_b, m, n, k, alpha, a.data_as<double>() + i * ar * ac, ac,
                    b.data_as<double>() + i * br * bc, bc, beta, c->data_as<double>() + i * m * n,
                    n);
    }
  }
  flops_.gemm += static_cast<uint64_t>(2 * batch * m * n * k);
}

void HostCompute::AddBias(const Tensor& bias, Tensor* y) {
  CheckTensors("AddBias", {&bias, y});
  if (bias.numel() != y->cols()) Fail("AddBias", "bias " + Sh(bias) + " for y " + Sh(*y));
  int64_t R = y->rows(), C = y->cols();
  auto run = [&](auto* yp, const auto* bp) {
    for (int64_t r = 0; r < R; ++r)
      for (int64_t j = 0; j < C; ++j) yp[r * C + j] += bp[j];
  };
  if (IsF32(*y)) {
    run(y->data_as<float>(), bias.data_as<float>());
  } else {
    run(y->data_as<double>(), bias.data_as<double>());
  }
  flops_.other += kFlopsBias * y->numel();
}

void HostCompute::BiasGrad(const Tensor& dy, Tensor* dbias) {
  CheckTensors("BiasGrad", {&dy, dbias});
  if (dbias->numel() != dy.cols()) Fail("BiasGrad", "dbias " + Sh(*dbias) + " for dy " + Sh(dy));
  int64_t R = dy.rows(), C = dy.cols();
  auto run = [&](const auto* gp, auto* dp) {
    std::vector<double> acc(C, 0.0);
    for (int64_t r = 0; r < R; ++r)
      for (int64_t j = 0; j < C; ++j) acc[j] += gp[r * C + j];
    for (int64_t j = 0; j < C; ++j)
      dp[j] = static_cast<std::remove_reference_t<decltype(*dp)>>(acc[j]);
  };
  if (IsF32(dy)) {
    run(dy.data_as<float>(), dbias->data_as<float>());
  } else {
    run(dy.data_as<double>(), dbias->data_as<double>());
  }
  flops_.other += kFlopsBias * dy.numel();
}

void HostCompute::GeluForward(const Tensor& x, Tensor* y) {
  CheckTensors("GeluForward", {&x, y});
  CheckSameNumel("GeluForward", x, *y);
  auto run = [&](const auto* xp, auto* yp) {
    for (int64_t i = 0; i < x.numel(); ++i) yp[i] = GeluT(xp[i]);
  };
  if (IsF32(x)) {
    run(x.data_as<float>(), y->data_as<float>());
  } else {
    run(x.data_as<double>(), y->data_as<double>());
  }
  flops_.other += kFlopsGeluFwd * x.numel();
}

void HostCompute::GeluBackward(const Tensor& x, const Tensor& dy, Tensor* dx) {
  CheckTensors("GeluBackward", {&x, &dy, dx});
  CheckSameNumel("GeluBackward", x, dy);
  CheckSameNumel("GeluBackward", x, *dx);
  auto run = [&](const auto* xp, const auto* gp, auto* dp) {
    for (int64_t i = 0; i < x.numel(); ++i) dp[i] = GeluGradT(xp[i]) * gp[i];
  };
  if (IsF32(x)) {
    run(x.data_as<float>(), dy.data_as<float>(), dx->data_as<float>());
  } else {
    run(x.data_as<double>(), dy.data_as<double>(), dx->data_as<double>());
  }
  flops_.other += kFlopsGeluBwd * x.numel();
}

void HostCompute::SoftmaxForward(const Tensor& x, bool causal, Tensor* y) {
  CheckTensors("SoftmaxForward", {&x, y});
  if (x.rows() != y->rows() || x.cols() != y->cols()) {
    Fail("SoftmaxForward", "x " + Sh(x) + " vs y " + Sh(*y));
  }
  if (causal && x.rows() % std::max<int64_t>(x.cols(), 1) != 0) {
    Fail("SoftmaxForward", "causal mask needs rows (" + std::to_string(x.rows()) +
                               ") divisible by cols (" + std::to_string(x.cols()) + ")");
  }
  if (x.cols() == 0) return;
  TP_DISPATCH(x, SoftmaxFwdT, x, causal, y);
  flops_.other += kFlopsSoftmaxFwd * x.numel();
}

void HostCompute::SoftmaxBackward(const Tensor& y, const Tensor& dy, Tensor* dx) {
  CheckTensors("SoftmaxBackward", {&y, &dy, dx});
  if (y.rows() != dy.rows() || y.cols() != dy.cols()) {
    Fail("SoftmaxBackward", "y " + Sh(y) + " vs dy " + Sh(dy));
  }
  CheckSameNumel("SoftmaxBackward", y, *dx);
  TP_DISPATCH(y, SoftmaxBwdT, y, dy, dx);
  flops_.other += kFlopsSoftmaxBwd * y.numel();
}

void HostCompute::LayerNormForward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                   double eps, Tensor* y, Tensor* mean, Tensor* rstd) {
  const char* op = "LayerNormForward";
  CheckTensors(op, {&x, &gamma, &beta, y, mean, rstd});
  if (gamma.numel() != x.cols() || beta.numel() != x.cols() || y->numel() != x.numel() ||
      mean->numel() != x.rows() || rstd->numel() != x.rows()) {
    Fail(op, "x " + Sh(x) + ", gamma " + Sh(gamma) + ", beta " + Sh(beta) + ", y " + Sh(*y) +
                 ", mean " + Sh(*mean) + ", rstd " + Sh(*rstd));
  }
  if (x.cols() == 0) Fail(op, "zero-width rows");
  TP_DISPATCH(x, LnFwdT, x, gamma, beta, eps, y, mean, rstd);
  flops_.other += kFlopsLnFwd * x.numel();
}

void HostCompute::LayerNormBackward(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                    const Tensor& rstd, const Tensor& dy, Tensor* dx,
                                    Tensor* dgamma, Tensor* dbeta) {
  const char* op = "LayerNormBackward";
  CheckTensors(op, {&x, &gamma, &mean, &rstd, &dy, dx, dgamma, dbeta});
  if (gamma.numel() != x.cols() || dgamma->numel() != x.cols() || dbeta->numel() != x.cols() ||
      dy.numel() != x.numel() || dx->numel() != x.numel() || mean.numel() != x.rows() ||
      rstd.numel() != x.rows()) {
    Fail(op, "x " + Sh(x) + ", gamma " + Sh(gamma) + ", dy " + Sh(dy) + ", dx " + Sh(*dx) +
                 ", mean " + Sh(mean) + ", rstd " + Sh(rstd));
  }
  TP_DISPATCH(x, LnBwdT, x, gamma, mean, rstd, dy, dx, dgamma, dbeta);
  flops_.other += kFlopsLnBwd * x.numel();
}

void HostCompute::LayerNormStats(const Tensor& x, Tensor* stats) {
  const char* op = "LayerNormStats";
  CheckTensors(op, {&x, stats});
  if (stats->numel() != 2 * x.rows()) Fail(op, "x " + Sh(x) + ", stats " + Sh(*stats));
  TP_DISPATCH(x, LnStatsT, x, stats);
  flops_.other += kFlopsLnStats * x.numel();
}

void HostCompute::LayerNormApply(const Tensor& x, const Tensor& stats, int64_t h_total, double eps,
                                 const Tensor& gamma, const Tensor& beta, Tensor* y, Tensor* mean,
                                 Tensor* rstd) {
  const char* op = "LayerNormApply";
  CheckTensors(op, {&x, &stats, &gamma, &beta, y, mean, rstd});
  if (stats.numel() != 2 * x.rows() || gamma.numel() != x.cols() || beta.numel() != x.cols() ||
      y->numel() != x.numel() || mean->numel() != x.rows() || rstd->numel() != x.rows() ||
      h_total < x.cols()) {
    Fail(op, "x " + Sh(x) + ", stats " + Sh(stats) + ", gamma " + Sh(gamma) + ", y " + Sh(*y) +
                 ", h_total " + std::to_string(h_total));
  }
  TP_DISPATCH(x, LnApplyT, x, stats, h_total, eps, gamma, beta, y, mean, rstd);
  flops_.other += (kFlopsLnFwd - kFlopsLnStats) * x.numel();
}

void HostCompute::LayerNormBackwardStats(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                         const Tensor& rstd, const Tensor& dy, Tensor* stats) {
  const char* op = "LayerNormBackwardStats";
  CheckTensors(op, {&x, &gamma, &mean, &rstd, &dy, stats});
  if (stats->numel() != 2 * x.rows() || gamma.numel() != x.cols() || dy.numel() != x.numel() ||
      mean.numel() != x.rows() || rstd.numel() != x.rows()) {
    Fail(op, "x " + Sh(x) + ", gamma " + Sh(gamma) + ", dy " + Sh(dy) + ", stats " + Sh(*stats));
  }
  TP_DISPATCH(x, LnBwdStatsT, x, gamma, mean, rstd, dy, stats);
  flops_.other += kFlopsLnBwdStats * x.numel();
}

void HostCompute::LayerNormBackwardApply(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                         const Tensor& rstd, const Tensor& dy, const Tensor& stats,
                                         int64_t h_total, Tensor* dx, Tensor* dgamma,
                                         Tensor* dbeta) {
  const char* op = "LayerNormBackwardApply";
  CheckTensors(op, {&x, &gamma, &mean, &rstd, &dy, &stats, dx, dgamma, dbeta});
  if (stats.numel() != 2 * x.rows() || gamma.numel() != x.cols() || dy.numel() != x.numel() ||
      dx->numel() != x.numel() || dgamma->numel() != x.cols() || dbeta->numel() != x.cols() ||
      mean.numel() != x.rows() || rstd.numel() != x.rows() || h_total < x.cols()) {
    Fail(op, "x " + Sh(x) + ", gamma " + Sh(gamma) + ", dy " + Sh(dy) + ", dx " + Sh(*dx) +
                 ", stats " + Sh(stats));
  }
  TP_DISPATCH(x, LnBwdApplyT, x, gamma, mean, rstd, dy, stats, h_total, dx, dgamma, dbeta);
  flops_.other += (kFlopsLnBwd - kFlopsLnBwdStats) * x.numel();
}

void HostCompute::Add(const Tensor& a, const Tensor& b, Tensor* out) {
  CheckTensors("Add", {&a, &b, out});
  CheckSameNumel("Add", a, b);
  CheckSameNumel("Add", a, *out);
  auto run = [&](const auto* ap, const auto* bp, auto* op) {
    for (int64_t i = 0; i < a.numel(); ++i) op[i] = ap[i] + bp[i];
  };
  if (IsF32(a)) {
    run(a.data_as<float>(), b.data_as<float>(), out->data_as<float>());
  } else {
    run(a.data_as<double>(), b.data_as<double>(), out->data_as<double>());
  }
  flops_.other += kFlopsAdd * a.numel();
}

void HostCompute::Axpy(double alpha, const Tensor& x, Tensor* y) {
  CheckTensors("Axpy", {&x, y});
  CheckSameNumel("Axpy", x, *y);
  if (IsF32(x)) {
    cblas_saxpy(x.numel(), static_cast<float>(alpha), x.data_as<float>(), 1, y->data_as<float>(),
                1);
  } else {
    cblas_daxpy(x.numel(), alpha, x.data_as<double>(), 1, y->data_as<double>(), 1);
  }
  flops_.other += kFlopsAxpy * x.numel();
}

void HostCompute::ScaledCopy(double alpha, const Tensor& x, Tensor* y) {
  CheckTensors("ScaledCopy", {&x, y});
  CheckSameNumel("ScaledCopy", x, *y);
  auto run = [&](const auto* xp, auto* yp) {
    using T = std::remove_reference_t<decltype(*yp)>;
    for (int64_t i = 0; i < x.numel(); ++i) yp[i] = static_cast<T>(alpha) * xp[i];
  };
  if (IsF32(x)) {
    run(x.data_as<float>(), y->data_as<float>());
  } else {
    run(x.data_as<double>(), y->data_as<double>());
  }
  flops_.other += kFlopsScale * x.numel();
}

void HostCompute::SplitQkvHeads(const Tensor& qkv, int64_t b, int64_t s, int64_t nh, Tensor* q,
                                Tensor* k, Tensor* v) {
  CheckTensors("SplitQkvHeads", {&qkv, q, k, v});
  CheckHeads("SplitQkvHeads", qkv, *q, b, s, nh, 3);
  CheckSameNumel("SplitQkvHeads", *q, *k);
  CheckSameNumel("SplitQkvHeads", *q, *v);
  Tensor src = qkv;  // a view; the permutation only reads it
  TP_DISPATCH(qkv, QkvT, &src, b, s, nh, q, k, v, true);
}

void HostCompute::MergeQkvHeads(const Tensor& q, const Tensor& k, const Tensor& v, int64_t b,
                                int64_t s, int64_t nh, Tensor* qkv) {
  CheckTensors("MergeQkvHeads", {&q, &k, &v, qkv});
  CheckHeads("MergeQkvHeads", *qkv, q, b, s, nh, 3);
  CheckSameNumel("MergeQkvHeads", q, k);
  CheckSameNumel("MergeQkvHeads", q, v);
  Tensor qq = q, kk = k, vv = v;  // views; only read
  TP_DISPATCH(q, QkvT, qkv, b, s, nh, &qq, &kk, &vv, false);
}

void HostCompute::MergeHeads(const Tensor& x, int64_t b, int64_t s, int64_t nh, Tensor* y) {
  CheckTensors("MergeHeads", {&x, y});
  CheckHeads("MergeHeads", *y, x, b, s, nh, 1);
  Tensor xx = x;  // a view; only read
  int64_t hd = x.cols();
  if (IsF32(x)) {
    PermuteHeadsT<float>(y->data_as<float>(), y->cols(), xx.data_as<float>(), b, s, nh, hd, hd, 0,
                         false);
  } else {
    PermuteHeadsT<double>(y->data_as<double>(), y->cols(), xx.data_as<double>(), b, s, nh, hd, hd,
                          0, false);
  }
}

void HostCompute::SplitHeads(const Tensor& y, int64_t b, int64_t s, int64_t nh, Tensor* x) {
  CheckTensors("SplitHeads", {&y, x});
  CheckHeads("SplitHeads", y, *x, b, s, nh, 1);
  Tensor yy = y;  // a view; only read
  int64_t hd = x->cols();
  if (IsF32(y)) {
    PermuteHeadsT<float>(yy.data_as<float>(), y.cols(), x->data_as<float>(), b, s, nh, hd, hd, 0,
                         true);
  } else {
    PermuteHeadsT<double>(yy.data_as<double>(), y.cols(), x->data_as<double>(), b, s, nh, hd, hd, 0,
                          true);
  }
}

}  // namespace tpbench
