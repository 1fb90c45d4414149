// layers/grad_check.h (testonly): central finite-difference checks of hand-written backwards.
//
//   Tensor dy(...); dy.FillUniform(7, -1, 1);
//   auto loss = [&] { c.GeluForward(x, &y); return Dot(y, dy); };   // L = <f(x), dy>
//   c.GeluBackward(x, dy, &dx);                                      // analytic dL/dx
//   EXPECT_LT(FdMaxRelError(loss, {{&x, &dx}}), 1e-6);
#ifndef TPBENCH_LAYERS_GRAD_CHECK_H_
#define TPBENCH_LAYERS_GRAD_CHECK_H_

#include <functional>
#include <utility>
#include <vector>

#include "layers/tensor.h"

namespace tpbench {

// sum_i a_i * b_i, accumulated in double.
double Dot(const Tensor& a, const Tensor& b);

// For each (input, analytic gradient) pair, perturbs every element of input by +-eps,
// evaluates loss() twice, and compares (L+ - L-) / 2eps with the analytic gradient.
// Returns the largest MaxRelError(analytic, numeric) over the pairs. Inputs are restored.
double FdMaxRelError(const std::function<double()>& loss,
                     const std::vector<std::pair<Tensor*, const Tensor*>>& pairs,
                     double eps = 1e-6);

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_GRAD_CHECK_H_
