#include "comm/reduce.h"

#include <emmintrin.h>
#include <xmmintrin.h>

#include <algorithm>
#include <cstdint>

#include "comm/error.h"

namespace tpbench {
namespace {

// Plain loops: GCC vectorizes them at -O3 (with a runtime alias check, since out may alias).
template <typename T, typename Acc, typename F>
void Apply(void* out, const void* a, const void* b, size_t n, F f) {
  T* o = static_cast<T*>(out);
  const T* x = static_cast<const T*>(a);
  const T* y = static_cast<const T*>(b);
  for (size_t i = 0; i < n; ++i)
    o[i] = static_cast<T>(f(static_cast<Acc>(x[i]), static_cast<Acc>(y[i])));
}

template <typename T, typename Acc>
void ReduceTyped(void* out, const void* a, const void* b, size_t n, ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kAvg: Apply<T, Acc>(out, a, b, n, [](Acc u, Acc v) { return u + v; }); break;
    case ReduceOp::kProd: Apply<T, Acc>(out, a, b, n, [](Acc u, Acc v) { return u * v; }); break;
    case ReduceOp::kMin:
      Apply<T, Acc>(out, a, b, n, [](Acc u, Acc v) { return std::min(u, v); });
      break;
    case ReduceOp::kMax:
      Apply<T, Acc>(out, a, b, n, [](Acc u, Acc v) { return std::max(u, v); });
      break;
  }
}

template <typename T, typename Acc>
void DivideTyped(void* buf, size_t n, int d) {
  T* p = static_cast<T*>(buf);
  for (size_t i = 0; i < n; ++i)
    p[i] = static_cast<T>(static_cast<Acc>(p[i]) / static_cast<Acc>(d));
}

}  // namespace

void ReduceInto(void* out, const void* a, const void* b, size_t n, DataType t, ReduceOp op) {
  switch (t) {
    case DataType::kF32: return ReduceTyped<float, float>(out, a, b, n, op);
    case DataType::kF64: return ReduceTyped<double, double>(out, a, b, n, op);
    case DataType::kF16: return ReduceTyped<f16_t, float>(out, a, b, n, op);
    case DataType::kBF16: return ReduceTyped<bf16_t, float>(out, a, b, n, op);
    case DataType::kI8: return ReduceTyped<int8_t, int>(out, a, b, n, op);
    case DataType::kU8: return ReduceTyped<uint8_t, unsigned>(out, a, b, n, op);
    case DataType::kI32: return ReduceTyped<int32_t, int32_t>(out, a, b, n, op);
    case DataType::kI64: return ReduceTyped<int64_t, int64_t>(out, a, b, n, op);
  }
  TP_CHECK_MSG(false, "unknown dtype");
}

namespace {

// out[i] = f(a[i], b[i]) with 16-byte non-temporal stores once out is 16-byte aligned.
template <typename F>
void StreamF32(float* out, const float* a, const float* b, size_t n, F f) {
  size_t i = 0;
  for (; i < n && (reinterpret_cast<uintptr_t>(out + i) & 15) != 0; ++i) {
    out[i] = f(_mm_set_ss(a[i]), _mm_set_ss(b[i]))[0];
  }
  for (; i + 4 <= n; i += 4) _mm_stream_ps(out + i, f(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i)));
  for (; i < n; ++i) out[i] = f(_mm_set_ss(a[i]), _mm_set_ss(b[i]))[0];
  _mm_sfence();
}

template <typename F>
void StreamF64(double* out, const double* a, const double* b, size_t n, F f) {
  size_t i = 0;
  for (; i < n && (reinterpret_cast<uintptr_t>(out + i) & 15) != 0; ++i) {
    out[i] = f(_mm_set_sd(a[i]), _mm_set_sd(b[i]))[0];
  }
  for (; i + 2 <= n; i += 2) _mm_stream_pd(out + i, f(_mm_loadu_pd(a + i), _mm_loadu_pd(b + i)));
  for (; i < n; ++i) out[i] = f(_mm_set_sd(a[i]), _mm_set_sd(b[i]))[0];
  _mm_sfence();
}

}  // namespace

void ReduceIntoStreaming(void* out, const void* a, const void* b, size_t n, DataType t,
                         ReduceOp op) {
  // Non-temporal stores only pay off when nothing else aliases out.
  if (out == a || out == b) return ReduceInto(out, a, b, n, t, op);
  if (t == DataType::kF32) {
    float* o = static_cast<float*>(out);
    const float* x = static_cast<const float*>(a);
    const float* y = static_cast<const float*>(b);
    switch (op) {
      case ReduceOp::kSum:
      case ReduceOp::kAvg:
        return StreamF32(o, x, y, n, [](__m128 u, __m128 v) { return _mm_add_ps(u, v); });
      case ReduceOp::kProd:
        return StreamF32(o, x, y, n, [](__m128 u, __m128 v) { return _mm_mul_ps(u, v); });
      default: break;  // min/max: NaN handling differs from std::min; keep the plain loop
    }
  } else if (t == DataType::kF64) {
    double* o = static_cast<double*>(out);
    const double* x = static_cast<const double*>(a);
    const double* y = static_cast<const double*>(b);
    switch (op) {
      case ReduceOp::kSum:
      case ReduceOp::kAvg:
        return StreamF64(o, x, y, n, [](__m128d u, __m128d v) { return _mm_add_pd(u, v); });
      case ReduceOp::kProd:
        return StreamF64(o, x, y, n, [](__m128d u, __m128d v) { return _mm_mul_pd(u, v); });
      default: break;
    }
  }
  ReduceInto(out, a, b, n, t, op);
}

void DivideForAvg(void* buf, size_t n, DataType t, int d) {
  switch (t) {
    case DataType::kF32: return DivideTyped<float, float>(buf, n, d);
    case DataType::kF64: return DivideTyped<double, double>(buf, n, d);
    case DataType::kF16: return DivideTyped<f16_t, float>(buf, n, d);
    case DataType::kBF16: return DivideTyped<bf16_t, float>(buf, n, d);
    case DataType::kI8: return DivideTyped<int8_t, int>(buf, n, d);
    case DataType::kU8: return DivideTyped<uint8_t, unsigned>(buf, n, d);
    case DataType::kI32: return DivideTyped<int32_t, int32_t>(buf, n, d);
    case DataType::kI64: return DivideTyped<int64_t, int64_t>(buf, n, d);
  }
  TP_CHECK_MSG(false, "unknown dtype");
}

}  // namespace tpbench
