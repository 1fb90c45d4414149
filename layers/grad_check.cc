#include "layers/grad_check.h"

#include <algorithm>

#include "comm/error.h"

namespace tpbench {

double Dot(const Tensor& a, const Tensor& b) {
  TP_CHECK(a.numel() == b.numel());
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += a.Get(i) * b.Get(i);
  return s;
}

double FdMaxRelError(const std::function<double()>& loss,
                     const std::vector<std::pair<Tensor*, const Tensor*>>& pairs, double eps) {
  double worst = 0;
  for (const auto& [x, grad] : pairs) {
    TP_CHECK(x->numel() == grad->numel());
    Tensor numeric(grad->shape(), DataType::kF64);
    for (int64_t i = 0; i < x->numel(); ++i) {
      double v = x->Get(i);
      x->Set(i, v + eps);
      double lp = loss();
      x->Set(i, v - eps);
      double lm = loss();
      x->Set(i, v);
      numeric.Set(i, (lp - lm) / (2 * eps));
    }
    worst = std::max(worst, MaxRelError(*grad, numeric));
  }
  return worst;
}

}  // namespace tpbench
