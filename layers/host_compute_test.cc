#include "layers/host_compute.h"

#include <gtest/gtest.h>

#include <cmath>

#include "comm/error.h"
#include "layers/grad_check.h"

namespace tpbench {
namespace {

Tensor Rand(Shape s, uint64_t seed, DataType t = DataType::kF64, double lo = -1, double hi = 1) {
  Tensor x(std::move(s), t);
  x.FillUniform(seed, lo, hi);
  return x;
}

// c = alpha op(a) op(b) + beta c by triple loop, in double.
void NaiveGemm(bool ta, bool tb, double alpha, const Tensor& a, const Tensor& b, double beta,
               Tensor* c) {
  int64_t m = c->rows(), n = c->cols(), k = ta ? a.rows() : a.cols();
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) {
        double av = ta ? a.Get(p * a.cols() + i) : a.Get(i * a.cols() + p);
        double bv = tb ? b.Get(j * b.cols() + p) : b.Get(p * b.cols() + j);
        s += av * bv;
      }
      c->Set(i * n + j, alpha * s + beta * c->Get(i * n + j));
    }
}

TEST(HostCompute, GemmMatchesNaiveForAllTransposes) {
  HostCompute c;
  const int64_t m = 5, n = 7, k = 3;
  for (DataType dt : {DataType::kF32, DataType::kF64}) {
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        Tensor a = Rand(ta ? Shape{k, m} : Shape{m, k}, 1, dt);
        Tensor b = Rand(tb ? Shape{n, k} : Shape{k, n}, 2, dt);
        Tensor got = Rand({m, n}, 3, dt), want = got.Clone();
        c.ResetFlops();
        c.Gemm(ta, tb, 0.5, a, b, 2.0, &got);
        NaiveGemm(ta, tb, 0.5, a, b, 2.0, &want);
        EXPECT_LT(MaxRelError(got, want), dt == DataType::kF32 ? 1e-6 : 1e-14)
            << DataTypeName(dt) << " ta=" << ta << " tb=" << tb;
        EXPECT_EQ(c.flops().gemm, static_cast<uint64_t>(2 * m * n * k));
      }
  }
}

TEST(HostCompute, GemmBatchedMatchesPerBlockGemm) {
  HostCompute c;
  const int64_t batch = 3, m = 4, n = 2, k = 5;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      Tensor a = Rand(ta ? Shape{batch * k, m} : Shape{batch * m, k}, 4);
      Tensor b = Rand(tb ? Shape{batch * n, k} : Shape{batch * k, n}, 5);
      Tensor got({batch * m, n}, DataType::kF64), want({batch * m, n}, DataType::kF64);
      got.Fill(NAN);  // beta == 0 must ignore old contents
      c.GemmBatched(batch, ta, tb, 1.0, a, b, 0.0, &got);
      for (int64_t i = 0; i < batch; ++i) {
        Tensor wi = want.RowChunk(batch, i);
        NaiveGemm(ta, tb, 1.0, a.RowChunk(batch, i), b.RowChunk(batch, i), 0.0, &wi);
      }
      EXPECT_LT(MaxRelError(got, want), 1e-14) << "ta=" << ta << " tb=" << tb;
    }
}

TEST(HostCompute, ShapeMismatchIsUsageError) {
  HostCompute c;
  Tensor a({3, 4}, DataType::kF64), b({5, 2}, DataType::kF64), y({3, 2}, DataType::kF64);
  EXPECT_THROW(c.Gemm(false, false, 1, a, b, 0, &y), Error);
  Tensor f({3, 2}, DataType::kF32);
  EXPECT_THROW(c.Add(y, f, &y), Error);
  Tensor bias({3}, DataType::kF64);
  EXPECT_THROW(c.AddBias(bias, &y), Error);
  EXPECT_THROW(HostCompute(0), Error);
}

TEST(HostCompute, BiasAddAndGrad) {
  HostCompute c;
  Tensor x = Rand({4, 3}, 1), b = Rand({3}, 2), dy = Rand({4, 3}, 3), db({3}, DataType::kF64);
  Tensor y = x.Clone();
  c.AddBias(b, &y);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j) EXPECT_DOUBLE_EQ(y.Get(i * 3 + j), x.Get(i * 3 + j) + b.Get(j));
  c.BiasGrad(dy, &db);
  auto loss = [&] {
    Tensor yy = x.Clone();
    c.AddBias(b, &yy);
    return Dot(yy, dy);
  };
  EXPECT_LT(FdMaxRelError(loss, {{&b, &db}}), 1e-8);
}

