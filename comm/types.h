// comm/types.h: element types, reductions and op kinds shared by every backend.
//
//   DataType t;
//   if (!ParseDataType("bf16", &t)) Fail(UsageError("unknown dtype ... valid: " +
//   DataTypeNames())); size_t bytes = count * DataTypeSize(t);
#ifndef TPBENCH_COMM_TYPES_H_
#define TPBENCH_COMM_TYPES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tpbench {

enum class DataType { kF32, kF64, kF16, kBF16, kI8, kU8, kI32, kI64 };
constexpr int kNumDataTypes = 8;

enum class ReduceOp { kSum, kProd, kMin, kMax, kAvg };
constexpr int kNumReduceOps = 5;

// Collective and point-to-point operations; also the index of the per-op byte counters.
enum class OpKind {
  kAllReduce,
  kAllGather,
  kReduceScatter,
  kBroadcast,
  kReduce,
  kAllToAll,
  kSendRecv,
  kBarrier,
  kInternal,  // bootstrap / split bookkeeping traffic, never part of a measured op
};
constexpr int kNumOpKinds = 9;

size_t DataTypeSize(DataType t);
const char* DataTypeName(DataType t);
const char* ReduceOpName(ReduceOp op);
const char* OpKindName(OpKind k);  // "all_reduce", "all_gather", ...

bool ParseDataType(const std::string& s, DataType* out);
bool ParseReduceOp(const std::string& s, ReduceOp* out);
bool ParseOpKind(const std::string& s, OpKind* out);

std::vector<DataType> AllDataTypes();
std::vector<ReduceOp> AllReduceOps();
// The measurable collectives (no kBarrier, kInternal).
std::vector<OpKind> AllCollectives();

// Comma-separated valid names, for error messages.
std::string DataTypeNames();
std::string ReduceOpNames();
std::string OpKindNames();

// 16-bit float types. f16 uses GCC's _Float16; bf16 is a storage type with round-to-nearest-even.
using f16_t = _Float16;
struct bf16_t {
  uint16_t bits;
  bf16_t() = default;
  explicit bf16_t(float f);
  explicit operator float() const;
};
static_assert(sizeof(bf16_t) == 2, "bf16 must be 2 bytes");

// Element access by dtype for tests and checks: value <-> double (exact for small integers).
double LoadAsDouble(const void* buf, size_t i, DataType t);
void StoreFromDouble(void* buf, size_t i, DataType t, double v);

}  // namespace tpbench

#endif  // TPBENCH_COMM_TYPES_H_
