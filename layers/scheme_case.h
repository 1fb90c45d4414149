// layers/scheme_case.h: the four cases every scheme runs (linear, mlp, attention, block) over
// one scheme's layer object and pre-LN block, dispatched by kind in one place. A scheme
// supplies only its linear pair (fc1 then fc2 of the MLP's parameters, without the GeLU),
// whose layouts and caches differ by scheme:
//
//   class Tp2dCase : public SchemeCase<Tp2d, Tp2dLayer, MlpCache, Attention2dCache,
//                                      Block2dCache> { ... LinearPairForward/Backward ... };
#ifndef TPBENCH_LAYERS_SCHEME_CASE_H_
#define TPBENCH_LAYERS_SCHEME_CASE_H_

#include <string>
#include <utility>

#include "layers/reference.h"
#include "layers/scheme.h"
#include "layers/tensor.h"

namespace tpbench {

template <typename Tp, typename Block, typename MlpC, typename AttnC, typename BlockC>
class SchemeCase : public TpCase {
 public:
  // tp_args construct the scheme's layer object; the block runs over it.
  template <typename... TpArgs>
  SchemeCase(const LayerConfig& cfg, std::string kind, TpArgs&&... tp_args)
      : tp_(std::forward<TpArgs>(tp_args)...),
        block_(&tp_, cfg),
        cfg_(cfg),
        kind_(std::move(kind)) {}

  Tensor Forward(const LayerParams& p, const Tensor& x) override {
    if (kind_ == "linear") return LinearPairForward(p.mlp, x);
    if (kind_ == "mlp") return tp_.MlpForward(p.mlp, x, &mlp_);
    if (kind_ == "attention") return tp_.AttentionForward(Shape(), p.attn, x, &attn_);
    return block_.Forward(p, x, &block_cache_);
  }
  Tensor Backward(const LayerParams& p, const Tensor& dy, LayerGrads* g) override {
    if (kind_ == "linear") return LinearPairBackward(p.mlp, dy, &g->mlp);
    if (kind_ == "mlp") return tp_.MlpBackward(p.mlp, mlp_, dy, &g->mlp);
    if (kind_ == "attention") return tp_.AttentionBackward(Shape(), p.attn, attn_, dy, &g->attn);
    return block_.Backward(p, block_cache_, dy, g);
  }
  double exposed_comm_s() const override { return tp_.exposed_comm_s(); }
  void ResetCommClock() override { tp_.ResetCommClock(); }

 protected:
  // Case "linear": y = fc2(fc1(x)) and its backward (dX; fc1's and fc2's gradients).
  virtual Tensor LinearPairForward(const MlpParams& p, const Tensor& x) = 0;
  virtual Tensor LinearPairBackward(const MlpParams& p, const Tensor& dy, MlpParams* g) = 0;

  Tp tp_;

 private:
  AttentionShape Shape() const { return {cfg_.batch, cfg_.seq, cfg_.heads, cfg_.causal}; }
  Block block_;
  LayerConfig cfg_;
  std::string kind_;
  MlpC mlp_;
  AttnC attn_;
  BlockC block_cache_;
};

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_SCHEME_CASE_H_
