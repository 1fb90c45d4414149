#include "comm/types.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "comm/coll.h"
#include "comm/reduce.h"

namespace tpbench {
namespace {

TEST(Types, NamesRoundTrip) {
  for (DataType t : AllDataTypes()) {
    DataType p;
    ASSERT_TRUE(ParseDataType(DataTypeName(t), &p));
    EXPECT_EQ(p, t);
  }
  for (ReduceOp op : AllReduceOps()) {
    ReduceOp p;
    ASSERT_TRUE(ParseReduceOp(ReduceOpName(op), &p));
    EXPECT_EQ(p, op);
  }
  for (OpKind k : AllCollectives()) {
    OpKind p;
    ASSERT_TRUE(ParseOpKind(OpKindName(k), &p));
    EXPECT_EQ(p, k);
  }
  DataType t;
  EXPECT_FALSE(ParseDataType("f128", &t));
  EXPECT_EQ(DataTypeNames(), "f32, f64, f16, bf16, i8, u8, i32, i64");
}

TEST(Types, Bf16RoundsToNearestEven) {
  EXPECT_EQ(static_cast<float>(bf16_t(1.0f)), 1.0f);
  EXPECT_EQ(static_cast<float>(bf16_t(-3.0f)), -3.0f);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0).
  EXPECT_EQ(static_cast<float>(bf16_t(1.0f + 1.0f / 256)), 1.0f);
  // Slightly above halfway rounds up.
  EXPECT_EQ(static_cast<float>(bf16_t(1.0f + 1.0f / 256 + 1.0f / 4096)), 1.0f + 1.0f / 128);
  EXPECT_TRUE(std::isnan(static_cast<float>(bf16_t(NAN))));
}

TEST(Reduce, EveryDtypeAndOpOnSmallIntegers) {
  const size_t n = 37;
  for (DataType t : AllDataTypes()) {
    const size_t es = DataTypeSize(t);
    std::vector<char> a(n * es), b(n * es), out(n * es);
    for (size_t i = 0; i < n; ++i) {
      StoreFromDouble(a.data(), i, t, static_cast<double>(i % 5));
      StoreFromDouble(b.data(), i, t, static_cast<double>((i * 3) % 7));
    }
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kProd, ReduceOp::kMin, ReduceOp::kMax}) {
      ReduceInto(out.data(), a.data(), b.data(), n, t, op);
      for (size_t i = 0; i < n; ++i) {
        double x = static_cast<double>(i % 5), y = static_cast<double>((i * 3) % 7);
        double want = op == ReduceOp::kSum    ? x + y
                      : op == ReduceOp::kProd ? x * y
                      : op == ReduceOp::kMin  ? std::min(x, y)
                                              : std::max(x, y);
        ASSERT_EQ(LoadAsDouble(out.data(), i, t), want)
            << DataTypeName(t) << " " << ReduceOpName(op) << " at " << i;
      }
    }
    // In place (out aliases a) and avg.
    ReduceInto(a.data(), a.data(), a.data(), n, t, ReduceOp::kSum);
    DivideForAvg(a.data(), n, t, 2);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(LoadAsDouble(a.data(), i, t), double(i % 5));
  }
}

// The collective table: one entry per collective, in AllCollectives() order, named as
// OpKindName, with the roots and reductions the benchmarks take.
TEST(Coll, CollectiveTableCoversEveryCollective) {
  const std::vector<OpKind> all = AllCollectives();
  ASSERT_EQ(Collectives().size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(Collectives()[i].kind, all[i]);
    EXPECT_STREQ(Collectives()[i].name, OpKindName(all[i]));
    EXPECT_EQ(&Collective(all[i]), &Collectives()[i]);
  }
  EXPECT_TRUE(Collective(OpKind::kReduce).has_root && Collective(OpKind::kReduce).reduces);
  EXPECT_FALSE(Collective(OpKind::kSendRecv).has_in_place);
  EXPECT_EQ(Collective(OpKind::kAllGather).CountFor(4096, DataType::kF32, 4), 256u);
  EXPECT_EQ(Collective(OpKind::kAllReduce).CountFor(4096, DataType::kF32, 4), 1024u);
  EXPECT_STREQ(Collective(OpKind::kAllReduce).bus_formula, "2(n-1)/n");
  EXPECT_DOUBLE_EQ(BusBandwidthFactor(OpKind::kBarrier, 4), 1.0);
}

TEST(Coll, BusBandwidthFactorsMatchNcclTests) {
  EXPECT_DOUBLE_EQ(BusBandwidthFactor(OpKind::kAllReduce, 4), 1.5);
  EXPECT_DOUBLE_EQ(BusBandwidthFactor(OpKind::kAllGather, 4), 0.75);
  EXPECT_DOUBLE_EQ(BusBandwidthFactor(OpKind::kReduceScatter, 8), 7.0 / 8);
  EXPECT_DOUBLE_EQ(BusBandwidthFactor(OpKind::kAllToAll, 2), 0.5);
  EXPECT_DOUBLE_EQ(BusBandwidthFactor(OpKind::kBroadcast, 4), 1.0);
  EXPECT_DOUBLE_EQ(BusBandwidthFactor(OpKind::kSendRecv, 4), 1.0);
}

TEST(Coll, InPlaceFollowsNcclConventions) {
  std::vector<float> buf(12);
  CollArgs a;
  a.kind = OpKind::kAllGather;
  a.count = 3;
  a.rank = 2;
  a.size = 4;
  a.recv = buf.data();
  a.send = buf.data() + 6;
  EXPECT_TRUE(a.in_place());
  a.send = buf.data();
  EXPECT_FALSE(a.in_place());
  a.kind = OpKind::kReduceScatter;
  a.send = buf.data();
  a.recv = buf.data() + 6;
  EXPECT_TRUE(a.in_place());
}

}  // namespace
}  // namespace tpbench

namespace tpbench {
namespace {

TEST(Reduce, StreamingMatchesPlainAtEveryAlignment) {
  for (DataType t : AllDataTypes()) {
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kProd, ReduceOp::kMax}) {
      const size_t es = DataTypeSize(t), n = 1037;
      std::vector<char> a((n + 8) * es), b((n + 8) * es), want((n + 8) * es), got((n + 8) * es);
      for (size_t i = 0; i < n + 8; ++i) {
        StoreFromDouble(a.data(), i, t, static_cast<double>(i % 7));
        StoreFromDouble(b.data(), i, t, static_cast<double>((i * 5) % 3 + 1));
      }
      for (size_t off = 0; off < 5; ++off) {  // misaligned outputs take the scalar head
        ReduceInto(want.data() + off * es, a.data(), b.data(), n, t, op);
        ReduceIntoStreaming(got.data() + off * es, a.data(), b.data(), n, t, op);
        ASSERT_EQ(0, std::memcmp(want.data() + off * es, got.data() + off * es, n * es))
            << DataTypeName(t) << " " << ReduceOpName(op) << " offset " << off;
      }
    }
  }
}

}  // namespace
}  // namespace tpbench
