#include "layers/reference.h"

#include <gtest/gtest.h>

#include <string>

#include "comm/error.h"
#include "layers/grad_check.h"
#include "layers/host_compute.h"

namespace tpbench {
namespace {

Tensor Rand(Shape s, uint64_t seed, DataType t = DataType::kF64) {
  Tensor x(std::move(s), t);
  x.FillUniform(seed, -1, 1);
  return x;
}

LayerConfig Tiny(bool causal) {
  LayerConfig cfg;
  cfg.batch = 2;
  cfg.seq = 3;
  cfg.hidden = 8;
  cfg.heads = 2;
  cfg.ffn_factor = 4;
  cfg.causal = causal;
  return cfg;
}

constexpr double kFdTol = 1e-6;

TEST(Reference, LinearBackwardMatchesFiniteDifferences) {
  HostCompute c;
  LinearParams p{Rand({5, 3}, 1), Rand({3}, 2)};
  Tensor x = Rand({4, 5}, 3), dy = Rand({4, 3}, 4);
  Tensor dx;
  LinearParams g;
  LinearBackward(c, p, x, dy, &dx, &g);
  auto loss = [&] { return Dot(LinearForward(c, p, x), dy); };
  EXPECT_LT(FdMaxRelError(loss, {{&x, &dx}, {&p.w, &g.w}, {&p.b, &g.b}}), kFdTol);
}

TEST(Reference, LayerNormBackwardMatchesFiniteDifferences) {
  HostCompute c;
  LayerNormParams p{Rand({6}, 1), Rand({6}, 2)};
  Tensor x = Rand({4, 6}, 3), dy = Rand({4, 6}, 4);
  LayerNormCache cache;
  LayerNormForward(c, p, 1e-5, x, &cache);
  LayerNormParams g;
  Tensor dx = LayerNormBackward(c, p, cache, dy, &g);
  auto loss = [&] {
    LayerNormCache tmp;
    return Dot(LayerNormForward(c, p, 1e-5, x, &tmp), dy);
  };
  EXPECT_LT(FdMaxRelError(loss, {{&x, &dx}, {&p.gamma, &g.gamma}, {&p.beta, &g.beta}}), kFdTol);
}

TEST(Reference, MlpBackwardMatchesFiniteDifferences) {
  HostCompute c;
  LayerParams all = LayerParams::Init(Tiny(false), DataType::kF64, 1);
  MlpParams& p = all.mlp;
  Tensor x = Rand({6, 8}, 3), dy = Rand({6, 8}, 4);
  MlpCache cache;
  MlpForward(c, p, x, &cache);
  MlpParams g;
  Tensor dx = MlpBackward(c, p, cache, dy, &g);
  auto loss = [&] {
    MlpCache tmp;
    return Dot(MlpForward(c, p, x, &tmp), dy);
  };
  EXPECT_LT(FdMaxRelError(loss, {{&x, &dx},
                                 {&p.fc1.w, &g.fc1.w},
                                 {&p.fc1.b, &g.fc1.b},
                                 {&p.fc2.w, &g.fc2.w},
                                 {&p.fc2.b, &g.fc2.b}}),
            kFdTol);
}

TEST(Reference, AttentionBackwardMatchesFiniteDifferences) {
  HostCompute c;
  for (bool causal : {false, true}) {
    LayerConfig cfg = Tiny(causal);
    AttentionShape sh{cfg.batch, cfg.seq, cfg.heads, causal};
    LayerParams all = LayerParams::Init(cfg, DataType::kF64, 2);
    AttentionParams& p = all.attn;
    // Core attention alone, then the block with its projections.
    Tensor qkv = Rand({6, 24}, 5), dctx = Rand({6, 8}, 6);
    CoreAttentionCache core;
    CoreAttentionForward(c, sh, qkv, &core);
    Tensor dqkv = CoreAttentionBackward(c, sh, core, dctx);
    auto core_loss = [&] {
      CoreAttentionCache tmp;
      return Dot(CoreAttentionForward(c, sh, qkv, &tmp), dctx);
    };
    EXPECT_LT(FdMaxRelError(core_loss, {{&qkv, &dqkv}}), kFdTol) << "causal=" << causal;

    Tensor x = Rand({6, 8}, 3), dy = Rand({6, 8}, 4);
    AttentionCache cache;
    AttentionForward(c, sh, p, x, &cache);
    AttentionParams g;
    Tensor dx = AttentionBackward(c, sh, p, cache, dy, &g);
    auto loss = [&] {
      AttentionCache tmp;
      return Dot(AttentionForward(c, sh, p, x, &tmp), dy);
    };
    EXPECT_LT(FdMaxRelError(loss, {{&x, &dx},
                                   {&p.qkv.w, &g.qkv.w},
                                   {&p.qkv.b, &g.qkv.b},
                                   {&p.proj.w, &g.proj.w},
                                   {&p.proj.b, &g.proj.b}}),
              kFdTol)
        << "causal=" << causal;
  }
}

TEST(Reference, CausalContextIgnoresLaterTokens) {
  HostCompute c;
  AttentionShape sh{1, 4, 2, true};
  Tensor qkv = Rand({4, 24}, 1);
  CoreAttentionCache cache;
  Tensor ctx = CoreAttentionForward(c, sh, qkv, &cache);
  Tensor changed = qkv.Clone();
  for (int64_t j = 0; j < 24; ++j) changed.Set(3 * 24 + j, 5.0);  // the last token
  Tensor ctx2 = CoreAttentionForward(c, sh, changed, &cache);
  EXPECT_EQ(MaxAbsError(ctx.RowView(0, 3), ctx2.RowView(0, 3)), 0.0);
  EXPECT_GT(MaxAbsError(ctx.RowView(3, 4), ctx2.RowView(3, 4)), 0.0);
}

TEST(Reference, LayerBackwardMatchesFiniteDifferences) {
  HostCompute c;
  for (bool causal : {false, true}) {
    LayerConfig cfg = Tiny(causal);
    ReferenceLayer layer(&c, cfg);
    LayerParams p = LayerParams::Init(cfg, DataType::kF64, 7);
    Tensor x = Rand({cfg.tokens(), cfg.hidden}, 8), dout = Rand({cfg.tokens(), cfg.hidden}, 9);
    LayerCache cache;
    layer.Forward(p, x, &cache);
    LayerGrads g;
    Tensor dx = layer.Backward(p, cache, dout, &g);
    auto loss = [&] {
      LayerCache tmp;
      return Dot(layer.Forward(p, x, &tmp), dout);
    };
    EXPECT_LT(FdMaxRelError(loss, {{&x, &dx}}), kFdTol) << "dx causal=" << causal;
    auto params = p.Named();
    auto grads = g.Named();
    ASSERT_EQ(params.size(), grads.size());
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_EQ(params[i].second->shape(), grads[i].second->shape()) << params[i].first;
      EXPECT_LT(FdMaxRelError(loss, {{params[i].second, grads[i].second}}), kFdTol)
          << params[i].first << " causal=" << causal;
    }
  }
}

TEST(Reference, F32ForwardAgreesWithF64) {
  HostCompute c;
  LayerConfig cfg;
  cfg.batch = 2;
  cfg.seq = 16;
  cfg.hidden = 64;
  cfg.heads = 4;
  cfg.causal = true;
  ReferenceLayer layer(&c, cfg);
  LayerParams p64 = LayerParams::Init(cfg, DataType::kF64, 3);
  LayerParams p32 = p64.To(DataType::kF32);
  Tensor x64 = Rand({cfg.tokens(), cfg.hidden}, 4), x32 = x64.To(DataType::kF32);
  LayerCache c64, c32;
  Tensor y64 = layer.Forward(p64, x64, &c64);
  Tensor y32 = layer.Forward(p32, x32, &c32);
  EXPECT_EQ(y32.dtype(), DataType::kF32);
  EXPECT_LT(MaxRelError(y32, y64), 1e-5);
  Tensor d64 = Rand({cfg.tokens(), cfg.hidden}, 5), d32 = d64.To(DataType::kF32);
  LayerGrads g64, g32;
  Tensor dx64 = layer.Backward(p64, c64, d64, &g64);
  Tensor dx32 = layer.Backward(p32, c32, d32, &g32);
  EXPECT_LT(MaxRelError(dx32, dx64), 1e-4);
}

TEST(Reference, SameSeedSameParameters) {
  LayerParams a = LayerParams::Init(Tiny(false), DataType::kF64, 11);
  LayerParams b = LayerParams::Init(Tiny(false), DataType::kF64, 11);
  auto na = a.Named(), nb = b.Named();
  for (size_t i = 0; i < na.size(); ++i) EXPECT_EQ(MaxAbsError(*na[i].second, *nb[i].second), 0);
  EXPECT_GT(MaxAbsError(a.attn.qkv.w, a.mlp.fc1.w.CopyCols(0, 24)), 0.0);
}

void ExpectUsageError(const LayerConfig& cfg, const std::string& text) {
  try {
    cfg.Validate();
    ADD_FAILURE() << "no error; expected: " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

TEST(Reference, BadShapesAreUsageErrors) {
  LayerConfig cfg = Tiny(false);
  cfg.hidden = 10;
  cfg.heads = 3;
  ExpectUsageError(cfg, "hidden (10) is not divisible by heads (3)");
  cfg = Tiny(false);
  cfg.heads = 0;
  ExpectUsageError(cfg, "heads must be positive");
  cfg = Tiny(false);
  cfg.seq = -1;
  ExpectUsageError(cfg, "seq must be positive");
  HostCompute c;
  cfg.hidden = 10;
  cfg.heads = 3;
  cfg.seq = 3;
  EXPECT_THROW(ReferenceLayer(&c, cfg), Error);
  // Wrong input width for the layer.
  ReferenceLayer layer(&c, Tiny(false));
  LayerParams p = LayerParams::Init(Tiny(false), DataType::kF64, 1);
  LayerCache cache;
  EXPECT_THROW(layer.Forward(p, Rand({6, 7}, 1), &cache), Error);
  // Core attention with a qkv width not divisible by 3*heads.
  CoreAttentionCache core;
  try {
    CoreAttentionForward(c, {2, 3, 2, false}, Rand({6, 20}, 1), &core);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("qkv width (20) is not divisible by 3*heads (6)"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace tpbench
