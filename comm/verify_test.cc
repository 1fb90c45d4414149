// comm/verify_test.cc: the every-run check (FillInput / CountWrong) against results computed
// independently here (comm/reduce kernels over every rank's real input buffer), and against
// each bug of Corrupt(): every collective, dtype and reduction, 2 to 9 ranks; a corrupted
// result must be counted as wrong.
#include "comm/verify.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "comm/reduce.h"
#include "comm/types.h"

namespace tpbench {
namespace {

bool IsReduction(OpKind k) {
  return k == OpKind::kAllReduce || k == OpKind::kReduceScatter || k == OpKind::kReduce;
}

const std::vector<OpKind> kColls = {OpKind::kAllReduce, OpKind::kAllGather, OpKind::kReduceScatter,
                                    OpKind::kBroadcast, OpKind::kReduce,    OpKind::kAllToAll,
                                    OpKind::kSendRecv};

CollArgs Args(OpKind k, DataType t, ReduceOp op, int n, int rank, size_t count) {
  CollArgs a;
  a.kind = k;
  a.dtype = t;
  a.op = op;
  a.size = n;
  a.rank = rank;
  a.count = count;
  a.root = n > 1 ? 1 : 0;
  if (k == OpKind::kSendRecv) {
    a.peer_send = (rank + 1) % n;
    a.peer_recv = (rank + n - 1) % n;
  }
  return a;
}

// Every rank's send buffer, as the benchmark fills it.
std::vector<std::vector<char>> Inputs(const CollArgs& like, int seed) {
  std::vector<std::vector<char>> in(static_cast<size_t>(like.size));
  for (int r = 0; r < like.size; ++r) {
    CollArgs a = like;
    a.rank = r;
    in[r].assign(SendElements(a) * DataTypeSize(a.dtype) + 1, 0);
    FillInput(a, in[r].data(), seed);
  }
  return in;
}

// The correct result of rank a.rank, computed from the inputs without comm/verify.
std::vector<char> Reference(const CollArgs& a, const std::vector<std::vector<char>>& in) {
  const size_t es = DataTypeSize(a.dtype), blk = a.count * es;
  std::vector<char> out(RecvElements(a) * es + 1, 0);
  switch (a.kind) {
    case OpKind::kAllReduce:
    case OpKind::kReduce:
    case OpKind::kReduceScatter: {
      const size_t n = SendElements(a);
      const ReduceOp op = a.op == ReduceOp::kAvg ? ReduceOp::kSum : a.op;
      std::vector<char> acc(in[0]);
      for (int r = 1; r < a.size; ++r)
        ReduceInto(acc.data(), acc.data(), in[r].data(), n, a.dtype, op);
      if (a.op == ReduceOp::kAvg) DivideForAvg(acc.data(), n, a.dtype, a.size);
      const size_t off = a.kind == OpKind::kReduceScatter ? a.rank * blk : 0;
      std::memcpy(out.data(), acc.data() + off, a.count * es);
      break;
    }
    case OpKind::kAllGather:
      for (int p = 0; p < a.size; ++p) std::memcpy(out.data() + p * blk, in[p].data(), blk);
      break;
    case OpKind::kBroadcast: std::memcpy(out.data(), in[a.root].data(), blk); break;
    case OpKind::kAllToAll:
      for (int p = 0; p < a.size; ++p) {
        std::memcpy(out.data() + p * blk, in[p].data() + a.rank * blk, blk);
      }
      break;
    case OpKind::kSendRecv: std::memcpy(out.data(), in[a.peer_recv].data(), blk); break;
    default: break;
  }
  return out;
}

std::vector<ReduceOp> OpsFor(OpKind k) {
  return IsReduction(k) ? AllReduceOps() : std::vector<ReduceOp>{ReduceOp::kSum};
}

std::string Describe(const CollArgs& a, const char* what) {
  return std::string(OpKindName(a.kind)) + " " + DataTypeName(a.dtype) + " " + ReduceOpName(a.op) +
         " n=" + std::to_string(a.size) + " count=" + std::to_string(a.count) + " " + what;
}

// Does this bug change the result of this collective and op (at count >= 2, n >= 2)?
bool Applies(Corruption c, OpKind k, ReduceOp op) {
  if (c != Corruption::kDoubled) return true;
  return IsReduction(k) && op != ReduceOp::kMin && op != ReduceOp::kMax;
}

// Sums see every bug at any count; prod, min and max only where a rank holds the product's 2
// or the extreme value, once every ~n elements; an integer avg truncates, and sees n x the
// middle rank's input only where the values wrap, once every m <= 127 elements (verify.h).
std::vector<size_t> CountsFor(ReduceOp op, DataType t) {
  const bool integer =
      t == DataType::kI8 || t == DataType::kU8 || t == DataType::kI32 || t == DataType::kI64;
  if (op == ReduceOp::kSum || (op == ReduceOp::kAvg && !integer)) return {16, 64, 257};
  if (op == ReduceOp::kAvg) return {257};
  return {64, 257};
}

TEST(Verify, ExactResultsHaveNoWrongElements) {
  for (OpKind k : kColls) {
    for (DataType t : AllDataTypes()) {
      for (ReduceOp op : OpsFor(k)) {
        for (int n = 1; n <= 9; ++n) {
          for (size_t count : {1, 3, 64, 257}) {
            const CollArgs like = Args(k, t, op, n, 0, count);
            const auto in = Inputs(like, 7);
            for (int r = 0; r < n; ++r) {
              const CollArgs a = Args(k, t, op, n, r, count);
              EXPECT_EQ(CountWrong(a, Reference(a, in).data(), 7), 0u) << Describe(a, "exact");
            }
          }
        }
      }
    }
  }
}

// The bugs, each through Corrupt(): summed over the ranks (as the benchmark reports
// #wrong), every applicable bug is caught on 2..9 ranks for every collective, dtype and op.
TEST(Verify, EveryCorruptionIsCounted) {
  for (OpKind k : kColls) {
    for (DataType t : AllDataTypes()) {
      for (ReduceOp op : OpsFor(k)) {
        for (int n = 2; n <= 9; ++n) {
          for (size_t count : CountsFor(op, t)) {
            const auto in = Inputs(Args(k, t, op, n, 0, count), 7);
            for (Corruption c : AllCorruptions()) {
              uint64_t wrong = 0;
              bool applied = false;
              for (int r = 0; r < n; ++r) {
                const CollArgs a = Args(k, t, op, n, r, count);
                std::vector<char> out = Reference(a, in);
                if (!Corrupt(c, a, out.data(), 7)) continue;
                applied = true;
                wrong += CountWrong(a, out.data(), 7);
              }
              const CollArgs a = Args(k, t, op, n, 0, count);
              EXPECT_EQ(applied, Applies(c, k, op)) << Describe(a, CorruptionName(c));
              if (applied) {
                EXPECT_GT(wrong, 0u) << Describe(a, CorruptionName(c));
              }
            }
          }
        }
      }
    }
  }
}

// Sums (the default op): every rank's contribution differs at every element, so a dropped,
// doubled or replaced rank and a shifted segment are wrong at every element they touch.
TEST(Verify, SumBugsAreWrongAtEveryElement) {
  for (DataType t : AllDataTypes()) {
    for (int n = 2; n <= 9; ++n) {
      const size_t count = 300;
      const auto in = Inputs(Args(OpKind::kAllReduce, t, ReduceOp::kSum, n, 0, count), 11);
      for (int r = 0; r < n; ++r) {
        const CollArgs a = Args(OpKind::kAllReduce, t, ReduceOp::kSum, n, r, count);
        for (Corruption c : {Corruption::kDropped, Corruption::kDoubled, Corruption::kReplaced}) {
          std::vector<char> out = Reference(a, in);
          ASSERT_TRUE(Corrupt(c, a, out.data(), 11));
          EXPECT_EQ(CountWrong(a, out.data(), 11), count) << Describe(a, CorruptionName(c));
        }
        std::vector<char> out = Reference(a, in);
        ASSERT_TRUE(Corrupt(Corruption::kShifted, a, out.data(), 11));
        EXPECT_EQ(CountWrong(a, out.data(), 11), count / 4) << Describe(a, "shifted");
      }
    }
  }
}

// The property behind it: at one element, no two ranks contribute the same value (sum, up to
// 9 ranks in every dtype), and every contribution is at least 1.
TEST(Verify, RanksContributeDistinctValues) {
  for (DataType t : AllDataTypes()) {
    for (int n = 2; n <= 9; ++n) {
      const CollArgs a = Args(OpKind::kAllReduce, t, ReduceOp::kSum, n, 0, 0);
      for (size_t i = 0; i < 500; ++i) {
        std::set<double> seen;
        for (int r = 0; r < n; ++r) {
          const double v = InputValue(a, r, i, 3);
          EXPECT_GE(v, 1) << DataTypeName(t);
          seen.insert(v);
        }
        EXPECT_EQ(seen.size(), static_cast<size_t>(n)) << DataTypeName(t) << " n=" << n;
      }
    }
  }
}

// The old data (rank term 3r mod 3 = 0) let an all-reduce returning n x its own input pass.
// Here it fails on every world size the sweeps use, for f32 sum.
TEST(Verify, OwnInputTimesNIsCaughtOnEveryRank) {
  for (int n : {2, 3, 4, 8}) {
    const auto in = Inputs(Args(OpKind::kAllReduce, DataType::kF32, ReduceOp::kSum, n, 0, 64), 7);
    for (int r = 0; r < n; ++r) {
      const CollArgs a = Args(OpKind::kAllReduce, DataType::kF32, ReduceOp::kSum, n, r, 64);
      std::vector<char> out = Reference(a, in);
      ASSERT_TRUE(Corrupt(Corruption::kOwnTimesN, a, out.data(), 7));
      EXPECT_GT(CountWrong(a, out.data(), 7), 32u) << "n=" << n << " rank " << r;
    }
  }
}

// Too many ranks for the dtype (i8 sums over 50 ranks): one-hot data, still exact and still
// catching a dropped rank.
TEST(Verify, ManyRanksInI8StayExact) {
  const int n = 50;
  const size_t count = 200;
  const auto in = Inputs(Args(OpKind::kAllReduce, DataType::kI8, ReduceOp::kSum, n, 0, count), 7);
  const CollArgs a = Args(OpKind::kAllReduce, DataType::kI8, ReduceOp::kSum, n, 0, count);
  std::vector<char> out = Reference(a, in);
  EXPECT_EQ(CountWrong(a, out.data(), 7), 0u);
  ASSERT_TRUE(Corrupt(Corruption::kDropped, a, out.data(), 7));
  EXPECT_GT(CountWrong(a, out.data(), 7), 0u);
}

TEST(Verify, CorruptionNamesRoundTrip) {
  for (Corruption c : AllCorruptions()) {
    Corruption back;
    ASSERT_TRUE(ParseCorruption(CorruptionName(c), &back));
    EXPECT_EQ(back, c);
  }
  Corruption c;
  EXPECT_FALSE(ParseCorruption("bitflip", &c));
  EXPECT_EQ(CorruptionNames(), "own_times_n, replaced, dropped, doubled, permuted, shifted");
}

}  // namespace
}  // namespace tpbench
