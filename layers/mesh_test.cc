// layers/mesh_test.cc: mesh coordinates and shape errors, placement on an emulated topology
// (fake node maps; groups split on in-process communicators), plan byte arithmetic and region
// copies.
#include "layers/mesh.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "comm/error.h"
#include "layers/scheme.h"
#include "layers/tensor.h"
#include "patterns/testing/thread_transport.h"

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

// Ranks numbered node by node, `per_node` on each (mpirun --host H1:R,H2:R).
NodeOf NodeMajor(int64_t per_node) {
  return [per_node](int64_t r) { return static_cast<int>(r / per_node); };
}
// Ranks dealt round-robin over `nodes` nodes (mpirun --map-by node).
NodeOf RoundRobin(int64_t nodes) {
  return [nodes](int64_t r) { return static_cast<int>(r % nodes); };
}

void AtomicMax(std::atomic<int64_t>* m, int64_t v) {
  int64_t cur = m->load();
  while (v > cur && !m->compare_exchange_weak(cur, v)) {
  }
}

TEST(PlacementTest, PlacedCoordsFollowTheOrder) {
  const MeshShape axes{{"row", 2}, {"col", 3}};
  for (int64_t r = 0; r < 6; ++r) {
    EXPECT_EQ(PlacedCoords(axes, NaturalOrder(axes), r), MeshCoords(axes, r));
    const auto c = PlacedCoords(axes, {"col", "row"}, r);  // row fastest
    EXPECT_EQ(c[0], r % 2);
    EXPECT_EQ(c[1], r / 2);
    EXPECT_EQ(PlacedRank(axes, {"col", "row"}, c), r);
  }
}

TEST(PlacementTest, InnerAxesLastAndBadOrders) {
  const MeshShape axes{{"dep", 2}, {"row", 2}, {"col", 2}};
  EXPECT_EQ(InnerAxesLast(axes, {"row"}), (AxisOrder{"dep", "col", "row"}));
  EXPECT_EQ(InnerAxesLast(axes, {"col", "row"}), (AxisOrder{"dep", "col", "row"}));
  EXPECT_EQ(InnerAxesLast(axes, {}), NaturalOrder(axes));
  EXPECT_EQ(UsageMessage([&] { InnerAxesLast(axes, {"tp"}); }),
            "mesh {dep: 2, row: 2, col: 2} has no axis 'tp'");
  EXPECT_EQ(UsageMessage([&] {
              InnerAxesLast(axes, {"row", "row"});
            }),
            "inner axes row,row: axis 'row' repeated");
  EXPECT_EQ(UsageMessage([&] {
              CheckAxisOrder(axes, {"dep", "row"});
            }),
            "axis order dep,row of mesh {dep: 2, row: 2, col: 2} lacks axis 'col'");
  EXPECT_EQ(UsageMessage([&] {
              CheckAxisOrder(axes, {"dep", "row", "row"});
            }),
            "axis order dep,row,row of mesh {dep: 2, row: 2, col: 2} repeats axis 'row'");
  EXPECT_EQ(UsageMessage([&] { CheckAxisOrder(axes, {"col", "dep", "row"}); }), "");
}

TEST(PlacementTest, GroupNodesOnEmulatedNodes) {
  const MeshShape dp_tp{{"dp", 2}, {"tp", 2}};                          // 2 nodes x 2 ranks
  EXPECT_EQ(GroupNodes(dp_tp, {"dp", "tp"}, {"tp"}, NodeMajor(2)), 1);  // TP inside a node
  EXPECT_EQ(GroupNodes(dp_tp, {"dp", "tp"}, {"dp"}, NodeMajor(2)), 2);
  EXPECT_EQ(GroupNodes(dp_tp, {"tp", "dp"}, {"tp"}, NodeMajor(2)), 2);  // TP across nodes
  EXPECT_EQ(GroupNodes(dp_tp, {"tp", "dp"}, {"dp"}, NodeMajor(2)), 1);
  EXPECT_EQ(GroupNodes(dp_tp, {"dp", "tp"}, {"tp"}, RoundRobin(2)), 2);  // --map-by node
  // 2D {row: 2, col: 4} on 2 nodes of 4: the fastest axis fits; 4 nodes of 2: it does not.
  const MeshShape rc{{"row", 2}, {"col", 4}};
  EXPECT_EQ(GroupNodes(rc, NaturalOrder(rc), {"col"}, NodeMajor(4)), 1);
  EXPECT_EQ(GroupNodes(rc, NaturalOrder(rc), {"row"}, NodeMajor(4)), 2);
  EXPECT_EQ(GroupNodes(rc, NaturalOrder(rc), {"col"}, NodeMajor(2)), 2);
  EXPECT_EQ(GroupNodes(rc, {"col", "row"}, {"row"}, NodeMajor(2)), 1);
  EXPECT_EQ(GroupNodes(rc, NaturalOrder(rc), {"row", "col"}, NodeMajor(2)), 4);
  // Every group intended inside a node is inside a node, for every inner set that fits.
  const MeshShape d3{{"k", 2}, {"j", 2}, {"i", 2}};
  for (const std::vector<std::string>& inner :
       std::vector<std::vector<std::string>>{{"k"}, {"j"}, {"i"}, {"k", "i"}, {"i", "j"}}) {
    const AxisOrder o = InnerAxesLast(d3, inner);
    EXPECT_EQ(GroupNodes(d3, o, inner, NodeMajor(4)), 1) << o[0] << o[1] << o[2];
    EXPECT_EQ(UsageMessage([&] { CheckInnerAxes(d3, o, inner, NodeMajor(4)); }), "");
  }
}

