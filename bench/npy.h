// bench/npy.h: writes a host tensor as a NumPy .npy file (format version 1.0: magic, header
// dict {'descr': '<f4' or '<f8', 'fortran_order': False, 'shape': (...)}, C-order data).
//
//   WriteNpy("dump/x.npy", x);   // numpy.load("dump/x.npy") gives the same values
#ifndef TPBENCH_BENCH_NPY_H_
#define TPBENCH_BENCH_NPY_H_

#include <string>

#include "layers/tensor.h"

namespace tpbench {

// The .npy bytes of t (f32 or f64; UsageError otherwise).
std::string NpyBytes(const Tensor& t);
// Writes NpyBytes(t) to path atomically, creating parent folders.
void WriteNpy(const std::string& path, const Tensor& t);

}  // namespace tpbench

#endif  // TPBENCH_BENCH_NPY_H_
