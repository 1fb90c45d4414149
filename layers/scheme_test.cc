// layers/scheme_test.cc: every registered scheme's data, without a communicator: the regions
// of all ranks tile every tensor (each element held by the same number of ranks, the scheme's
// replication), region shapes agree with the rank's share, plan groups name mesh axes, and
// meshes reject a P that does not fit.
#include "layers/scheme.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "comm/error.h"
#include "layers/mesh.h"
#include "layers/reference.h"
#include "layers/tensor.h"

namespace tpbench {
namespace {

struct MeshCase {
  std::string scheme;
  int64_t P, depth;
};

// b=36, s=2, h=144, nh=36 splits under every scheme at these P.
const LayerConfig kCfg{/*batch=*/36, /*seq=*/2, /*hidden=*/144, /*heads=*/36};
const std::vector<MeshCase> kSetups = {
    {"1d", 1, 1},   {"1d", 4, 1},   {"1d-sp", 6, 1}, {"2d", 4, 1}, {"2d", 9, 1},
    {"2.5d", 8, 2}, {"2.5d", 4, 1}, {"2.5d", 18, 2}, {"3d", 8, 1}, {"3d", 27, 1}};

TEST(SchemeTest, EverySchemeIsRegisteredInOrder) {
  EXPECT_EQ(SchemeNames(), (std::vector<std::string>{"1d", "1d-sp", "2d", "2.5d", "3d"}));
  EXPECT_THROW(FindScheme("4d"), Error);
}

TEST(SchemeTest, RegionsTileEveryTensor) {
  for (const MeshCase& st : kSetups) {
    const TpScheme& s = FindScheme(st.scheme);
    SchemeOptions opt;
    opt.depth = st.depth;
    const MeshShape axes = s.MeshFor(st.P, opt);
    s.Validate(kCfg, axes);
    LayerParams full = LayerParams::Init(kCfg, DataType::kF32, 1);
    std::vector<std::pair<std::string, Shape>> tensors = {{"x", {kCfg.tokens(), kCfg.hidden}}};
    for (auto& [name, t] : full.Named()) tensors.push_back({name, t->shape()});
    for (const auto& [name, shape] : tensors) {
      const Rect all = AllOf(shape);
      std::vector<int> hits(static_cast<size_t>(all.r1 * all.c1), 0);
      int64_t area = -1;
      for (int64_t r = 0; r < st.P; ++r) {
        const Rect rc = s.Region(name, shape, kCfg, axes, MeshCoords(axes, r));
        ASSERT_TRUE(rc.r0 >= 0 && rc.r1 <= all.r1 && rc.c0 >= 0 && rc.c1 <= all.c1)
            << st.scheme << " " << name;
        const int64_t a = (rc.r1 - rc.r0) * (rc.c1 - rc.c0);
        if (area >= 0) {
          EXPECT_EQ(a, area) << st.scheme << " P=" << st.P << " " << name;
        }
        area = a;
        for (int64_t i = rc.r0; i < rc.r1; ++i) {
          for (int64_t j = rc.c0; j < rc.c1; ++j) ++hits[static_cast<size_t>(i * all.c1 + j)];
        }
      }
      const int64_t reps = st.P * area / (all.r1 * all.c1);
      ASSERT_GE(reps, 1) << st.scheme << " " << name;
      for (int h : hits) ASSERT_EQ(h, reps) << st.scheme << " P=" << st.P << " " << name;
    }
  }
}

TEST(SchemeTest, PlansNameMeshAxesAndSplitForwardFirst) {
  for (const MeshCase& st : kSetups) {
    const TpScheme& s = FindScheme(st.scheme);
    SchemeOptions opt;
    opt.depth = st.depth;
    const MeshShape axes = s.MeshFor(st.P, opt);
    for (const char* kind : {"linear", "mlp", "attention", "block"}) {
      const CommPlan p = s.Plan(kCfg, kind, axes, opt);
      for (const auto& [g, varying] : p.groups) {
        for (const std::string& a : varying) EXPECT_NO_THROW(AxisSize(axes, a)) << g;
      }
      bool seen_bwd = false;
      for (const CommOp& o : p.ops) {
        EXPECT_TRUE(p.groups.count(o.group)) << st.scheme << " " << o.group;
        EXPECT_FALSE(seen_bwd && !o.backward) << st.scheme << ": forward op after backward";
        seen_bwd |= o.backward;
      }
      EXPECT_EQ(PlanBytesPerRank(p, axes, DataType::kF32) > 0, st.P > 1) << st.scheme;
    }
  }
}

TEST(SchemeTest, MeshesRejectPThatDoesNotFit) {
  SchemeOptions opt;
  opt.depth = 2;
  EXPECT_THROW(FindScheme("2d").MeshFor(8, opt), Error);
  EXPECT_THROW(FindScheme("2.5d").MeshFor(9, opt), Error);
  EXPECT_THROW(FindScheme("3d").MeshFor(9, opt), Error);
  EXPECT_NO_THROW(FindScheme("2.5d").MeshFor(8, opt));
  opt.depth = 0;
  EXPECT_THROW(FindScheme("2.5d").MeshFor(8, opt), Error);
}

}  // namespace
}  // namespace tpbench
