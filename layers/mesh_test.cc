// layers/mesh_test.cc: mesh coordinates and shape errors, plan byte arithmetic and region
// copies (no communicator).
#include "layers/mesh.h"

#include <gtest/gtest.h>

#include <string>

#include "comm/error.h"
#include "layers/scheme.h"
#include "layers/tensor.h"

namespace tpbench {
namespace {

std::string UsageMessage(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(MeshTest, CoordsRoundTripLastAxisFastest) {
  const MeshShape axes{{"dep", 2}, {"row", 3}, {"col", 3}};
  for (int64_t r = 0; r < 18; ++r) {
    auto c = MeshCoords(axes, r);
    EXPECT_EQ(c[2] + 3 * c[1] + 9 * c[0], r);  // TP_SCHEMES.md 2.5D: col + q*row + q^2*dep
    EXPECT_EQ(MeshRank(axes, c), r);
  }
  EXPECT_EQ(AxisSize(axes, "row"), 3);
  EXPECT_EQ(AxisCoord(axes, MeshCoords(axes, 14), "dep"), 1);
}

TEST(MeshTest, BadShapesNameShapeAndP) {
  EXPECT_EQ(UsageMessage([] {
              CheckMeshShape({{"row", 2}, {"col", 3}}, 4);
            }),
            "mesh {row: 2, col: 3} needs 6 ranks; P = 4");
  EXPECT_EQ(UsageMessage([] {
              CheckMeshShape({{"row", 0}, {"col", 3}}, 4);
            }),
            "mesh {row: 0, col: 3}: axis 'row' has size 0; P = 4");
  EXPECT_EQ(UsageMessage([] { AxisSize({{"tp", 2}}, "row"); }), "mesh {tp: 2} has no axis 'row'");
  EXPECT_EQ(UsageMessage([] { CheckMeshShape({{"tp", 4}}, 4); }), "");
}

TEST(PlanTest, RingModelBytes) {
  CommPlan p;
  p.groups["ROW"] = {"col"};
  p.groups["ALL"] = {"row", "col"};
  p.ops.push_back({"ROW", OpKind::kBroadcast, 10, 3, false, "x"});  // 3 * 2/3 * 10 = 20
  p.ops.push_back({"ALL", OpKind::kAllReduce, 18, 1, true, "y"});   // 2 * 8/9 * 18 = 32
  p.ops.push_back({"ROW", OpKind::kAllGather, 12, 1, true, "z"});   // 2/3 * 12 = 8
  const MeshShape axes{{"row", 3}, {"col", 3}};
  EXPECT_EQ(p.forward_ops(), 1u);
  EXPECT_EQ(PlanBytesPerRank(p, axes, DataType::kF64), (20 + 32 + 8) * 8u);
  EXPECT_EQ(
      PlanBytesPerRank(p, axes, DataType::kF32, [](const CommOp& o) { return o.group == "ROW"; }),
      28 * 4u);
  EXPECT_NE(
      PlanTable(p, axes, DataType::kF32).find("| bwd | ALL (9) | all-reduce | y | 18 | 1 | 128 |"),
      std::string::npos);
}

TEST(RegionTest, CopyRegion) {
  Tensor m({4, 6}, DataType::kF64);
  for (int64_t i = 0; i < m.numel(); ++i) m.Set(i, static_cast<double>(i));
  Tensor s = CopyRegion(m, {2, 4, 1, 3});
  ASSERT_EQ(s.shape(), (Shape{2, 2}));
  EXPECT_EQ(s.Get(0), 13);
  EXPECT_EQ(s.Get(3), 20);
  Tensor v({6}, DataType::kF64);
  for (int64_t i = 0; i < 6; ++i) v.Set(i, static_cast<double>(i));
  Tensor c = CopyRegion(v, {0, 1, 2, 5});
  ASSERT_EQ(c.shape(), (Shape{3}));
  EXPECT_EQ(c.Get(0), 2);
}

}  // namespace
}  // namespace tpbench
