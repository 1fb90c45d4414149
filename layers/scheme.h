// layers/scheme.h: a tensor-parallel scheme as data: its mesh, shape checks, which slice of
// every tensor a rank holds, its layers, and its communication plan, in one registry.
//
//   const TpScheme& s = FindScheme("2d");                  // UsageError lists the names
//   SchemeOptions opt;                                      // overlap, depth (2.5d), summa
//   MeshShape axes = s.MeshFor(world->size(), opt);         // {row: q, col: q}; bad P: UsageError
//   s.Validate(cfg, axes);                                  // b, nh, h divisible as needed
//   Mesh mesh(world.get(), axes);
//   LayerParams mine = ShardParams(s, cfg, full, axes, mesh.coords());
//   std::unique_ptr<TpCase> blk = s.MakeCase(&compute, &mesh, cfg, "block", opt);
//   Tensor y = blk->Forward(mine, SliceOf(s, "x", x_full, cfg, axes, mesh.coords()));
//   CommPlan plan = s.Plan(cfg, "block", axes, opt);        // what one fwd+bwd step sends
//   uint64_t model = PlanBytesPerRank(plan, axes, DataType::kF32);
//   PlanSkeleton skel(&mesh, plan, DataType::kF32);         // layers/plan_skeleton.h
//
// The plan is the one description of a scheme's communication: //bench:patterns runs it
// (PlanSkeleton), //bench:layers reports its bytes as comm_bytes_model, the docs print it
// (PlanTable), and the multi-rank tests check the layers' measured bytes against it and
// against TP_SCHEMES.md section 6's closed forms, per group.
//
// Tensor names: LayerParams::Named() ("attn.qkv.w", "ln1.gamma", ...) and "x", the layout of a
// case's input, output, dX and dY. Every slice is a rectangle of the full tensor read as a
// matrix (a 1D tensor is one row), so one Region() serves slicing and gathering.
#ifndef TPBENCH_LAYERS_SCHEME_H_
#define TPBENCH_LAYERS_SCHEME_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "layers/compute.h"
#include "layers/mesh.h"
#include "layers/reference.h"
#include "layers/tensor.h"

