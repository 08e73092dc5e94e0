// The attention kernels of every instruction set this CPU runs agree with
// the scalar reference, on F32 and F16 cache rows of awkward lengths.
#include "runtime/model/vec_ops.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/model/ops.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/isa.h"

namespace ggufd::model {
namespace {

struct Rows {
  std::vector<uint8_t> f32;
  std::vector<uint8_t> f16;
};

// n rows of dim values each, `pad` extra values between rows.
Rows MakeRows(int n, int dim, int pad) {
  Rows rows;
  const int stride = dim + pad;
  rows.f32.resize(static_cast<size_t>(n) * stride * 4);
  rows.f16.resize(static_cast<size_t>(n) * stride * 2);
  for (int i = 0; i < n * stride; ++i) {
    const float v = std::sin(0.37f * i) * 2;
    const uint16_t h = tensor::Fp32ToFp16(v);
    std::memcpy(&rows.f32[4 * i], &v, 4);
    std::memcpy(&rows.f16[2 * i], &h, 2);
  }
  return rows;
}

TEST(VecOpsTest, EveryIsaMatchesScalar) {
  const VecOps& ref = ScalarVecOps();
  const VecOps& best = GetVecOps(tensor::BestIsa());
  for (int dim : {8, 13, 64, 72, 128}) {
    for (int n : {1, 5, 33}) {
      SCOPED_TRACE(testing::Message() << "dim " << dim << " n " << n);
      const int pad = 3;
      Rows rows = MakeRows(n, dim, pad);
      std::vector<float> q(dim), w(n);
      for (int i = 0; i < dim; ++i) q[i] = std::cos(0.11f * i);
      for (int r = 0; r < n; ++r) w[r] = 1.0f / (r + 1);
      for (bool f16 : {false, true}) {
        const size_t stride = (dim + pad) * (f16 ? 2 : 4);
        const uint8_t* data = f16 ? rows.f16.data() : rows.f32.data();
        std::vector<float> a(n), b(n);
        (f16 ? ref.dot_rows_f16 : ref.dot_rows_f32)(q.data(), data, stride, n,
                                                    dim, 0.5f, a.data());
        (f16 ? best.dot_rows_f16 : best.dot_rows_f32)(q.data(), data, stride, n,
                                                      dim, 0.5f, b.data());
        for (int r = 0; r < n; ++r) EXPECT_NEAR(a[r], b[r], 1e-4) << r;
        std::vector<float> sa(dim, 7), sb(dim, 7);
        (f16 ? ref.weighted_sum_f16 : ref.weighted_sum_f32)(
            w.data(), data, stride, n, dim, sa.data());
        (f16 ? best.weighted_sum_f16 : best.weighted_sum_f32)(
            w.data(), data, stride, n, dim, sb.data());
        for (int i = 0; i < dim; ++i) EXPECT_NEAR(sa[i], sb[i], 1e-4) << i;
      }
    }
  }
}

// The batched (tiled-matmul order) F16 kernels compute the same sums as the
// scalar ones, across the 16- and 64-position lane periods.
TEST(VecOpsTest, BatchedF16KernelsMatchScalar) {
  const VecOps& ref = ScalarVecOps();
  const VecOps& best = GetVecOps(tensor::BestIsa());
  for (int dim : {8, 13, 64, 128}) {
    for (int n : {1, 17, 70, 200}) {
      SCOPED_TRACE(testing::Message() << "dim " << dim << " n " << n);
      const int pad = 3;
      Rows rows = MakeRows(n, dim, pad);
      std::vector<float> q(dim), w(n);
      for (int i = 0; i < dim; ++i) q[i] = std::cos(0.11f * i);
      for (int r = 0; r < n; ++r) w[r] = 1.0f / (r + 1);
      const size_t stride = (dim + pad) * 2;
      std::vector<float> a(n), b(n), c(n);
      ref.dot_rows_f16(q.data(), rows.f16.data(), stride, n, dim, 0.5f,
                       a.data());
      best.dot_rows_f16_batched(q.data(), rows.f16.data(), stride, n, dim, 0.5f,
                                b.data());
      best.dot_rows_f16(q.data(), rows.f16.data(), stride, n, dim, 0.5f,
                        c.data());
      for (int r = 0; r < n; ++r) {
        EXPECT_NEAR(a[r], b[r], 1e-4) << r;
        EXPECT_NEAR(a[r], c[r], 1e-4) << r;
      }
      std::vector<float> sa(dim, 7), sb(dim, 7);
      ref.weighted_sum_f16(w.data(), rows.f16.data(), stride, n, dim,
                           sa.data());
      best.weighted_sum_f16_batched(w.data(), rows.f16.data(), stride, n, dim,
                                    sb.data());
      for (int i = 0; i < dim; ++i) EXPECT_NEAR(sa[i], sb[i], 1e-4) << i;
    }
  }
}

// Softmax and SwiGLU (whose AVX2 exp is the reference's approximation) stay
// within a few ulp of libm's, including the saturated ends.
TEST(VecOpsTest, SoftmaxAndSiluMatchScalar) {
  const VecOps& ref = ScalarVecOps();
  const VecOps& best = GetVecOps(tensor::BestIsa());
  for (int n : {1, 7, 16, 37, 300}) {
    std::vector<float> a(n), b(n);
    for (int i = 0; i < n; ++i) a[i] = b[i] = 30 * std::sin(0.7f * i) - i;
    ref.softmax(a.data(), n);
    best.softmax(b.data(), n);
    double total = 0;
    for (int i = 0; i < n; ++i) {
      EXPECT_NEAR(a[i], b[i], 1e-6f * (1 + a[i])) << n << " " << i;
      total += b[i];
    }
    EXPECT_NEAR(total, 1.0, 1e-5) << n;
  }
  const int n = 200;
  std::vector<float> ga(n), gb(n), up(n);
  for (int i = 0; i < n; ++i) {
    ga[i] = gb[i] = (i - 100) * 2.5f;  // -250 .. 247.5: exp over/underflows
    up[i] = 1.0f + 0.01f * i;
  }
  ref.silu_mul(ga.data(), up.data(), n);
  best.silu_mul(gb.data(), up.data(), n);
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(std::isfinite(gb[i])) << i;
    EXPECT_NEAR(ga[i], gb[i], 1e-6f * (1 + std::fabs(ga[i]))) << i;
  }
}

TEST(VecOpsTest, F16ConversionsAreExactAndAgree) {
  const VecOps& ref = ScalarVecOps();
  const VecOps& best = GetVecOps(tensor::BestIsa());
  std::vector<float> x = {0.0f,   -0.0f,    1.0f,  65504.0f, 70000.0f, 1e-8f,
                          3e-5f,  -2.5f,    0.1f,  1.0f / 3, 1.00049f, 2049.f,
                          -7e-6f, 123.456f, 1e30f, -1e30f,   0.5f};
  std::vector<uint16_t> a(x.size()), b(x.size());
  ref.to_f16(x.data(), a.data(), static_cast<int>(x.size()));
  best.to_f16(x.data(), b.data(), static_cast<int>(x.size()));
  EXPECT_EQ(a, b);
  std::vector<float> ra = x, rb = x;
  ref.round_f16(ra.data(), static_cast<int>(ra.size()));
  best.round_f16(rb.data(), static_cast<int>(rb.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(ra[i], tensor::Fp16ToFp32(a[i])) << i;
    EXPECT_EQ(std::memcmp(&ra[i], &rb[i], 4), 0) << i;
  }
}

// The multi-query kernels give, for every query, the bits of the
// one-query kernel whose order they follow (decoding and batched), for any
// number of queries, row counts on both sides of the lane periods and head
// sizes up to their limit.
TEST(VecOpsTest, MultiQueryKernelsEqualTheOneQueryKernelsBitForBit) {
  const VecOps& ops = GetVecOps(tensor::BestIsa());
  if (ops.multi.max_dim == 0) GTEST_SKIP() << "no multi-query kernels here";
  for (int dim : {16, 64, 80, 128, 256}) {
    for (int n : {1, 15, 16, 17, 64, 65, 200, 1100}) {
      SCOPED_TRACE(testing::Message() << "dim " << dim << " n " << n);
      const int pad = 5;
      const Rows rows = MakeRows(n, dim, pad);
      const size_t stride = (dim + pad) * 2;
      for (int n_q = 1; n_q <= kMaxQueries; ++n_q) {
        std::vector<std::vector<float>> q(n_q), w(n_q);
        for (int i = 0; i < n_q; ++i) {
          q[i].resize(dim);
          w[i].resize(n);
          for (int d = 0; d < dim; ++d) q[i][d] = std::cos(0.11f * d + i);
          for (int r = 0; r < n; ++r) w[i][r] = 1.0f / (r + 1 + i);
        }
        for (bool batched : {false, true}) {
          const auto one_dot =
              batched ? ops.dot_rows_f16_batched : ops.dot_rows_f16;
          const auto one_sum =
              batched ? ops.weighted_sum_f16_batched : ops.weighted_sum_f16;
          const auto multi_dot =
              batched ? ops.multi.dot_rows_f16_batched : ops.multi.dot_rows_f16;
          const auto multi_sum = batched ? ops.multi.weighted_sum_f16_batched
                                         : ops.multi.weighted_sum_f16;
          std::vector<std::vector<float>> dots(n_q, std::vector<float>(n)),
              sums(n_q, std::vector<float>(dim));
          const float* qs[kMaxQueries];
          const float* ws[kMaxQueries];
          float* dot_out[kMaxQueries];
          float* sum_out[kMaxQueries];
          for (int i = 0; i < n_q; ++i) {
            qs[i] = q[i].data();
            ws[i] = w[i].data();
            dot_out[i] = dots[i].data();
            sum_out[i] = sums[i].data();
          }
          multi_dot(n_q, qs, rows.f16.data(), stride, n, dim, 0.125f, dot_out);
          multi_sum(n_q, ws, rows.f16.data(), stride, n, dim, sum_out);
          for (int i = 0; i < n_q; ++i) {
            std::vector<float> dot(n), sum(dim);
            one_dot(q[i].data(), rows.f16.data(), stride, n, dim, 0.125f,
                    dot.data());
            one_sum(w[i].data(), rows.f16.data(), stride, n, dim, sum.data());
            ASSERT_EQ(std::memcmp(dot.data(), dots[i].data(), n * 4), 0)
                << "dot, batched " << batched << " query " << i;
            ASSERT_EQ(std::memcmp(sum.data(), sums[i].data(), dim * 4), 0)
                << "sum, batched " << batched << " query " << i;
          }
        }
      }
    }
  }
}

// The AVX-512 softmax gives the AVX2 one's bits (llama.cpp's order), for
// lengths around the 16-lane groups, ties at the max, saturating exps and
// signed zeros.
TEST(VecOpsTest, Avx512SoftmaxEqualsAvx2BitForBit) {
  if (!tensor::IsaSupported(tensor::Isa::kAvx512)) GTEST_SKIP() << "no AVX-512";
  const VecOps& avx2 = GetVecOps(tensor::Isa::kAvx2);
  const VecOps& avx512 = GetVecOps(tensor::Isa::kAvx512);
  ASSERT_NE(avx2.softmax, avx512.softmax);
  for (int n : {1, 2, 15, 16, 17, 31, 33, 64, 257, 1000}) {
    for (int pattern = 0; pattern < 3; ++pattern) {
      std::vector<float> a(n);
      for (int i = 0; i < n; ++i) {
        a[i] = pattern == 0   ? 30 * std::sin(0.7f * i) - 0.1f * i
               : pattern == 1 ? (i % 3 == 0 ? 0.0f : -0.0f) +
                                    (i % 5 == 0 ? 90.0f : -120.0f)
                              : static_cast<float>(i % 7) * 1e-3f;
      }
      std::vector<float> b = a;
      avx2.softmax(a.data(), n);
      avx512.softmax(b.data(), n);
      ASSERT_EQ(std::memcmp(a.data(), b.data(), n * sizeof(float)), 0)
          << "n " << n << " pattern " << pattern;
    }
  }
}

// The vector GELU gives GeluMul's bits for every input class:
// both cut-offs, values on both sides of them, halves' ties, tiny, huge.
TEST(VecOpsTest, GeluMulEqualsGeluMul) {
  const VecOps& ops = GetVecOps(tensor::BestIsa());
  if (ops.gelu_mul == nullptr) GTEST_SKIP() << "no vector GELU here";
  std::vector<float> gate;
  for (float v :
       {-10.0f, -10.0001f, -9.9999f, 10.0f, 9.9999f, 10.0001f, 0.0f, -0.0f,
        1e-30f, -1e-30f, 3e38f, -3e38f, 1.0009765625f, -1.999f}) {
    gate.push_back(v);
  }
  for (int i = 0; i < 4000; ++i) gate.push_back(std::sin(0.7f * i) * 12.0f);
  std::vector<float> up(gate.size());
  for (size_t i = 0; i < up.size(); ++i) up[i] = std::cos(0.3f * i) + 0.5f;
  std::vector<float> want = gate, got = gate;
  GeluMul(want.data(), up.data(), static_cast<int>(want.size()));
  ops.gelu_mul(GeluTable(), got.data(), up.data(),
               static_cast<int>(got.size()));
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(std::memcmp(&got[i], &want[i], 4), 0)
        << "gate " << gate[i] << ": " << got[i] << " vs " << want[i];
  }
}

// llama.cpp's AVX2 orders, written out with scalar operations, which
// Avx2OrderVecOps must give bit for bit (GetVecOps picks it on CPUs
// without AVX-512, where llama.cpp runs these orders).
float ReducePairs8(const float (&x)[8]) {  // halves, then two hadds
  float t[4];
  for (int k = 0; k < 4; ++k) t[k] = x[k] + x[k + 4];
  return (t[0] + t[1]) + (t[2] + t[3]);
}
float ReduceHalves8(const float (&x)[8]) {  // halves, movehl, movehdup
  float t[4];
  for (int k = 0; k < 4; ++k) t[k] = x[k] + x[k + 4];
  return (t[0] + t[2]) + (t[1] + t[3]);
}

// ggml_vec_dot_f16: 4 accumulators of 8 lanes over steps of 32, folded
// (0 + 2) + (1 + 3), reduced in pairs; the rest added in double.
float VecDotF16Order(const uint16_t* x, const float* y, int n) {
  float acc[4][8] = {};
  const int np = n & ~31;
  for (int i = 0; i < np; i += 32) {
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 8; ++l) {
        const int at = i + 8 * j + l;
        acc[j][l] = std::fma(tensor::Fp16ToFp32(x[at]), y[at], acc[j][l]);
      }
    }
  }
  float f[8];
  for (int l = 0; l < 8; ++l) {
    f[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
  }
  double sum = ReducePairs8(f);
  for (int i = np; i < n; ++i) {
    sum += static_cast<double>(tensor::Fp16ToFp32(x[i]) * y[i]);
  }
  return static_cast<float>(sum);
}

