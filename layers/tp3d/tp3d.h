// layers/tp3d/tp3d.h: 3D tensor-parallel layers (Bian et al.) on a q x q x q mesh over a
// Compute backend and the mesh's groups (TP_SCHEMES.md section 4; docs/schemes.md).
//
//   Mesh mesh(world.get(), {{"k", q}, {"j", q}, {"i", q}});  // rank = i + q*j + q^2*k
//   Tp3d tp(&compute, Tp3dGroupsOf(&mesh));
//   Linear3dCache lc;
//   Tensor y = tp.LinearForward(p, x, /*odd=*/false, &lc);  // [B/q^2, in/q] -> [B/q^2, out/q]
//   tp.LinearBackward(p, lc, dy, /*odd=*/false, &dx, &grads);
//   Tp3dLayer layer(&tp, cfg);
//   Tensor out = layer.Forward(mine, x, &cache);           // mine = ShardParams(FindScheme("3d"))
//
// Layouts at rank (i, j, k). A linear's input holds rows chunk_q(chunk_q(rows)[i])[a] and
// hidden chunk_q[b]; its W holds in chunk_q(chunk_q(in)[b])[i], out chunk_q[a]; its output
// rows chunk_q(chunk_q(rows)[i])[b], out chunk_q[a]; its bias chunk_q[a] (replicated over i
// and b). Even linears (QKV, fc1) have (a, b) = (j, k), odd ones (proj, fc2) (k, j): the
// output of an even linear is the input layout of the odd one that follows, and the odd one
// returns to the block's layout (rows sub-split on j, hidden on k).
//
// Per linear, forward: X all-gathered (dim 0) over a, W over i, the partial Y = Xg Wg
// reduce-scattered (dim 0) over b, + bias; Xg and Wg are saved. Backward: dY all-gathered over
// b; dX = RS_a(dYg Wg^T) and dW = RS_i(Xg^T dYg) (async, overlapped with the next GEMM when
// overlap is on); db = AR over (i, b) of colsum(dY). Per rank 2(q-1)/q^3 (N_X + N_W + N_Y) in
// 6 calls, plus 2(q^2-1)/q^2 out/q for the bias. LayerNorm: the stacked (sum x, sum x^2) of the
// rows all-reduced over k (the hidden split) forward, the stacked (sum g, sum g*xhat)
// backward; gamma/beta [h/q] (chunk_q[k]) with gradients all-reduced over (i, j).
#ifndef TPBENCH_LAYERS_TP3D_TP3D_H_
#define TPBENCH_LAYERS_TP3D_TP3D_H_

#include <chrono>
#include <cstdint>

#include "comm/communicator.h"
#include "comm/work.h"
#include "layers/compute.h"
#include "layers/mesh.h"
#include "layers/reference.h"
#include "layers/tensor.h"

namespace tpbench {

// The groups of a 3D mesh, named as in TP_SCHEMES.md section 4.
struct Tp3dGroups {
  Communicator* input = nullptr;   // vary j
  Communicator* weight = nullptr;  // vary i
  Communicator* output = nullptr;  // vary k
  Communicator* ixw = nullptr;     // INPUT_X_WEIGHT: vary i, j (fixed k)
  Communicator* oxw = nullptr;     // OUTPUT_X_WEIGHT: vary i, k (fixed j)
};
// The groups of a mesh {k, j, i} (split on first use).
Tp3dGroups Tp3dGroupsOf(Mesh* mesh);

struct Tp3dOptions {
  bool overlap = true;  // backward reduce-scatters of dX and dW async during the next GEMM
};

struct Linear3dCache {
  Tensor xg, wg;  // gathered input [B/q, in/q] and weight [in/q, out/q]
};
struct Mlp3dCache {
  Linear3dCache fc1, fc2;
  Tensor h1, act;
};
struct Attention3dCache {
  Linear3dCache qkv, proj;
  CoreAttentionCache core;
};
struct Ln3dCache {
  LayerNormCache ln;
  Tensor gamma;
};
struct Block3dCache {
  Ln3dCache ln1, ln2;
  Attention3dCache attn;
  Mlp3dCache mlp;
};

// UsageError("batch (2) is not divisible by q^2 (4) of 3d (P = 8)") unless batch is divisible
// by q^2 (whole samples per rank), heads by q and hidden by q^2.
void ValidateTp3d(const LayerConfig& cfg, int64_t q);

class Tp3d {
 public:
  // The groups and c must outlive this object.
  Tp3d(Compute* c, Tp3dGroups g, Tp3dOptions opt = {});
  Compute& compute() const { return *c_; }
  int64_t q() const { return g_.input->size(); }
  double exposed_comm_s() const { return exposed_s_; }
  void ResetCommClock() { exposed_s_ = 0; }

  // odd: the layout parity (see above).
  Tensor LinearForward(const LinearParams& p, const Tensor& x, bool odd,
                       Linear3dCache* cache) const;
  void LinearBackward(const LinearParams& p, const Linear3dCache& cache, const Tensor& dy, bool odd,
                      Tensor* dx, LinearParams* grads) const;
  // x in the block's layout (hidden split over k).
  Tensor LayerNormForward(const LayerNormParams& p, double eps, int64_t h, const Tensor& x,
                          Ln3dCache* cache) const;
  Tensor LayerNormBackward(const Ln3dCache& cache, int64_t h, const Tensor& dy,
                           LayerNormParams* grads) const;
  Tensor MlpForward(const MlpParams& p, const Tensor& x, Mlp3dCache* cache) const;
  Tensor MlpBackward(const MlpParams& p, const Mlp3dCache& cache, const Tensor& dy,
                     MlpParams* grads) const;
  // shape: the whole layer's; this rank runs b/q^2 samples and nh/q heads.
  Tensor AttentionForward(const AttentionShape& shape, const AttentionParams& p, const Tensor& x,
                          Attention3dCache* cache) const;
  Tensor AttentionBackward(const AttentionShape& shape, const AttentionParams& p,
                           const Attention3dCache& cache, const Tensor& dy,
                           AttentionParams* grads) const;

 private:
  WorkPtr Gather(Communicator* g, const Tensor& mine, Tensor* out) const;
  WorkPtr ReduceScatter(Communicator* g, const Tensor& in, Tensor* out, bool async) const;
  void AllReduce(Communicator* g, Tensor* x) const;
  template <typename F>
  WorkPtr Issue(F&& issue) const {
    const auto t0 = std::chrono::steady_clock::now();
    WorkPtr w = issue();
    exposed_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return w;
  }
  void Wait(const WorkPtr& w) const;

  Compute* c_;
  Tp3dGroups g_;
  Tp3dOptions opt_;
  mutable double exposed_s_ = 0;
};

// The pre-LN block (ReferenceLayer's equations) with 3D TP.
class Tp3dLayer {
 public:
  Tp3dLayer(const Tp3d* tp, const LayerConfig& cfg);  // validates (ValidateTp3d)
  Tensor Forward(const LayerParams& p, const Tensor& x, Block3dCache* cache) const;
  Tensor Backward(const LayerParams& p, const Block3dCache& cache, const Tensor& dout,
                  LayerGrads* grads) const;

 private:
  const Tp3d* tp_;
  LayerConfig cfg_;
};

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_TP3D_TP3D_H_
