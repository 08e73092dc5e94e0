// q4_1 (and q4_0 vec_dot) products at every SIMD level in the order llama.cpp
// computes them on x86 (its AVX2 vec_dot, which it runs whatever the CPU's
// level): 8 lanes per output, lane g taking values 4g..4g+3 of each block, the
// m * s terms summed apart and added last. The outputs are requantized by the
// next layer, so a last-bit difference here grows into different tokens; this
// test pins the bits, which the reference vectors' tolerance does not.
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/isa.h"
#include "runtime/tensor/matmul.h"
#include "runtime/tensor/thread_pool.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor {
namespace {

// The reference order, written out with scalar operations.
float GgmlOrderDot(int64_t n, const BlockQ4_1* w, const BlockQ8_1* a) {
  float lane[8] = {};
  float ms = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float dd = Fp16ToFp32(w[b].d) * Fp16ToFp32(a[b].d);
    for (int g = 0; g < 8; ++g) {
      int32_t isum = 0;
      for (int j = 4 * g; j < 4 * g + 4; ++j) {
        const int q = j < 16 ? w[b].qs[j] & 0xf : w[b].qs[j - 16] >> 4;
        isum += q * a[b].qs[j];
      }
      lane[g] = std::fma(dd, static_cast<float>(isum), lane[g]);
    }
    ms = std::fma(Fp16ToFp32(w[b].m), Fp16ToFp32(a[b].s), ms);
  }
  return ((lane[0] + lane[4]) + (lane[2] + lane[6])) +
         ((lane[1] + lane[5]) + (lane[3] + lane[7])) + ms;
}

std::vector<BlockQ4_1> RandomWeight(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> scale(1e-3f, 2e-2f);
  std::vector<BlockQ4_1> blocks(static_cast<size_t>(rows * cols / kQK));
  for (BlockQ4_1& blk : blocks) {
    for (uint8_t& q : blk.qs) q = static_cast<uint8_t>(rng());
    blk.d = Fp32ToFp16(scale(rng));
    blk.m = Fp32ToFp16(rng() % 2 ? -8 * scale(rng) : 8 * scale(rng));
  }
  return blocks;
}

// Normal values with an outlier per token, as real activations have: it
// sets its block's scale, so the other values there quantize coarsely.
std::vector<float> Activations(int64_t n_tokens, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n_tokens * cols));
  for (float& v : x) v = normal(rng);
  for (int64_t t = 0; t < n_tokens; ++t) x[t * cols + (t * 53) % cols] = 30.0f;
  return x;
}

TEST(Q4_1OrderTest, EverySimdLevelGivesTheReferenceBits) {
  constexpr int64_t kRows = 37;  // a partial tile and panel at the end
  constexpr int64_t kCols = 1536;
  const std::vector<BlockQ4_1> weight = RandomWeight(kRows, kCols, 7);
  const WeightView view{.type = TensorType::kQ4_1,
                        .data = reinterpret_cast<const uint8_t*>(weight.data()),
                        .rows = kRows,
                        .cols = kCols,
                        .row_bytes = kCols / kQK * sizeof(BlockQ4_1)};
  const FromFloatFn to_q8_1 = Traits(TensorType::kQ8_1).from_float;
  ThreadPool pool(2);
  ActivationBuffer scratch;
  int levels = 0;
  for (int level = static_cast<int>(Isa::kAvx2); level < kIsaCount; ++level) {
    const Isa isa = static_cast<Isa>(level);
    if (!IsaSupported(isa)) continue;
    ++levels;
    for (int64_t n_tokens : {1, 2, 3, 7}) {
      SCOPED_TRACE(testing::Message()
                   << IsaName(isa) << ", " << n_tokens << " tokens");
      const std::vector<float> x = Activations(n_tokens, kCols, 11);
      std::vector<BlockQ8_1> a(static_cast<size_t>(n_tokens * kCols / kQK));
      for (int64_t t = 0; t < n_tokens; ++t) {
        to_q8_1(x.data() + t * kCols, a.data() + t * kCols / kQK, kCols);
      }
      scratch.Reserve(n_tokens, kCols);
      std::vector<float> y(static_cast<size_t>(n_tokens * kRows));
      MatMul(view, x.data(), n_tokens, y.data(), scratch, pool, isa);
      const VecDotFn dot = ResolveVecDot(TensorType::kQ4_1, isa);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const BlockQ8_1* at = a.data() + t * kCols / kQK;
        for (int64_t r = 0; r < kRows; ++r) {
          const BlockQ4_1* wr = weight.data() + r * kCols / kQK;
          const float want = GgmlOrderDot(kCols, wr, at);
          ASSERT_EQ(std::bit_cast<uint32_t>(y[t * kRows + r]),
                    std::bit_cast<uint32_t>(want))
              << "MatMul row " << r << " token " << t << ": "
              << y[t * kRows + r] << " vs " << want;
          ASSERT_EQ(std::bit_cast<uint32_t>(dot(kCols, wr, at)),
                    std::bit_cast<uint32_t>(want))
              << "vec_dot row " << r << " token " << t;
        }
      }
    }
  }
  if (levels == 0) GTEST_SKIP() << "this CPU has no SIMD level";
}

