// layers/tp1d/tp1d_test.cc: 1D split validation and parameter sharding (no communicator).
#include "layers/tp1d/tp1d.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "comm/error.h"
#include "layers/reference.h"
#include "layers/tensor.h"

namespace tpbench {
namespace {

std::string UsageMessage(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    return e.what();
  }
  return "no error";
}

TEST(Tp1dTest, ValidateNamesDimensionAndDivisor) {
  LayerConfig cfg{2, 3, 24, 12};
  for (int64_t t : {1, 2, 3, 4, 6, 12}) EXPECT_NO_THROW(ValidateTp1d(cfg, t));
  EXPECT_EQ(UsageMessage([&] { ValidateTp1d(cfg, 5); }),
            "hidden (24) is not divisible by the tensor-parallel size t (5)");
  EXPECT_EQ(UsageMessage([&] { ValidateTp1d(cfg, 8); }),
            "heads (12) is not divisible by the tensor-parallel size t (8)");
  EXPECT_NO_THROW(ValidateTp1d(cfg, 3, /*sequence_parallel=*/true));
  EXPECT_EQ(UsageMessage([&] { ValidateTp1d(cfg, 4, /*sequence_parallel=*/true); }),
            "tokens (batch*seq) (6) is not divisible by the tensor-parallel size t (4)");
  LayerConfig bad{2, 3, 10, 3};  // the reference's own check comes first
  EXPECT_NE(UsageMessage([&] { ValidateTp1d(bad, 1); }).find("hidden (10)"), std::string::npos);
  EXPECT_EQ(
      UsageMessage([&] { CheckDivisible("ffn hidden (ffn_factor*hidden)", 20, 3); }),
      "ffn hidden (ffn_factor*hidden) (20) is not divisible by the tensor-parallel size t (3)");
}

TEST(Tp1dTest, ShardLinear) {
  LinearParams full;
  full.w = Tensor({4, 6}, DataType::kF64);
  full.w.FillUniform(1, -1, 1);
  full.b = Tensor({6}, DataType::kF64);
  full.b.FillUniform(2, -1, 1);
  LinearParams col = ShardColumn(full, 3, 1);
  EXPECT_EQ(col.w.shape(), (Shape{4, 2}));
  EXPECT_EQ(col.b.shape(), (Shape{2}));
  EXPECT_EQ(col.w.Get(0), full.w.Get(2));
  EXPECT_EQ(col.b.Get(1), full.b.Get(3));
  LinearParams row = ShardRow(full, 2, 1);
  EXPECT_EQ(row.w.shape(), (Shape{2, 6}));
  EXPECT_EQ(row.b.shape(), (Shape{6}));
  EXPECT_EQ(row.w.Get(0), full.w.Get(12));
  EXPECT_EQ(UsageMessage([&] { ShardColumn(full, 4, 0); }),
            "column-parallel output features (6) is not divisible by the tensor-parallel size t "
            "(4)");
  EXPECT_EQ(UsageMessage([&] { ShardRow(full, 3, 0); }),
            "row-parallel input features (4) is not divisible by the tensor-parallel size t (3)");
}

TEST(Tp1dTest, ShardLayerParamsShapes) {
  LayerConfig cfg{2, 3, 12, 6};
  LayerParams full = LayerParams::Init(cfg, DataType::kF32, 3);
  LayerParams p = ShardLayerParams(cfg, full, 3, 2);
  EXPECT_EQ(p.attn.qkv.w.shape(), (Shape{12, 12}));
  EXPECT_EQ(p.attn.qkv.b.shape(), (Shape{12}));
  EXPECT_EQ(p.attn.proj.w.shape(), (Shape{4, 12}));
  EXPECT_EQ(p.attn.proj.b.shape(), (Shape{12}));
  EXPECT_EQ(p.mlp.fc1.w.shape(), (Shape{12, 16}));
  EXPECT_EQ(p.mlp.fc2.w.shape(), (Shape{16, 12}));
  EXPECT_EQ(p.ln1.gamma.shape(), (Shape{12}));
  EXPECT_EQ(UsageMessage([&] { ShardLayerParams(cfg, full, 4, 0); }),
            "heads (6) is not divisible by the tensor-parallel size t (4)");
}

}  // namespace
}  // namespace tpbench
