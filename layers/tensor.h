// layers/tensor.h: a small owning tensor for the TP layers: shape (up to 4 dims), dtype,
// memory type, 64-byte aligned storage shared between a tensor and its views.
//
//   Tensor x({b * s, h}, DataType::kF64);     // zero-filled host tensor
//   x.FillUniform(/*seed=*/42, -1, 1);          // same seed -> same values on every rank
//   Tensor mine = x.RowChunk(t, r);             // view: rows chunk_t(rows)[r], shares storage
//   Tensor w_r = w.ColChunk(t, r);              // copy: columns chunk_t(cols)[r]
//   double err = MaxRelError(y_r, y_ref.ColChunk(t, r));
//
// Matrix view: every tensor is also read as a row-major matrix [rows(), cols()] where cols()
// is the last dimension and rows() the product of the others; row/column slicing uses it.
// Row slices are views (contiguous); column slices are copies (strided in memory).
// Element access (Get/Set, Fill*, MaxRelError) is for host memory only. Allocation, zeroing
// and copies (CopyCols, SetCols, CopyFrom, Clone, Zero, ToMemory) go through the MemoryOps of
// the tensor's memory type, so they work on device tensors too: host ops are built in, a
// device backend registers its own (layers/cuda registers kCuda's when it is linked).
#ifndef TPBENCH_LAYERS_TENSOR_H_
#define TPBENCH_LAYERS_TENSOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "comm/types.h"

namespace tpbench {

enum class MemoryType { kHost, kCuda };
const char* MemoryTypeName(MemoryType m);

using Shape = std::vector<int64_t>;
constexpr int kMaxTensorDims = 4;
std::string ShapeString(const Shape& s);  // "[6, 8]"

// How tensors of one memory type are allocated, zeroed and copied.
class MemoryOps {
 public:
  virtual ~MemoryOps() = default;
  virtual void* Allocate(size_t bytes) = 0;  // zero-filled, 64-byte aligned or better
  virtual void Free(void* p) = 0;
  virtual void SetZero(void* p, size_t bytes) = 0;
  // height rows of width bytes, row pitches dpitch and spitch (bytes). Either side may be in
  // host memory or in this memory type; the copy is complete (visible to the next op of the
  // backend, and to the host when dst is host memory) when it returns.
  virtual void Copy2D(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                      size_t height) = 0;
};
// Registers the ops of a device memory type (kHost's are built in and cannot be replaced).
// ops must outlive every tensor of that type.
void RegisterMemoryOps(MemoryType m, MemoryOps* ops);
// The ops of m; UsageError when no backend for m is linked into this binary.
MemoryOps& MemoryOpsOf(MemoryType m);

class Tensor {
 public:
  Tensor() = default;  // empty: no storage, numel() == 0, defined() == false
  // Allocates zero-filled storage. Throws UsageError on > 4 dims or negative sizes, and for a
  // memory type whose backend is not linked in (kCuda without layers/cuda).
  Tensor(Shape shape, DataType dtype, MemoryType memory = MemoryType::kHost);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_.at(i); }
  int64_t numel() const { return numel_; }
  int64_t cols() const { return shape_.empty() ? 1 : shape_.back(); }
  int64_t rows() const { return cols() == 0 ? 0 : numel_ / cols(); }
  DataType dtype() const { return dtype_; }
  MemoryType memory() const { return memory_; }
  size_t bytes() const { return static_cast<size_t>(numel_) * DataTypeSize(dtype_); }

  void* data() { return ptr(); }
  const void* data() const { return ptr(); }
  template <typename T>
  T* data_as() {
    return static_cast<T*>(ptr());
  }
  template <typename T>
  const T* data_as() const {
    return static_cast<const T*>(ptr());
  }

  // Host element access by flat index, as double.
  double Get(int64_t i) const;
  void Set(int64_t i, double v);

  // A view with another shape of the same numel (shares storage).
  Tensor Reshape(Shape shape) const;
  // A view of matrix rows [begin, end) as a 2D tensor [end - begin, cols()].
  Tensor RowView(int64_t begin, int64_t end) const;
  // chunk(rows, n)[r] as a view; rows() must be divisible by n (UsageError otherwise).
  Tensor RowChunk(int64_t n, int64_t r) const;
  // A copy of matrix columns [begin, end) as a 2D tensor [rows(), end - begin].
  Tensor CopyCols(int64_t begin, int64_t end) const;
  // chunk(cols, n)[r] as a copy; cols() must be divisible by n. A 1D tensor (a bias) is
  // chunked along its only dimension and stays 1D.
  Tensor ColChunk(int64_t n, int64_t r) const;
  // Writes src (a [rows(), k] matrix) into columns [begin, begin + k) of this tensor.
  void SetCols(int64_t begin, const Tensor& src);
  // Copies src (same numel and dtype) into this tensor's storage.
  void CopyFrom(const Tensor& src);

  Tensor Clone() const;                 // deep copy, same shape, dtype and memory
  Tensor ToMemory(MemoryType m) const;  // deep copy into memory m (this tensor if already there)
  Tensor To(DataType dtype) const;      // deep copy converted to dtype (host)
  void Zero();                          // sets every element to 0
  // Fills with uniform values in [lo, hi) from a counter-based generator: element i of the
  // tensor gets a value that depends only on (seed, i), so every rank that builds the same
  // full tensor from the same seed gets the same bits, and f32/f64 tensors filled from one
  // seed hold the same values up to rounding.
  void FillUniform(uint64_t seed, double lo, double hi);
  void Fill(double v);

 private:
  struct Storage;
  void* ptr() const;

  std::shared_ptr<Storage> storage_;
  size_t offset_bytes_ = 0;
  Shape shape_;
  int64_t numel_ = 0;
  DataType dtype_ = DataType::kF32;
  MemoryType memory_ = MemoryType::kHost;
};

// Bytes of tensor storage in this process (every Tensor allocation, 64-byte rounded; views
// share their storage): live now, and the high-water mark since the last ResetPeak() (which
// sets it to the live bytes). The layer benchmark's peak_mem_bytes_per_rank, like
// torch.cuda.max_memory_allocated: communication library buffers are not in it.
struct TensorMemory {
  static int64_t LiveBytes();
  static int64_t PeakBytes();
  static void ResetPeak();
};

// max_i |a_i - b_i| / max(max_i |b_i|, 1e-300): the error of a relative to the reference b,
// normalised by the reference's largest magnitude (robust to elements near zero). Shapes
// must have the same numel; 0 when both are empty.
double MaxRelError(const Tensor& a, const Tensor& b);
// max_i |a_i - b_i|.
double MaxAbsError(const Tensor& a, const Tensor& b);

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_TENSOR_H_
