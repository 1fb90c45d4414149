// bench/npy.cc: see npy.h.
#include "bench/npy.h"

#include "bench/output.h"
#include "comm/error.h"

namespace tpbench {

std::string NpyBytes(const Tensor& t) {
  std::string descr;
  if (t.dtype() == DataType::kF32) {
    descr = "<f4";
  } else if (t.dtype() == DataType::kF64) {
    descr = "<f8";
  } else {
    throw UsageError(std::string("npy: dtype ") + DataTypeName(t.dtype()) + " is not f32/f64");
  }
  std::string shape;
  for (int i = 0; i < t.ndim(); ++i) shape += std::to_string(t.dim(i)) + ", ";
  shape.resize(shape.size() - (t.ndim() > 1 ? 2 : t.ndim() == 1 ? 1 : 0));  // (2, 3) but (4,)
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple
  // of 64 and ended by '\n'.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(static_cast<const char*>(t.data()), t.bytes());  // x86/arm: little-endian
  return out;
}

void WriteNpy(const std::string& path, const Tensor& t) {
  MakeParentDirs(path);
  WriteFileAtomically(path, NpyBytes(t));
}

}  // namespace tpbench