TEST(HostCompute, GeluValuesAndBackward) {
  HostCompute c;
  Tensor x({3}, DataType::kF64), y({3}, DataType::kF64);
  x.Set(0, 0);
  x.Set(1, 1);
  x.Set(2, -2);
  c.GeluForward(x, &y);
  EXPECT_EQ(y.Get(0), 0.0);
  EXPECT_NEAR(y.Get(1), 0.8411919906082768, 1e-12);  // tanh approximation at 1
  EXPECT_NEAR(y.Get(2), -0.04540230591222, 1e-12);
  Tensor xs = Rand({6, 5}, 1, DataType::kF64, -3, 3), dy = Rand({6, 5}, 2);
  Tensor ys({6, 5}, DataType::kF64), dx({6, 5}, DataType::kF64);
  c.GeluBackward(xs, dy, &dx);
  auto loss = [&] {
    c.GeluForward(xs, &ys);
    return Dot(ys, dy);
  };
  EXPECT_LT(FdMaxRelError(loss, {{&xs, &dx}}), 1e-8);
}

TEST(HostCompute, SoftmaxForwardBackward) {
  HostCompute c;
  for (bool causal : {false, true}) {
    const int64_t s = 4;
    Tensor x = Rand({2 * s, s}, 1, DataType::kF64, -3, 3), dy = Rand({2 * s, s}, 2);
    Tensor y({2 * s, s}, DataType::kF64), dx({2 * s, s}, DataType::kF64);
    c.SoftmaxForward(x, causal, &y);
    for (int64_t r = 0; r < 2 * s; ++r) {
      double sum = 0;
      for (int64_t j = 0; j < s; ++j) {
        sum += y.Get(r * s + j);
        if (causal && j > r % s) {
          EXPECT_EQ(y.Get(r * s + j), 0.0);
        }
      }
      EXPECT_NEAR(sum, 1.0, 1e-14);
    }
    c.SoftmaxBackward(y, dy, &dx);
    Tensor yy({2 * s, s}, DataType::kF64);
    auto loss = [&] {
      c.SoftmaxForward(x, causal, &yy);
      return Dot(yy, dy);
    };
    EXPECT_LT(FdMaxRelError(loss, {{&x, &dx}}), 1e-7) << "causal=" << causal;
  }
}

TEST(HostCompute, LayerNormForwardBackward) {
  HostCompute c;
  const int64_t R = 5, C = 6;
  Tensor x = Rand({R, C}, 1, DataType::kF64, -2, 2), g = Rand({C}, 2, DataType::kF64, 0.5, 1.5);
  Tensor b = Rand({C}, 3), dy = Rand({R, C}, 4);
  Tensor y({R, C}, DataType::kF64), mean({R}, DataType::kF64), rstd({R}, DataType::kF64);
  c.LayerNormForward(x, g, b, 1e-5, &y, &mean, &rstd);
  // With gamma = 1, beta = 0 each row has mean 0 and (biased) variance ~1.
  Tensor ones({C}, DataType::kF64), zeros({C}, DataType::kF64), yn({R, C}, DataType::kF64);
  ones.Fill(1);
  c.LayerNormForward(x, ones, zeros, 0, &yn, &mean, &rstd);
  for (int64_t r = 0; r < R; ++r) {
    double m = 0, v = 0;
    for (int64_t j = 0; j < C; ++j) m += yn.Get(r * C + j) / C;
    for (int64_t j = 0; j < C; ++j) v += std::pow(yn.Get(r * C + j) - m, 2) / C;
    EXPECT_NEAR(m, 0, 1e-14);
    EXPECT_NEAR(v, 1, 1e-12);
  }
  c.LayerNormForward(x, g, b, 1e-5, &y, &mean, &rstd);
  Tensor dx({R, C}, DataType::kF64), dg({C}, DataType::kF64), db({C}, DataType::kF64);
  c.LayerNormBackward(x, g, mean, rstd, dy, &dx, &dg, &db);
  Tensor yy({R, C}, DataType::kF64), m2({R}, DataType::kF64), r2({R}, DataType::kF64);
  auto loss = [&] {
    c.LayerNormForward(x, g, b, 1e-5, &yy, &m2, &r2);
    return Dot(yy, dy);
  };
  EXPECT_LT(FdMaxRelError(loss, {{&x, &dx}, {&g, &dg}, {&b, &db}}), 1e-7);
}

