// layers/reference.h: the serial reference transformer layer (pre-LayerNorm) and its
// sub-blocks, forward and hand-written backward, on any Compute backend. Every TP scheme's
// layers are checked against these (TP_SCHEMES.md, "Verification recipe").
//
//   LayerConfig cfg{/*batch=*/2, /*seq=*/3, /*hidden=*/8, /*heads=*/2};
//   cfg.Validate();                                          // UsageError on bad shapes
//   LayerParams p = LayerParams::Init(cfg, DataType::kF64, /*seed=*/1);
//   HostCompute c;
//   ReferenceLayer layer(&c, cfg);
//   LayerCache cache;
//   Tensor out = layer.Forward(p, x, &cache);                // x, out: [b*s, h]
//   LayerGrads g;
//   Tensor dx = layer.Backward(p, cache, dout, &g);
//
// Equations (X is [b*s, h], rows sample-major; weights are [in, out], Y = X W + b):
//   Y   = X + Attention(LN1(X))
//   Out = Y + MLP(LN2(Y))
//   Attention(Z) = CoreAttention(Z W_qkv + b_qkv) W_o + b_o
//   CoreAttention(QKV): per sample and head, softmax(Q K^T / sqrt(hd) [+ causal mask]) V,
//     QKV columns in Megatron's [head][q|k|v][hd] layout (compute.h), context columns n*hd+d.
//   MLP(Z) = gelu(Z W_1 + b_1) W_2 + b_2, W_1 [h, ffn*h], GeLU tanh approximation.
// Sub-block functions allocate their outputs with Compute::NewTensor; grads are overwritten.
#ifndef TPBENCH_LAYERS_REFERENCE_H_
#define TPBENCH_LAYERS_REFERENCE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "layers/compute.h"
#include "layers/tensor.h"

namespace tpbench {

struct LayerConfig {
  int64_t batch = 0;   // b, samples
  int64_t seq = 0;     // s, tokens per sample
  int64_t hidden = 0;  // h
  int64_t heads = 0;   // nh; h must be divisible by nh
  int64_t ffn_factor = 4;
  bool causal = false;
  double ln_eps = 1e-5;

  int64_t tokens() const { return batch * seq; }
  int64_t head_dim() const { return hidden / heads; }
  int64_t ffn_hidden() const { return ffn_factor * hidden; }
  // Throws UsageError naming the bad dimension, e.g. "hidden (10) is not divisible by heads (3)".
  void Validate() const;
};

struct LinearParams {
  Tensor w;  // [in, out]
  Tensor b;  // [out]; undefined = no bias
};
struct LayerNormParams {
  Tensor gamma, beta;  // [h]
};
struct AttentionParams {
  LinearParams qkv;   // [h, 3h] + [3h]
  LinearParams proj;  // [h, h] + [h] (output projection, W_o / b_o)
};
struct MlpParams {
  LinearParams fc1;  // [h, ffn*h] + [ffn*h]
  LinearParams fc2;  // [ffn*h, h] + [h]
};
struct LayerParams {
  LayerNormParams ln1;
  AttentionParams attn;
  LayerNormParams ln2;
  MlpParams mlp;

  // Full (unsliced) parameters from one seed, identical on every rank: weights uniform in
  // +-1/sqrt(fan_in), biases and LN beta in +-0.1, LN gamma in [0.8, 1.2].
  static LayerParams Init(const LayerConfig& cfg, DataType dtype, uint64_t seed);
  LayerParams To(DataType dtype) const;  // deep copy converted
  // Every tensor with a stable name ("attn.qkv.w", "ln1.gamma", ...), in a fixed order.
  std::vector<std::pair<std::string, Tensor*>> Named();
};
using LayerGrads = LayerParams;  // gradients, same structure and shapes

// --- Linear: y = x w + b ---
Tensor LinearForward(Compute& c, const LinearParams& p, const Tensor& x);
// dx = dy w^T (skipped when dx is null); dw = x^T dy; db = colsum(dy) (if p.b is defined).
void LinearBackward(Compute& c, const LinearParams& p, const Tensor& x, const Tensor& dy,
                    Tensor* dx, LinearParams* grads);

// --- LayerNorm over the hidden dim ---
struct LayerNormCache {
  Tensor x, mean, rstd;
};
Tensor LayerNormForward(Compute& c, const LayerNormParams& p, double eps, const Tensor& x,
                        LayerNormCache* cache);
Tensor LayerNormBackward(Compute& c, const LayerNormParams& p, const LayerNormCache& cache,
                         const Tensor& dy, LayerNormParams* grads);

// --- MLP: gelu(x W1 + b1) W2 + b2 ---
struct MlpCache {
  Tensor x, h1, act;  // input, fc1 output (pre-GeLU), GeLU output
};
Tensor MlpForward(Compute& c, const MlpParams& p, const Tensor& x, MlpCache* cache);
Tensor MlpBackward(Compute& c, const MlpParams& p, const MlpCache& cache, const Tensor& dy,
                   MlpParams* grads);

// --- Attention ---
// heads is the number of heads in the tensors given (all heads here; heads/t in 1D TP).
struct AttentionShape {
  int64_t batch = 0, seq = 0, heads = 0;
  bool causal = false;
};
struct CoreAttentionCache {
  Tensor q, k, v, probs;  // [b*nh*s, hd] x3, [b*nh*s, s]
};
// qkv [b*s, 3*nh*hd] -> context [b*s, nh*hd]. No parameters, no communication in any scheme.
Tensor CoreAttentionForward(Compute& c, const AttentionShape& shape, const Tensor& qkv,
                            CoreAttentionCache* cache);
Tensor CoreAttentionBackward(Compute& c, const AttentionShape& shape,
                             const CoreAttentionCache& cache, const Tensor& dctx);

struct AttentionCache {
  Tensor x, ctx;
  CoreAttentionCache core;
};
Tensor AttentionForward(Compute& c, const AttentionShape& shape, const AttentionParams& p,
                        const Tensor& x, AttentionCache* cache);
Tensor AttentionBackward(Compute& c, const AttentionShape& shape, const AttentionParams& p,
                         const AttentionCache& cache, const Tensor& dy, AttentionParams* grads);

// --- The whole layer ---
struct LayerCache {
  Tensor x, y;  // input, after the attention residual
  LayerNormCache ln1, ln2;
  AttentionCache attn;
  MlpCache mlp;
};

class ReferenceLayer {
 public:
  // Validates cfg (UsageError). c must outlive the layer.
  ReferenceLayer(Compute* c, const LayerConfig& cfg);
  const LayerConfig& config() const { return cfg_; }
  AttentionShape attention_shape() const;

  // x [b*s, h] -> out [b*s, h]; cache may not be null.
  Tensor Forward(const LayerParams& p, const Tensor& x, LayerCache* cache) const;
  // Returns dx; fills every parameter gradient.
  Tensor Backward(const LayerParams& p, const LayerCache& cache, const Tensor& dout,
                  LayerGrads* grads) const;

 private:
  Compute* c_;
  LayerConfig cfg_;
};

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_REFERENCE_H_
