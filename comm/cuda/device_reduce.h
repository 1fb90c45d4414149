// comm/cuda/device_reduce.h: comm/reduce.h's element-wise reduction and avg division on
// device memory (device_reduce.cu), for the NCCL transport that runs tpbench's algorithms
// (comm/nccl/nccl_transport.h). Plain C++ (no CUDA header): the stream is a void*
// (cudaStream_t); dtype and op are static_cast<int>(DataType) and static_cast<int>(ReduceOp)
// (comm/types.h; the .cu cannot include it through the nvcc genrule). Each call enqueues one
// kernel on stream and returns its launch status (a cudaError_t, 0 = success).
//
//   DeviceReduce(out, a, b, n, static_cast<int>(DataType::kBF16),
//                static_cast<int>(ReduceOp::kSum), stream);  // out[i] = a[i] + b[i]
//
// Arithmetic as on the host: f16/bf16 combine in f32 and round to nearest even, i8/u8 in
// int/unsigned, min/max as std::min/std::max (the first operand on ties and NaN in b).
#ifndef TPBENCH_COMM_CUDA_DEVICE_REDUCE_H_
#define TPBENCH_COMM_CUDA_DEVICE_REDUCE_H_

#include <cstddef>

namespace tpbench {

// out[i] = a[i] (op) b[i]; out may alias a or b. op kAvg reduces as kSum.
int DeviceReduce(void* out, const void* a, const void* b, size_t count, int dtype, int op,
                 void* stream);
// buf[i] /= d (avg = sum / ranks), in the dtype's host arithmetic.
int DeviceDivide(void* buf, size_t count, int dtype, int d, void* stream);

}  // namespace tpbench

#endif  // TPBENCH_COMM_CUDA_DEVICE_REDUCE_H_