namespace tpbench {

struct SchemeOptions {
  // Async collectives overlapped with compute where the scheme has them (1D: dX all-reduce
  // during dW; SUMMA: step t+1's broadcasts during step t's GEMM). Same bytes either way.
  bool overlap = true;
  int64_t depth = 1;            // 2.5d: the depth d of P = d*q^2
  std::string summa = "bcast";  // 2d/2.5d: "bcast" (q broadcasts per GEMM) or "allgather"
};

// One collective of a plan: `calls` calls of `kind` on group `group` with n elements each
// (all-reduce: the buffer; all-gather: the gathered output; reduce-scatter: the input;
// broadcast/reduce: the message). Broadcast/reduce roots rotate over the group's ranks.
struct CommOp {
  std::string group;  // a group name of the plan ("TP", "ROW", "COL", ...)
  OpKind kind = OpKind::kAllReduce;
  int64_t n = 0;
  int64_t calls = 1;
  bool backward = false;
  std::string what;  // "fc1: X panel", for tables
};

struct CommPlan {
  std::vector<CommOp> ops;  // forward ops first, in issue order
  // Group name -> the mesh axes that vary in it.
  std::map<std::string, std::vector<std::string>> groups;
  size_t forward_ops() const;
};

// Ring model per rank in bytes (TP_SCHEMES.md section 0): all-reduce 2(g-1)/g*n, all-gather and
// reduce-scatter (g-1)/g*n, broadcast/reduce (g-1)/g*n per call (with roots rotating, exactly
// (g-1)*n per g calls on every rank), times calls; over the ops `keep` selects (all if empty).
uint64_t PlanBytesPerRank(const CommPlan& plan, const MeshShape& axes, DataType dt,
                          const std::function<bool(const CommOp&)>& keep = {});
// A markdown table of the plan: phase, group (size), op, elements, calls, bytes per rank.
std::string PlanTable(const CommPlan& plan, const MeshShape& axes, DataType dt);
// Size of a plan group on a mesh.
int64_t PlanGroupSize(const CommPlan& plan, const MeshShape& axes, const std::string& group);

class TpScheme;

// --- Peak tensor memory per rank: the model next to //bench:layers' peak_mem_bytes_per_rank ---
// One term of a memory model: `count` tensors of `elements` each, live together at the step's
// high-water mark.
struct MemTerm {
  std::string what;  // "attention probabilities", "param mlp.fc1.w", ...
  int64_t count = 1;
  int64_t elements = 0;
};
// The tensors live at one instant of one forward + backward step (empty: no model for the case).
struct MemoryModel {
  std::vector<MemTerm> terms;
};
// The model's bytes: every tensor rounded up to 64 bytes as TensorMemory counts it; over the
// terms `keep` selects (all if empty).
uint64_t MemoryModelBytes(const MemoryModel& m, DataType dt,
                          const std::function<bool(const MemTerm&)>& keep = {});
// A markdown table of the model: term, tensors, elements each, bytes.
std::string MemoryModelTable(const MemoryModel& m, DataType dt);

// A scheme's per-rank activation sizes (elements) from which LayerMemoryModel builds its model.
struct ActivationSizes {
  int64_t x = 0;                  // the case's input, output, dX and dY (the "x" region)
  int64_t ln_rows = 0;            // a LayerNorm's mean and rstd
  int64_t head = 0;               // one of q, k, v and the context: b_l * nh_l * s * hd
  int64_t probs = 0;              // the attention probabilities: b_l * nh_l * s * s
  int64_t ffn = 0;                // fc1's output (and the GeLU's)
  int64_t ln_gamma_gathered = 0;  // 2d: the [h/q] gamma each LayerNorm gathers and keeps
  // 3d: each linear keeps its gathered input and weight (name -> {Xg, Wg}); then neither the
  // LayerNorm outputs nor the context are kept (the linears hold gathered copies).
  std::map<std::string, std::pair<int64_t, int64_t>> gathered;
};
// The tensors live on a rank when CoreAttentionBackward allocates dQKV in one step of case
// "attention" or "block" (the case's parameters, x and dY, every saved activation, the output,
// the gradients already made, and the attention backward's working set: its high-water mark
// when the attention probabilities dominate, docs/schemes.md "Memory per rank"); empty for
// "linear" and "mlp". Parameter sizes come from the scheme's Region.
MemoryModel LayerMemoryModel(const TpScheme& s, const LayerConfig& cfg, const std::string& kind,
                             const MeshShape& axes, const ActivationSizes& a);

// The algorithm the schemes use for an op kind on comm, asked of the communicator
// (Algorithms(kind), never its backend's name): "auto" when it offers "native" (a library's
// own collectives: mpi, nccl, even though nccl also offers tpbench's algorithms over its
// point-to-point); otherwise "ring" (all-reduce, all-gather, reduce-scatter) and "binomial"
// (broadcast, reduce) when offered (tpbench's algorithms on ucx), whose bytes are the ring
// model above; otherwise "auto".
std::string SchemeAlgorithm(const Communicator& comm, OpKind kind);

// A rectangle of a matrix: rows [r0, r1), cols [c0, c1).
struct Rect {
  int64_t r0 = 0, r1 = 0, c0 = 0, c1 = 0;
};
// chunk(n, parts)[i] as a half-open range.
inline int64_t ChunkBegin(int64_t n, int64_t parts, int64_t i) { return n / parts * i; }
inline Rect AllOf(const Shape& full) {
  const int64_t cols = full.empty() ? 1 : full.back();
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < full.size(); ++i) rows *= full[i];
  return {0, rows, 0, cols};
}