// The split-hidden LayerNorm (statistics of column chunks summed between Stats and Apply, as
// the 2D/2.5D/3D layers do with an all-reduce) equals the whole-row LayerNorm.
TEST(HostCompute, SplitLayerNormEqualsWholeRow) {
  HostCompute c;
  const int64_t R = 5, C = 12, parts = 3;
  Tensor x = Rand({R, C}, 3), dy = Rand({R, C}, 4), gamma = Rand({C}, 5), beta = Rand({C}, 6);
  Tensor y({R, C}, DataType::kF64), mean({R}, DataType::kF64), rstd = mean.Clone();
  Tensor dx = y.Clone(), dg = gamma.Clone(), db = gamma.Clone();
  c.LayerNormForward(x, gamma, beta, 1e-5, &y, &mean, &rstd);
  c.LayerNormBackward(x, gamma, mean, rstd, dy, &dx, &dg, &db);
  Tensor stats({2, R}, DataType::kF64), part = stats.Clone();
  for (int64_t p = 0; p < parts; ++p) {
    c.LayerNormStats(x.ColChunk(parts, p), &part);
    c.Axpy(1.0, part, &stats);
  }
  Tensor bstats({2, R}, DataType::kF64);
  for (int64_t p = 0; p < parts; ++p) {
    Tensor yp({R, C / parts}, DataType::kF64), m({R}, DataType::kF64), rs = m.Clone();
    c.LayerNormApply(x.ColChunk(parts, p), stats, C, 1e-5, gamma.ColChunk(parts, p),
                     beta.ColChunk(parts, p), &yp, &m, &rs);
    EXPECT_LT(MaxRelError(yp, y.ColChunk(parts, p)), 1e-12);
    EXPECT_LT(MaxRelError(rs, rstd), 1e-12);
    c.LayerNormBackwardStats(x.ColChunk(parts, p), gamma.ColChunk(parts, p), m, rs,
                             dy.ColChunk(parts, p), &part);
    c.Axpy(1.0, part, &bstats);
  }
  for (int64_t p = 0; p < parts; ++p) {
    Tensor dxp({R, C / parts}, DataType::kF64), dgp({C / parts}, DataType::kF64), dbp = dgp.Clone();
    c.LayerNormBackwardApply(x.ColChunk(parts, p), gamma.ColChunk(parts, p), mean, rstd,
                             dy.ColChunk(parts, p), bstats, C, &dxp, &dgp, &dbp);
    EXPECT_LT(MaxRelError(dxp, dx.ColChunk(parts, p)), 1e-12);
    EXPECT_LT(MaxRelError(dgp, dg.ColChunk(parts, p)), 1e-12);
    EXPECT_LT(MaxRelError(dbp, db.ColChunk(parts, p)), 1e-12);
  }
}

TEST(HostCompute, AddAxpyScaledCopy) {
  HostCompute c;
  Tensor a = Rand({3, 4}, 1), b = Rand({3, 4}, 2), out({3, 4}, DataType::kF64);
  c.Add(a, b, &out);
  Tensor y = b.Clone();
  c.Axpy(1.0, a, &y);
  EXPECT_LT(MaxRelError(y, out), 1e-15);
  c.ScaledCopy(-2.0, a, &y);
  for (int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(y.Get(i), -2.0 * a.Get(i));
  c.ResetFlops();
  c.Add(a, b, &out);
  EXPECT_EQ(c.flops().gemm, 0u);
  EXPECT_EQ(c.flops().other, 12u);
}

TEST(HostCompute, HeadPermutationsRoundTrip) {
  HostCompute c;
  const int64_t b = 2, s = 3, nh = 2, hd = 4;
  Tensor qkv = Rand({b * s, 3 * nh * hd}, 1);
  Tensor q({b * nh * s, hd}, DataType::kF64), k = q.Clone(), v = q.Clone();
  c.SplitQkvHeads(qkv, b, s, nh, &q, &k, &v);
  // k of sample 1, head 1, position 2, element 3 sits in row 1*3+2 at column 1*12 + 4 + 3.
  EXPECT_EQ(k.Get(((1 * nh + 1) * s + 2) * hd + 3), qkv.Get((1 * s + 2) * 24 + 12 + 4 + 3));
  Tensor back({b * s, 3 * nh * hd}, DataType::kF64);
  c.MergeQkvHeads(q, k, v, b, s, nh, &back);
  EXPECT_EQ(MaxAbsError(back, qkv), 0.0);
  Tensor y({b * s, nh * hd}, DataType::kF64), y2 = y.Clone();
  c.MergeHeads(q, b, s, nh, &y);
  Tensor q2 = q.Clone();
  q2.Zero();
  c.SplitHeads(y, b, s, nh, &q2);
  EXPECT_EQ(MaxAbsError(q2, q), 0.0);
}

}  // namespace
}  // namespace tpbench