// The tiled matmul: one 8-lane accumulator, reduced in halves.
float TiledF16Order(const uint16_t* x, const float* y, int n) {
  float acc[8] = {};
  for (int i = 0; i < n; i += 8) {
    for (int l = 0; l < 8; ++l) {
      acc[l] = std::fma(tensor::Fp16ToFp32(x[i + l]), y[i + l], acc[l]);
    }
  }
  return ReduceHalves8(acc);
}

TEST(VecOpsTest, Avx2OrderKernelsFollowLlamaCppsAvx2Orders) {
  if (!tensor::IsaSupported(tensor::Isa::kAvx2)) {
    GTEST_SKIP() << "this CPU has no AVX2";
  }
  const VecOps& ops = Avx2OrderVecOps();
  // dim 80 leaves a remainder after the steps of 32; 300 positions leave
  // a partial group of 8 and of 32.
  constexpr int kDim = 80, kPos = 300, kPad = 3;
  const Rows rows = MakeRows(kPos, kDim, kPad);
  const size_t stride = static_cast<size_t>(kDim + kPad) * 2;
  auto row = [&](int r) {
    return reinterpret_cast<const uint16_t*>(rows.f16.data() + r * stride);
  };
  std::vector<float> q(kDim), w(kPos);
  for (int i = 0; i < kDim; ++i) {
    q[i] = tensor::Fp16ToFp32(tensor::Fp32ToFp16(std::cos(0.11f * i)));
  }
  for (int r = 0; r < kPos; ++r) {
    w[r] = tensor::Fp16ToFp32(tensor::Fp32ToFp16(std::exp(-0.01f * r) / 40));
  }
  std::vector<float> got(kPos), got_tiled(kPos);
  ops.dot_rows_f16(q.data(), rows.f16.data(), stride, kPos, kDim, 0.125f,
                   got.data());
  ops.dot_rows_f16_batched(q.data(), rows.f16.data(), stride, kPos, kDim,
                           0.125f, got_tiled.data());
  for (int r = 0; r < kPos; ++r) {
    EXPECT_EQ(got[r], VecDotF16Order(row(r), q.data(), kDim) * 0.125f) << r;
    EXPECT_EQ(got_tiled[r], TiledF16Order(row(r), q.data(), kDim) * 0.125f)
        << r;
  }
  // The V sums: for each dim, the same dots over positions (the cache's
  // padding past kPos weighs 0, so every position sits in its lane).
  std::vector<float> out(kDim), out_tiled(kDim);
  ops.weighted_sum_f16(w.data(), rows.f16.data(), stride, kPos, kDim,
                       out.data());
  ops.weighted_sum_f16_batched(w.data(), rows.f16.data(), stride, kPos, kDim,
                               out_tiled.data());
  const int padded = (kPos + 31) / 32 * 32;
  for (int d = 0; d < kDim; ++d) {
    std::vector<uint16_t> column(padded, 0);
    std::vector<float> weights(padded, 0.0f);
    for (int r = 0; r < kPos; ++r) {
      column[r] = row(r)[d];
      weights[r] = w[r];
    }
    EXPECT_EQ(out[d], VecDotF16Order(column.data(), weights.data(), padded))
        << d;
    EXPECT_EQ(out_tiled[d],
              TiledF16Order(column.data(), weights.data(), padded))
        << d;
  }
}

}  // namespace
}  // namespace ggufd::model
