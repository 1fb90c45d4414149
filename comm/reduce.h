// comm/reduce.h: element-wise reduction kernels on host memory for every dtype and op.
//
//   ReduceInto(out, a, b, n, DataType::kF32, ReduceOp::kSum);  // out[i] = a[i] + b[i]
//   DivideForAvg(out, n, DataType::kF32, world);                // avg = sum / world
//
// out may alias a or b. kAvg is not a reduction here: reduce with kSum, then DivideForAvg.
#ifndef TPBENCH_COMM_REDUCE_H_
#define TPBENCH_COMM_REDUCE_H_

#include <cstddef>

#include "comm/types.h"

namespace tpbench {

void ReduceInto(void* out, const void* a, const void* b, size_t count, DataType t, ReduceOp op);
void DivideForAvg(void* buf, size_t count, DataType t, int n);

// ReduceInto for outputs that this core will not read again soon (the final blocks of a large
// reduction): f32/f64 results go to memory with non-temporal stores, which saves the cache
// line reads a normal store costs. Same results as ReduceInto; other dtypes fall back to it.
void ReduceIntoStreaming(void* out, const void* a, const void* b, size_t count, DataType t,
                         ReduceOp op);

}  // namespace tpbench

#endif  // TPBENCH_COMM_REDUCE_H_