TEST(PlacementTest, InnerAxesThatDoNotFitAreRefused) {
  const MeshShape tp{{"tp", 4}};
  const Error e = [&] {
    try {
      CheckInnerAxes(tp, NaturalOrder(tp), {"tp"}, NodeMajor(2));
    } catch (const Error& err) {
      return err;
    }
    return Error(ExitCode::kOk, "");
  }();
  EXPECT_EQ(e.code(), ExitCode::kUsage);
  EXPECT_STREQ(e.what(),
               "axis tp (groups of 4 ranks in mesh {tp: 4}, order tp) spans 2 nodes; a node "
               "holds 2 ranks");
  // Placed last but dealt round-robin by the launcher: refused too.
  const MeshShape dp_tp{{"dp", 2}, {"tp", 2}};
  EXPECT_EQ(UsageMessage([&] {
              CheckInnerAxes(dp_tp, {"dp", "tp"}, {"tp"}, RoundRobin(2));
            }),
            "axis tp (groups of 2 ranks in mesh {dp: 2, tp: 2}, order dp,tp) spans 2 nodes; a "
            "node holds 2 ranks");
  const MeshShape rc{{"row", 2}, {"col", 3}};
  EXPECT_EQ(
      UsageMessage([&] {
        CheckInnerAxes(rc, {"row", "col"}, {"row", "col"}, NodeMajor(4));
      }),
      "axes row,col (groups of 6 ranks in mesh {row: 2, col: 3}, order row,col) spans 2 nodes; "
      "a node holds 2 or 4 ranks");
}

// The split groups' members (measured from the communicators' world ranks) against the
// arithmetic span, on 4 in-process ranks with a placement and emulated nodes of 2.
TEST(PlacementTest, SplitGroupsSpanWhatThePlacementSays) {
  const MeshShape axes{{"dp", 2}, {"tp", 2}};
  const NodeOf nodes = NodeMajor(2);
  for (const AxisOrder& order : {AxisOrder{"dp", "tp"}, AxisOrder{"tp", "dp"}}) {
    std::atomic<int64_t> most_tp{0}, most_dp{0};
    RunCommunicators(4, [&](Communicator& world) {
      Mesh mesh(&world, axes, order);
      EXPECT_EQ(PlacedRank(axes, order, mesh.coords()), world.rank());
      Communicator& tp = mesh.Group({"tp"});
      EXPECT_EQ(tp.rank(), mesh.coord("tp"));
      AtomicMax(&most_tp, CommNodes(tp, nodes));
      AtomicMax(&most_dp, CommNodes(mesh.Group({"dp"}), nodes));
      EXPECT_EQ(&mesh.Group(order), &world);  // every axis in the placement's order: no split
      EXPECT_EQ(mesh.GroupNodes({"tp"}, nodes), order[1] == "tp" ? 1 : 2);
    });
    EXPECT_NO_THROW(CheckGroupNodes("TP", GroupNodes(axes, order, {"tp"}, nodes), most_tp));
    EXPECT_NO_THROW(CheckGroupNodes("DP", GroupNodes(axes, order, {"dp"}, nodes), most_dp));
    EXPECT_EQ(most_tp.load(), order[1] == "tp" ? 1 : 2);
  }
}

// A wrong count is caught: a mesh over a communicator whose ranks are not the world's (world
// ranks 1 and 2 swapped by the split), its span predicted as if they were, disagrees with the
// members of the split groups; the mesh's own GroupNodes (through world_ranks) agrees.
TEST(PlacementTest, AWrongSpanIsCaught) {
  const MeshShape axes{{"tp", 2}, {"dp", 2}};  // TP groups: mesh ranks {0, 2} and {1, 3}
  const NodeOf nodes = NodeMajor(2);           // world ranks {0, 1} and {2, 3}
  std::atomic<int64_t> measured{0}, mesh_says{0};
  RunCommunicators(4, [&](Communicator& world) {
    const int key[] = {0, 2, 1, 3};
    std::unique_ptr<Communicator> swapped = world.Split(0, key[world.rank()]);
    Mesh mesh(swapped.get(), axes);
    AtomicMax(&measured, CommNodes(mesh.Group({"tp"}), nodes));
    mesh_says = mesh.GroupNodes({"tp"}, nodes);
  });
  // TP groups in world ranks: {0, 1} and {2, 3}, one node each.
  EXPECT_EQ(measured.load(), 1);
  EXPECT_EQ(mesh_says.load(), 1);
  EXPECT_NO_THROW(CheckGroupNodes("TP", mesh_says, measured));
  const int64_t wrong = GroupNodes(axes, NaturalOrder(axes), {"tp"}, nodes);  // mesh = world
  EXPECT_EQ(wrong, 2);
  try {
    CheckGroupNodes("TP", wrong, measured);
    ADD_FAILURE() << "a wrong span passed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kWrong);
    EXPECT_STREQ(e.what(), "group TP: its members are on 1 node(s); the placement says 2");
  }
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
