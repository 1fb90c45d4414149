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

// docs/schemes.md "Memory per rank", written out independently of LayerMemoryModel: on a
// shape where every tensor is a multiple of 64 bytes in f32 (no rounding), the block's model
// is theta + theta' + 8X + 4R + 12H + 3A + 2F (+ 2 gathered gammas in 2d); 3d keeps Xg and Wg
// of every linear instead of the LayerNorm outputs and the context (6X, 11H).
TEST(SchemeTest, BlockMemoryModelIsTheDocumentedFormula) {
  const LayerConfig cfg{/*batch=*/16, /*seq=*/32, /*hidden=*/256, /*heads=*/8};
  const int64_t B = cfg.tokens(), h = cfg.hidden, s = cfg.seq, nh = cfg.heads, b = cfg.batch;
  struct Want {
    std::string scheme;
    int64_t P, depth, x, rows, head, probs, theta, theta_qkv_ln1, extra;
  };
  const int64_t q = 2, t = 4;
  const std::vector<Want> wants = {
      {"1d", t, 1, B * h, B, B * h / t, b * nh * s * s / t, 12 * h * h / t + 7 * h / t + 6 * h,
       3 * h * h / t + 3 * h / t + 2 * h, 0},
      {"1d-sp", t, 1, B * h / t, B / t, B * h / t, b * nh * s * s / t,
       12 * h * h / t + 7 * h / t + 6 * h, 3 * h * h / t + 3 * h / t + 2 * h, 0},
      {"2d", q * q, 1, B * h / (q * q), B / q, B * h / (q * q), b * nh * s * s / (q * q),
       (12 * h * h + 13 * h) / (q * q), (3 * h * h + 5 * h) / (q * q), 2 * h / q},
      {"2.5d", 2 * q * q, 2, B * h / (2 * q * q), B / (2 * q), B * h / (2 * q * q),
       b * nh * s * s / (2 * q * q), 12 * h * h / (q * q) + 13 * h / q,
       3 * h * h / (q * q) + 5 * h / q, 0},
      {"3d", q * q * q, 1, B * h / (q * q * q), B / (q * q), B * h / (q * q * q),
       b * nh * s * s / (q * q * q), 12 * h * h / (q * q * q) + 13 * h / q,
       3 * h * h / (q * q * q) + 5 * h / q, 7 * B * h / (q * q) + 12 * h * h / (q * q)},
  };
  for (const Want& w : wants) {
    const TpScheme& sc = FindScheme(w.scheme);
    SchemeOptions opt;
    opt.depth = w.depth;
    const MeshShape axes = sc.MeshFor(w.P, opt);
    sc.Validate(cfg, axes);
    const bool g3 = w.scheme == "3d";
    const int64_t ffn = 4 * w.head;
    const int64_t elems = w.theta + (w.theta - w.theta_qkv_ln1) + (g3 ? 6 : 8) * w.x + 4 * w.rows +
                          (g3 ? 11 : 12) * w.head + 3 * w.probs + 2 * ffn + w.extra;
    const MemoryModel m = sc.Memory(cfg, "block", axes, opt);
    EXPECT_EQ(MemoryModelBytes(m, DataType::kF32), static_cast<uint64_t>(elems) * 4) << w.scheme;
    // A term dropped changes the bytes: the probabilities, for one.
    EXPECT_LT(
        MemoryModelBytes(m, DataType::kF32,
                         [](const MemTerm& t) { return t.what != "attention probabilities"; }),
        static_cast<uint64_t>(elems) * 4)
        << w.scheme;
    EXPECT_TRUE(sc.Memory(cfg, "mlp", axes, opt).terms.empty()) << w.scheme;
  }
}

TEST(SchemeTest, MemoryModelRoundsEveryTensorTo64Bytes) {
  const MemoryModel m{{{"a", 3, 1}, {"b", 1, 16}, {"c", 2, 17}}};
  // f32: 3 x 64 (4 B each), 64 (exactly 64 B), 2 x 128 (68 B each).
  EXPECT_EQ(MemoryModelBytes(m, DataType::kF32), 3u * 64 + 64 + 2 * 128);
  EXPECT_NE(MemoryModelTable(m, DataType::kF32).find("| total | | | 512 |"), std::string::npos);
}

}  // namespace
}  // namespace tpbench
