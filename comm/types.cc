#include "comm/types.h"

#include <cstring>

namespace tpbench {
namespace {

const char* const kDataTypeNames[kNumDataTypes] = {"f32", "f64", "f16", "bf16",
                                                   "i8",  "u8",  "i32", "i64"};
const size_t kDataTypeSizes[kNumDataTypes] = {4, 8, 2, 2, 1, 1, 4, 8};
const char* const kReduceOpNames[kNumReduceOps] = {"sum", "prod", "min", "max", "avg"};
const char* const kOpKindNames[kNumOpKinds] = {"all_reduce", "all_gather", "reduce_scatter",
                                               "broadcast",  "reduce",     "all_to_all",
                                               "sendrecv",   "barrier",    "internal"};

std::string Join(const char* const* names, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i) s += ", ";
    s += names[i];
  }
  return s;
}

}  // namespace

size_t DataTypeSize(DataType t) { return kDataTypeSizes[static_cast<int>(t)]; }
const char* DataTypeName(DataType t) { return kDataTypeNames[static_cast<int>(t)]; }
const char* ReduceOpName(ReduceOp op) { return kReduceOpNames[static_cast<int>(op)]; }
const char* OpKindName(OpKind k) { return kOpKindNames[static_cast<int>(k)]; }

bool ParseDataType(const std::string& s, DataType* out) {
  for (int i = 0; i < kNumDataTypes; ++i) {
    if (s == kDataTypeNames[i]) {
      *out = static_cast<DataType>(i);
      return true;
    }
  }
  // Common aliases.
  if (s == "float" || s == "float32") return *out = DataType::kF32, true;
  if (s == "double" || s == "float64") return *out = DataType::kF64, true;
  if (s == "half" || s == "float16") return *out = DataType::kF16, true;
  if (s == "bfloat16") return *out = DataType::kBF16, true;
  if (s == "int32") return *out = DataType::kI32, true;
  if (s == "int64") return *out = DataType::kI64, true;
  if (s == "int8") return *out = DataType::kI8, true;
  if (s == "uint8") return *out = DataType::kU8, true;
  return false;
}

bool ParseReduceOp(const std::string& s, ReduceOp* out) {
  for (int i = 0; i < kNumReduceOps; ++i) {
    if (s == kReduceOpNames[i]) {
      *out = static_cast<ReduceOp>(i);
      return true;
    }
  }
  return false;
}

bool ParseOpKind(const std::string& s, OpKind* out) {
  for (OpKind k : AllCollectives()) {
    if (s == OpKindName(k)) {
      *out = k;
      return true;
    }
  }
  return false;
}

std::vector<DataType> AllDataTypes() {
  std::vector<DataType> v;
  for (int i = 0; i < kNumDataTypes; ++i) v.push_back(static_cast<DataType>(i));
  return v;
}

std::vector<ReduceOp> AllReduceOps() {
  std::vector<ReduceOp> v;
  for (int i = 0; i < kNumReduceOps; ++i) v.push_back(static_cast<ReduceOp>(i));
  return v;
}

std::vector<OpKind> AllCollectives() {
  return {OpKind::kAllReduce, OpKind::kAllGather, OpKind::kReduceScatter, OpKind::kBroadcast,
          OpKind::kReduce,    OpKind::kAllToAll,  OpKind::kSendRecv};
}

std::string DataTypeNames() { return Join(kDataTypeNames, kNumDataTypes); }
std::string ReduceOpNames() { return Join(kReduceOpNames, kNumReduceOps); }
std::string OpKindNames() {
  std::string s;
  for (OpKind k : AllCollectives()) {
    if (!s.empty()) s += ", ";
    s += OpKindName(k);
  }
  return s;
}

bf16_t::bf16_t(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) {  // NaN: keep it a quiet NaN
    bits = static_cast<uint16_t>((u >> 16) | 0x40);
    return;
  }
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even
  bits = static_cast<uint16_t>(u >> 16);
}

bf16_t::operator float() const {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

double LoadAsDouble(const void* buf, size_t i, DataType t) {
  switch (t) {
    case DataType::kF32: return static_cast<const float*>(buf)[i];
    case DataType::kF64: return static_cast<const double*>(buf)[i];
    case DataType::kF16: return static_cast<double>(static_cast<const f16_t*>(buf)[i]);
    case DataType::kBF16: return static_cast<float>(static_cast<const bf16_t*>(buf)[i]);
    case DataType::kI8: return static_cast<const int8_t*>(buf)[i];
    case DataType::kU8: return static_cast<const uint8_t*>(buf)[i];
    case DataType::kI32: return static_cast<const int32_t*>(buf)[i];
    case DataType::kI64: return static_cast<double>(static_cast<const int64_t*>(buf)[i]);
  }
  return 0;
}

void StoreFromDouble(void* buf, size_t i, DataType t, double v) {
  switch (t) {
    case DataType::kF32: static_cast<float*>(buf)[i] = static_cast<float>(v); break;
    case DataType::kF64: static_cast<double*>(buf)[i] = v; break;
    case DataType::kF16: static_cast<f16_t*>(buf)[i] = static_cast<f16_t>(v); break;
    case DataType::kBF16: static_cast<bf16_t*>(buf)[i] = bf16_t(static_cast<float>(v)); break;
    case DataType::kI8: static_cast<int8_t*>(buf)[i] = static_cast<int8_t>(v); break;
    case DataType::kU8: static_cast<uint8_t*>(buf)[i] = static_cast<uint8_t>(v); break;
    case DataType::kI32: static_cast<int32_t*>(buf)[i] = static_cast<int32_t>(v); break;
    case DataType::kI64: static_cast<int64_t*>(buf)[i] = static_cast<int64_t>(v); break;
  }
}

}  // namespace tpbench
