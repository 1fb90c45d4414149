// layers/pre_ln_block.h: the pre-LN transformer block composed from a TP scheme's sub-layers,
// written once for every scheme whose sub-layers share the 2D/3D signatures (layers/tp2d,
// layers/tp3d):
//
//   y = x + Attention(LN1(x));   out = y + MLP(LN2(y))
//
//   Tensor out = PreLnBlockForward(tp, cfg, p, x, &cache);   // cache: ln1, ln2, attn, mlp
//   Tensor dx = PreLnBlockBackward(tp, cfg, p, cache, dout, &grads);
//
// `tp` provides compute(), LayerNormForward(p, eps, h, x, cache), AttentionForward(shape, p,
// x, cache), MlpForward(p, x, cache) and the matching Backward calls.
#ifndef TPBENCH_LAYERS_PRE_LN_BLOCK_H_
#define TPBENCH_LAYERS_PRE_LN_BLOCK_H_

#include "layers/compute.h"
#include "layers/reference.h"
#include "layers/tensor.h"

namespace tpbench {

template <typename Tp, typename Cache>
Tensor PreLnBlockForward(const Tp& tp, const LayerConfig& cfg, const LayerParams& p,
                         const Tensor& x, Cache* cache) {
  Compute& c = tp.compute();
  const AttentionShape shape{cfg.batch, cfg.seq, cfg.heads, cfg.causal};
  Tensor z1 = tp.LayerNormForward(p.ln1, cfg.ln_eps, cfg.hidden, x, &cache->ln1);
  Tensor a = tp.AttentionForward(shape, p.attn, z1, &cache->attn);
  Tensor y = c.NewTensor(x.shape(), x.dtype());
  c.Add(x, a, &y);
  Tensor z2 = tp.LayerNormForward(p.ln2, cfg.ln_eps, cfg.hidden, y, &cache->ln2);
  Tensor m = tp.MlpForward(p.mlp, z2, &cache->mlp);
  Tensor out = c.NewTensor(x.shape(), x.dtype());
  c.Add(y, m, &out);
  return out;
}

template <typename Tp, typename Cache>
Tensor PreLnBlockBackward(const Tp& tp, const LayerConfig& cfg, const LayerParams& p,
                          const Cache& cache, const Tensor& dout, LayerGrads* grads) {
  Compute& c = tp.compute();
  const AttentionShape shape{cfg.batch, cfg.seq, cfg.heads, cfg.causal};
  Tensor dz2 = tp.MlpBackward(p.mlp, cache.mlp, dout, &grads->mlp);
  Tensor dy = tp.LayerNormBackward(cache.ln2, cfg.hidden, dz2, &grads->ln2);
  c.Add(dy, dout, &dy);  // the residual
  Tensor dz1 = tp.AttentionBackward(shape, p.attn, cache.attn, dy, &grads->attn);
  Tensor dx = tp.LayerNormBackward(cache.ln1, cfg.hidden, dz1, &grads->ln1);
  c.Add(dx, dy, &dx);
  return dx;
}

}  // namespace tpbench

#endif  // TPBENCH_LAYERS_PRE_LN_BLOCK_H_