// One case ("linear": fc1 then fc2; "mlp"; "attention"; "block") of a scheme on this rank.
// Parameters and gradients use LayerParams' structure with only the case's parts defined.
class TpCase {
 public:
  virtual ~TpCase() = default;
  virtual Tensor Forward(const LayerParams& p, const Tensor& x) = 0;
  virtual Tensor Backward(const LayerParams& p, const Tensor& dy, LayerGrads* grads) = 0;
  // Wall time spent in communication calls since the last reset (see Tp1d::exposed_comm_s).
  virtual double exposed_comm_s() const = 0;
  virtual void ResetCommClock() = 0;
};

class TpScheme {
 public:
  virtual ~TpScheme() = default;
  virtual std::string name() const = 0;    // "1d", "1d-sp", "2d", "2.5d", "3d"
  virtual std::string prefix() const = 0;  // of benchmark names: "tp1d", "tp2d", ...
  virtual int order() const = 0;           // position in AllSchemes()
  // The mesh for P ranks; UsageError naming the shape and P when P does not fit.
  virtual MeshShape MeshFor(int64_t P, const SchemeOptions& opt) const = 0;
  // UsageError naming the dimension when cfg does not split over the mesh.
  virtual void Validate(const LayerConfig& cfg, const MeshShape& axes) const = 0;
  // The rectangle of the full tensor `name` (shape full) held at coords.
  virtual Rect Region(const std::string& name, const Shape& full, const LayerConfig& cfg,
                      const MeshShape& axes, const std::vector<int64_t>& coords) const = 0;
  // What one forward + backward step of case `kind` sends.
  virtual CommPlan Plan(const LayerConfig& cfg, const std::string& kind, const MeshShape& axes,
                        const SchemeOptions& opt) const = 0;
  // The part of benchmark names that tells this scheme's variants apart ("summa:bcast"), or "".
  virtual std::string NameTag(const SchemeOptions&) const { return ""; }
  // The same variant as results fields ({"summa": "bcast"}; {} when the scheme has none).
  virtual std::map<std::string, std::string> VariantFields(const SchemeOptions&) const {
    return {};
  }
  // Whether SchemeOptions::summa selects a variant (2d, 2.5d).
  virtual bool has_summa() const { return false; }
  // The tensors live at the step's modelled high-water mark (LayerMemoryModel); empty when the
  // scheme has no model for the case.
  virtual MemoryModel Memory(const LayerConfig&, const std::string&, const MeshShape&,
                             const SchemeOptions&) const {
    return {};
  }
  // The case's layer on this rank (c and mesh must outlive it).
  virtual std::unique_ptr<TpCase> MakeCase(Compute* c, Mesh* mesh, const LayerConfig& cfg,
                                           const std::string& kind,
                                           const SchemeOptions& opt) const = 0;
};

// Registered schemes in order(); FindScheme throws UsageError listing the names.
const std::vector<const TpScheme*>& AllSchemes();
std::vector<std::string> SchemeNames();
const TpScheme& FindScheme(const std::string& name);
bool RegisterScheme(const TpScheme* s);
#define TPBENCH_REGISTER_SCHEME(cls) \
  static const bool tpbench_scheme_##cls = ::tpbench::RegisterScheme(new cls)

// A copy of the rectangle r of full (a 1D tensor stays 1D).
Tensor CopyRegion(const Tensor& full, const Rect& r);
// This rank's slice of the full tensor `name`.
Tensor SliceOf(const TpScheme& s, const std::string& name, const Tensor& full,
               const LayerConfig& cfg, const MeshShape& axes, const std::vector<int64_t>& coords);
// This rank's slice of every defined tensor of full (parameters or full-size gradients).
LayerParams ShardParams(const TpScheme& s, const LayerConfig& cfg, const LayerParams& full,
                        const MeshShape& axes, const std::vector<int64_t>& coords);
// The full tensor `name` of shape full from every rank's slice: `all` holds the slices of
// mesh ranks 0..P-1 back to back (e.g. from an all-gather of `mine`), each like `mine`.
Tensor AssembleFull(const TpScheme& s, const std::string& name, const Tensor& mine, const char* all,
                    const Shape& full, const LayerConfig& cfg, const MeshShape& axes);

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_SCHEME_H_
