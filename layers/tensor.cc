#include "layers/tensor.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "comm/error.h"

namespace tpbench {

const char* MemoryTypeName(MemoryType m) {
  switch (m) {
    case MemoryType::kHost: return "host";
    case MemoryType::kCuda: return "cuda";
  }
  return "?";
}

std::string ShapeString(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

namespace {
std::atomic<int64_t> g_live_bytes{0};
std::atomic<int64_t> g_peak_bytes{0};
}  // namespace

int64_t TensorMemory::LiveBytes() { return g_live_bytes.load(); }
int64_t TensorMemory::PeakBytes() { return g_peak_bytes.load(); }
void TensorMemory::ResetPeak() { g_peak_bytes.store(g_live_bytes.load()); }

namespace {

class HostMemoryOps : public MemoryOps {
 public:
  void* Allocate(size_t bytes) override {
    // Out of memory is exit 3 naming the size, as everywhere (comm/error.h).
    void* p = AlignedAllocOrThrow(64, bytes, "a host tensor");
    std::memset(p, 0, bytes);
    return p;
  }
  void Free(void* p) override { std::free(p); }
  void SetZero(void* p, size_t bytes) override { std::memset(p, 0, bytes); }
  void Copy2D(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
              size_t height) override {
    if (width == 0 || height == 0) return;
    if (dpitch == width && spitch == width) {
      std::memmove(dst, src, width * height);
      return;
    }
    for (size_t i = 0; i < height; ++i) {
      std::memcpy(static_cast<char*>(dst) + i * dpitch, static_cast<const char*>(src) + i * spitch,
                  width);
    }
  }
};

HostMemoryOps g_host_ops;
MemoryOps* g_device_ops = nullptr;  // kCuda

// The ops that can copy between a and b: the device's if either side is device memory.
MemoryOps& CopyOps(MemoryType a, MemoryType b) {
  return MemoryOpsOf(a != MemoryType::kHost ? a : b);
}

}  // namespace

void RegisterMemoryOps(MemoryType m, MemoryOps* ops) {
  TP_CHECK_MSG(m != MemoryType::kHost, "host memory ops are built in");
  g_device_ops = ops;
}

MemoryOps& MemoryOpsOf(MemoryType m) {
  if (m == MemoryType::kHost) return g_host_ops;
  if (g_device_ops == nullptr) {
    throw UsageError(std::string("tensor: memory type '") + MemoryTypeName(m) +
                     "' is not supported by this build (its backend is not linked in; GPU "
                     "targets need --config=cuda)");
  }
  return *g_device_ops;
}

struct Tensor::Storage {
  void* p = nullptr;
  int64_t size = 0;  // bytes allocated (rounded up to 64)
  MemoryOps* ops = nullptr;
  Storage(size_t bytes, MemoryType m) {
    size_t n = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
    ops = &MemoryOpsOf(m);
    p = ops->Allocate(n);
    size = static_cast<int64_t>(n);
    const int64_t live = g_live_bytes.fetch_add(size) + size;
    int64_t peak = g_peak_bytes.load();
    while (live > peak && !g_peak_bytes.compare_exchange_weak(peak, live)) {
    }
  }
  ~Storage() {
    g_live_bytes.fetch_sub(size);
    ops->Free(p);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

namespace {

int64_t CheckedNumel(const Shape& shape) {
  if (shape.size() > static_cast<size_t>(kMaxTensorDims)) {
    throw UsageError("tensor: shape " + ShapeString(shape) + " has more than 4 dimensions");
  }
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw UsageError("tensor: negative dimension in shape " + ShapeString(shape));
    n *= d;
  }
  return n;
}

// splitmix64 of (seed, index): a stateless, platform-independent stream.
uint64_t Mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

Tensor::Tensor(Shape shape, DataType dtype, MemoryType memory)
    : shape_(std::move(shape)), dtype_(dtype), memory_(memory) {
  numel_ = CheckedNumel(shape_);
  storage_ = std::make_shared<Storage>(bytes(), memory);
}

void* Tensor::ptr() const {
  if (!storage_) return nullptr;
  return static_cast<char*>(storage_->p) + offset_bytes_;
}

namespace {
void CheckHostAccess(MemoryType m, const char* op) {
  if (m != MemoryType::kHost) {
    throw UsageError(std::string("tensor: ") + op + " on a " + MemoryTypeName(m) +
                     " tensor (element access is host-only: ToMemory(MemoryType::kHost) first)");
  }
}
}  // namespace

double Tensor::Get(int64_t i) const {
  CheckHostAccess(memory_, "Get");
  TP_CHECK(i >= 0 && i < numel_);
  return LoadAsDouble(ptr(), static_cast<size_t>(i), dtype_);
}

void Tensor::Set(int64_t i, double v) {
  CheckHostAccess(memory_, "Set");
  TP_CHECK(i >= 0 && i < numel_);
  StoreFromDouble(ptr(), static_cast<size_t>(i), dtype_, v);
}

Tensor Tensor::Reshape(Shape shape) const {
  int64_t n = CheckedNumel(shape);
  if (n != numel_) {
    throw UsageError("tensor: cannot reshape " + ShapeString(shape_) + " to " + ShapeString(shape));
  }
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::RowView(int64_t begin, int64_t end) const {
  if (begin < 0 || end < begin || end > rows()) {
    throw UsageError("tensor: row range [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") out of bounds for " + std::to_string(rows()) + " rows");
  }
  Tensor t = *this;
  t.shape_ = {end - begin, cols()};
  t.numel_ = (end - begin) * cols();
  t.offset_bytes_ += static_cast<size_t>(begin * cols()) * DataTypeSize(dtype_);
  return t;
}

Tensor Tensor::RowChunk(int64_t n, int64_t r) const {
  if (n <= 0 || rows() % n != 0) {
    throw UsageError("tensor: rows (" + std::to_string(rows()) + ") not divisible by chunks (" +
                     std::to_string(n) + ")");
  }
  TP_CHECK(r >= 0 && r < n);
  int64_t k = rows() / n;
  return RowView(r * k, (r + 1) * k);
}

Tensor Tensor::CopyCols(int64_t begin, int64_t end) const {
  if (begin < 0 || end < begin || end > cols()) {
    throw UsageError("tensor: column range [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") out of bounds for " + std::to_string(cols()) + " columns");
  }
  Shape s = ndim() == 1 ? Shape{end - begin} : Shape{rows(), end - begin};
  Tensor t(s, dtype_, memory_);
  const size_t es = DataTypeSize(dtype_);
  MemoryOpsOf(memory_).Copy2D(t.ptr(), (end - begin) * es,
                              static_cast<const char*>(ptr()) + begin * es, cols() * es,
                              (end - begin) * es, rows());
  return t;
}

Tensor Tensor::ColChunk(int64_t n, int64_t r) const {
  if (n <= 0 || cols() % n != 0) {
    throw UsageError("tensor: columns (" + std::to_string(cols()) + ") not divisible by chunks (" +
                     std::to_string(n) + ")");
  }
  TP_CHECK(r >= 0 && r < n);
  int64_t k = cols() / n;
  return CopyCols(r * k, (r + 1) * k);
}

void Tensor::SetCols(int64_t begin, const Tensor& src) {
  int64_t k = src.cols();
  if (src.rows() != rows() || begin < 0 || begin + k > cols() || src.dtype_ != dtype_) {
    throw UsageError("tensor: SetCols of " + ShapeString(src.shape_) + " at column " +
                     std::to_string(begin) + " does not fit " + ShapeString(shape_));
  }
  const size_t es = DataTypeSize(dtype_);
  CopyOps(memory_, src.memory_)
      .Copy2D(static_cast<char*>(ptr()) + begin * es, cols() * es, src.ptr(), k * es, k * es,
              rows());
}

void Tensor::CopyFrom(const Tensor& src) {
  if (src.numel_ != numel_ || src.dtype_ != dtype_) {
    throw UsageError("tensor: CopyFrom " + ShapeString(src.shape_) + " " +
                     DataTypeName(src.dtype_) + " into " + ShapeString(shape_) + " " +
                     DataTypeName(dtype_));
  }
  if (numel_ > 0)
    CopyOps(memory_, src.memory_).Copy2D(ptr(), bytes(), src.ptr(), bytes(), bytes(), 1);
}

Tensor Tensor::ToMemory(MemoryType m) const {
  if (m == memory_ || !defined()) return *this;
  Tensor t(shape_, dtype_, m);
  t.CopyFrom(*this);
  return t;
}

Tensor Tensor::Clone() const {
  Tensor t(shape_, dtype_, memory_);
  t.CopyFrom(*this);
  return t;
}

Tensor Tensor::To(DataType dtype) const {
  Tensor t(shape_, dtype, memory_);
  for (int64_t i = 0; i < numel_; ++i) t.Set(i, Get(i));
  return t;
}

void Tensor::Zero() {
  if (numel_ > 0) MemoryOpsOf(memory_).SetZero(ptr(), bytes());
}

void Tensor::Fill(double v) {
  for (int64_t i = 0; i < numel_; ++i) Set(i, v);
}

void Tensor::FillUniform(uint64_t seed, double lo, double hi) {
  uint64_t key = Mix(seed ^ 0x5eed5eed5eed5eedULL);
  for (int64_t i = 0; i < numel_; ++i) {
    uint64_t z = Mix(key + static_cast<uint64_t>(i) * 0xd1b54a32d192ed03ULL);
    double u = static_cast<double>(z >> 11) * 0x1.0p-53;  // [0, 1)
    Set(i, lo + (hi - lo) * u);
  }
}

double MaxAbsError(const Tensor& a, const Tensor& b) {
  if (a.numel() != b.numel()) {
    throw UsageError("MaxAbsError: numel differs: " + ShapeString(a.shape()) + " vs " +
                     ShapeString(b.shape()));
  }
  double e = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    double d = std::fabs(a.Get(i) - b.Get(i));
    if (std::isnan(d)) return INFINITY;  // NaN anywhere is an infinite error, never hidden
    e = std::max(e, d);
  }
  return e;
}

double MaxRelError(const Tensor& a, const Tensor& b) {
  double e = MaxAbsError(a, b);
  double m = 0;
  for (int64_t i = 0; i < b.numel(); ++i) m = std::max(m, std::fabs(b.Get(i)));
  return e / std::max(m, 1e-300);
}

}  // namespace tpbench