// q4_0's vec_dot order (taken where llama.cpp does not repack: a tied
// output), the q4_1 order without m: lane g sums (q - 8) * a over values
// 4g..4g+3.
float GgmlOrderDotQ4_0(int64_t n, const BlockQ4_0* w, const BlockQ8_0* a) {
  float lane[8] = {};
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float dd = Fp16ToFp32(w[b].d) * Fp16ToFp32(a[b].d);
    for (int g = 0; g < 8; ++g) {
      int32_t isum = 0;
      for (int j = 4 * g; j < 4 * g + 4; ++j) {
        const int q = (j < 16 ? w[b].qs[j] & 0xf : w[b].qs[j - 16] >> 4) - 8;
        isum += q * a[b].qs[j];
      }
      lane[g] = std::fma(dd, static_cast<float>(isum), lane[g]);
    }
  }
  return ((lane[0] + lane[4]) + (lane[2] + lane[6])) +
         ((lane[1] + lane[5]) + (lane[3] + lane[7]));
}

TEST(Q4_1OrderTest, Q4_0VecDotGivesTheReferenceBitsAtEverySimdLevel) {
  constexpr int64_t kRows = 64, kCols = 1536;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> scale(1e-3f, 2e-2f);
  std::vector<BlockQ4_0> w(kRows * kCols / kQK);
  for (BlockQ4_0& blk : w) {
    for (uint8_t& q : blk.qs) q = static_cast<uint8_t>(rng());
    blk.d = Fp32ToFp16(scale(rng));
  }
  const std::vector<float> x = Activations(1, kCols, 3);
  std::vector<BlockQ8_0> a(kCols / kQK);
  Traits(TensorType::kQ8_0).from_float(x.data(), a.data(), kCols);
  int levels = 0;
  for (int level = static_cast<int>(Isa::kAvx2); level < kIsaCount; ++level) {
    const Isa isa = static_cast<Isa>(level);
    if (!IsaSupported(isa)) continue;
    ++levels;
    const VecDotFn dot = ResolveVecDot(TensorType::kQ4_0, isa);
    for (int64_t r = 0; r < kRows; ++r) {
      const BlockQ4_0* wr = w.data() + r * kCols / kQK;
      const float want = GgmlOrderDotQ4_0(kCols, wr, a.data());
      const float got = dot(kCols, wr, a.data());
      ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want))
          << IsaName(isa) << " row " << r << ": " << got << " vs " << want;
    }
  }
  if (levels == 0) GTEST_SKIP() << "this CPU has no SIMD level";
}

}  // namespace
}  // namespace ggufd::tensor
