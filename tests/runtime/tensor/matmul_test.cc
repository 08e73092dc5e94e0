// MatMul against the per-output dot kernels and a float reference, at every
// instruction-set level this CPU supports, with several thread counts.
#include "runtime/tensor/matmul.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/tensor/decode_panels.h"
#include "runtime/tensor/type_traits.h"
#include "tests/runtime/tensor/kernel_vectors.h"

namespace ggufd::tensor {
namespace {

using testing::KernelVectors;
using testing::LoadKernelVectors;

// A weight of `rows` rows built by cycling the 16 reference rows (an odd row
// count exercises partial tiles and uneven thread chunks).
struct BigWeight {
  std::vector<uint8_t> bytes;
  WeightView view;
  AlignedBytes panels;  // decode panels where the type has them
};

// Packs the weight's decode panels (after its bytes are final), so products
// of few tokens take them: they must give the file layout's bits.
void AttachPanels(BigWeight& big) { big.panels = AttachDecodePanels(big.view); }
BigWeight Cycle(const WeightView& w, int64_t rows) {
  BigWeight big;
  big.bytes.resize(static_cast<size_t>(rows) * w.row_bytes);
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(big.bytes.data() + r * w.row_bytes,
                w.data + (r % w.rows) * w.row_bytes, w.row_bytes);
  }
  big.view = w;
  big.view.data = big.bytes.data();
  big.view.rows = rows;
  AttachPanels(big);
  return big;
}

std::vector<float> RandomActivations(int64_t n_tokens, int64_t cols,
                                     uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n_tokens * cols));
  for (float& v : x) v = normal(rng);
  // One large outlier per token, like real residual streams.
  for (int64_t t = 0; t < n_tokens; ++t) x[t * cols + (t * 37) % cols] = 20.0f;
  return x;
}

class MatMulTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto loaded = LoadKernelVectors(GetParam());
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    v_ = std::move(*loaded);
  }
  KernelVectors v_;
};

// The activation rows of an n_tokens-token product as MatMul converts them
// for w at `isa` (a_stride bytes apart).
std::vector<uint8_t> ConvertLikeMatMul(const WeightView& w,
                                       const std::vector<float>& x,
                                       int64_t n_tokens, Isa isa,
                                       size_t a_stride) {
  std::vector<uint8_t> a(a_stride * n_tokens);
  for (int64_t t = 0; t < n_tokens; ++t) {
    MatMulOutputKernel(w, n_tokens, t, isa)
        .from_float(x.data() + t * w.cols, a.data() + t * a_stride, w.cols);
  }
  return a;
}

// Runs MatMul on `w` at every supported ISA and calls
// check(isa, t, r, got, want) for each output, `want` being the dot kernel
// MatMul names for that output applied to its row and converted token; stops
// at the first fatal failure.
template <typename Check>
void ForEachOutputAtEveryIsa(const WeightView& w, const std::vector<float>& x,
                             int64_t n_tokens, ActivationBuffer& scratch,
                             ThreadPool& pool, Check check) {
  const TypeTraits& act = Traits(Traits(w.type).vec_dot_type);
  const size_t a_stride = static_cast<size_t>(w.cols / act.layout.block_size) *
                          act.layout.type_size;
  for (int level = 0; level < kIsaCount; ++level) {
    const Isa isa = static_cast<Isa>(level);
    if (!IsaSupported(isa)) continue;
    const std::vector<uint8_t> a =
        ConvertLikeMatMul(w, x, n_tokens, isa, a_stride);
    std::vector<float> y(static_cast<size_t>(n_tokens * w.rows), NAN);
    MatMul(w, x.data(), n_tokens, y.data(), scratch, pool, isa);
    for (int64_t t = 0; t < n_tokens; ++t) {
      const VecDotFn dot = MatMulOutputKernel(w, n_tokens, t, isa).dot;
      for (int64_t r = 0; r < w.rows; ++r) {
        check(isa, t, r, y[t * w.rows + r],
              dot(w.cols, w.data + r * w.row_bytes, a.data() + t * a_stride));
        // An ASSERT inside `check` only leaves the lambda.
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
}

// Every output equals the dot kernel MatMul names for it, applied to that
// row and token, exactly (tiling must not change results), and is close to
// the float product. A row count that is a multiple of 8 takes ggml's
// repacked orders for the types that have them. 37 tokens pass through
// kernels that take tokens in groups (16 at AVX2) more than once, with a
// remainder.
TEST_P(MatMulTest, EqualsDotKernelPerOutputAtEveryIsa) {
  for (int64_t rows : {37, 40}) {
    const BigWeight w = Cycle(v_.weight, rows);
    ThreadPool pool(2);
    ActivationBuffer scratch;
    scratch.Reserve(37, w.view.cols);
    for (int64_t n_tokens : {1, 2, 5, 9, 37}) {
      const std::vector<float> x = RandomActivations(n_tokens, w.view.cols, 7);
      ForEachOutputAtEveryIsa(
          w.view, x, n_tokens, scratch, pool,
          [&](Isa isa, int64_t t, int64_t r, float got, float want) {
            ASSERT_EQ(got, want) << IsaName(isa) << " rows " << rows
                                 << " token " << t << " row " << r;
            // Against the dequantized weight in double: only the activation
            // quantization error remains (well under 2% of the row
            // magnitude).
            double exact = 0, mag = 0;
            for (int64_t j = 0; j < w.view.cols; ++j) {
              const double p =
                  static_cast<double>(
                      v_.weight_dequant[(r % 16) * w.view.cols + j]) *
                  x[t * w.view.cols + j];
              exact += p;
              mag += std::fabs(p);
            }
            ASSERT_NEAR(want, exact, 0.02 * mag) << IsaName(isa) << " " << r;
          });
    }
  }
}

// Rows of 2.5 reference rows (2560 values): long enough for the panel
// kernels to work in several chunks, the last one partial.
BigWeight Widen(const WeightView& w, int64_t rows) {
  const size_t half = w.row_bytes / 2;  // 512 values: whole blocks
  const size_t row_bytes = 2 * w.row_bytes + half;
  BigWeight big;
  big.bytes.resize(static_cast<size_t>(rows) * row_bytes);
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* out = big.bytes.data() + r * row_bytes;
    std::memcpy(out, w.data + (r % w.rows) * w.row_bytes, w.row_bytes);
    std::memcpy(out + w.row_bytes, w.data + ((r + 5) % w.rows) * w.row_bytes,
                w.row_bytes);
    std::memcpy(out + 2 * w.row_bytes,
                w.data + ((r + 11) % w.rows) * w.row_bytes, half);
  }
  big.view = w;
  big.view.data = big.bytes.data();
  big.view.rows = rows;
  big.view.cols = w.cols * 5 / 2;
  big.view.row_bytes = row_bytes;
  AttachPanels(big);
  return big;
}

// Long rows: every output still equals the dot kernel's, for token counts
// on both sides of the kernels' one-or-two-token path.
TEST_P(MatMulTest, LongRowsEqualDotKernelPerOutputAtEveryIsa) {
  for (int64_t rows : {21, 24}) {
    const BigWeight w = Widen(v_.weight, rows);
    ThreadPool pool(2);
    ActivationBuffer scratch;
    scratch.Reserve(6, w.view.cols);
    for (int64_t n_tokens : {1, 2, 3, 6}) {
      const std::vector<float> x = RandomActivations(n_tokens, w.view.cols, 3);
      ForEachOutputAtEveryIsa(
          w.view, x, n_tokens, scratch, pool,
          [&](Isa isa, int64_t t, int64_t r, float got, float want) {
            ASSERT_EQ(got, want)
                << IsaName(isa) << " rows " << rows << " tokens " << n_tokens
                << " token " << t << " row " << r;
          });
    }
  }
}

// The thread count never changes a single bit of the result.
TEST_P(MatMulTest, ResultsDoNotDependOnThreadCount) {
  const BigWeight w = Cycle(v_.weight, 101);
  const int64_t n_tokens = 7;
  const std::vector<float> x = RandomActivations(n_tokens, w.view.cols, 11);
  ActivationBuffer scratch;
  scratch.Reserve(n_tokens, w.view.cols);
  for (int level = 0; level < kIsaCount; ++level) {
    const Isa isa = static_cast<Isa>(level);
    if (!IsaSupported(isa)) continue;
    std::vector<std::vector<float>> results;
    for (int n_threads : {1, 2, 3, 5}) {
      ThreadPool pool(n_threads);
      for (int64_t tokens : {int64_t{1}, n_tokens}) {
        std::vector<float> y(static_cast<size_t>(tokens * w.view.rows));
        MatMul(w.view, x.data(), tokens, y.data(), scratch, pool, isa);
        results.push_back(y);
      }
    }
    for (size_t i = 2; i < results.size(); ++i) {
      ASSERT_EQ(std::memcmp(results[i].data(), results[i % 2].data(),
                            results[i].size() * sizeof(float)),
                0)
          << IsaName(isa) << " run " << i;
    }
    // Decoding one token gives the same numbers as that token in a batch.
    ASSERT_EQ(std::memcmp(results[0].data(), results[1].data(),
                          w.view.rows * sizeof(float)),
              0)
        << IsaName(isa);
  }
}

// A model's weights carry kernels resolved at load (ResolveKernels); they
// must compute exactly what resolving on the spot computes, and a view whose
// panels changed since must not use them.
TEST_P(MatMulTest, KernelsResolvedAtLoadGiveTheSameBits) {
  for (int64_t rows : {37, 40}) {
    const BigWeight w = Cycle(v_.weight, rows);
    ThreadPool pool(2);
    ActivationBuffer scratch;
    scratch.Reserve(9, w.view.cols);
    for (int level = 0; level < kIsaCount; ++level) {
      const Isa isa = static_cast<Isa>(level);
      if (!IsaSupported(isa)) continue;
      WeightView resolved = w.view;
      ResolveKernels(resolved, isa);
      ASSERT_TRUE(resolved.kernels.has_value());
      // Resolved with panels that are then gone: following the stale plan
      // would read through a null pointer.
      WeightView stale = w.view;
      ResolveKernels(stale, isa);
      stale.panels = nullptr;
      for (int64_t n_tokens : {1, 2, 5, 9}) {
        const std::vector<float> x =
            RandomActivations(n_tokens, w.view.cols, 5);
        const size_t n = static_cast<size_t>(n_tokens * rows);
        std::vector<float> want(n), got(n), got_stale(n);
        MatMul(w.view, x.data(), n_tokens, want.data(), scratch, pool, isa);
        MatMul(resolved, x.data(), n_tokens, got.data(), scratch, pool, isa);
        MatMul(stale, x.data(), n_tokens, got_stale.data(), scratch, pool, isa);
        ASSERT_EQ(std::memcmp(got.data(), want.data(), n * sizeof(float)), 0)
            << IsaName(isa) << " rows " << rows << " tokens " << n_tokens;
        ASSERT_EQ(std::memcmp(got_stale.data(), want.data(), n * sizeof(float)),
                  0)
            << IsaName(isa) << " rows " << rows << " tokens " << n_tokens;
      }
    }
  }
}

// The products above only test decode panels where weights carry them.
TEST_P(MatMulTest, PacksDecodePanelsWhereAKernelExists) {
  for (int64_t rows : {37, 40}) {
    const BigWeight w = Cycle(v_.weight, rows);
    const bool has_layout = HasDecodePanelLayout(w.view.type);
    const RepackedOrder* repacked =
        ResolveRepackedOrder(w.view.type, rows, BestIsa());
    const MatDecodeFn decode = repacked != nullptr
                                   ? repacked->decode
                                   : ResolveMatDecode(w.view.type, BestIsa());
    EXPECT_EQ(w.panels != nullptr, has_layout && decode != nullptr) << rows;
    // q4_K has panels only in ggml's repacked order (rows % 8 == 0).
    if (has_layout && IsaSupported(Isa::kAvx512Vnni) &&
        (w.view.type != TensorType::kQ4_K || rows % 8 == 0)) {
      EXPECT_NE(w.panels, nullptr) << rows;
    }
  }
}

TEST_P(MatMulTest, DequantizeRowMatchesReference) {
  std::vector<float> row(v_.weight.cols);
  for (int64_t r = 0; r < v_.weight.rows; ++r) {
    DequantizeRow(v_.weight, r, row.data());
    for (int64_t j = 0; j < v_.weight.cols; ++j) {
      ASSERT_NEAR(row[j], v_.weight_dequant[r * v_.weight.cols + j],
                  1e-6 * std::fabs(v_.weight_dequant[r * v_.weight.cols + j]))
          << r << " " << j;
    }
  }
}

TEST_P(MatMulTest, GrowsAnUndersizedScratchBuffer) {
  ActivationBuffer scratch;  // never reserved
  ThreadPool pool(1);
  const std::vector<float> x = RandomActivations(3, v_.weight.cols, 5);
  std::vector<float> y(3 * v_.weight.rows);
  MatMul(v_.weight, x.data(), 3, y.data(), scratch, pool);
  for (float value : y) EXPECT_TRUE(std::isfinite(value));
}

INSTANTIATE_TEST_SUITE_P(AllTypes, MatMulTest,
                         ::testing::ValuesIn(testing::KernelVectorTypes()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// The SIMD activation conversions give the scalar conversion's bytes,
// including zero blocks, ties after scaling, tiny, huge and non-finite
// magnitudes.
TEST(ActivationConversionTest, EveryIsaGivesTheScalarBytes) {
  constexpr int64_t kCols = 32 * 64;
  std::vector<float> x = RandomActivations(1, kCols, 17);
  for (int j = 0; j < 32; ++j) x[j] = 0.0f;                    // zero block
  for (int j = 32; j < 64; ++j) x[j] = (j - 48) * 0.5f;        // ties
  for (int j = 64; j < 96; ++j) x[j] = 1e-30f * (j - 80);      // tiny
  for (int j = 96; j < 128; ++j) x[j] = 6e4f * ((j % 5) - 2);  // huge
  for (int j = 128; j < 160; ++j) x[j] = (j == 140) ? -3.0f : 0.0f;
  // Non-finite values (a diverged activation) convert alike too.
  for (int j = 160; j < 192; ++j) x[j] = 0.25f * (j - 170);
  x[191] = std::numeric_limits<float>::quiet_NaN();
  for (int j = 192; j < 224; ++j) x[j] = 0.5f * (j - 200);
  x[200] = -std::numeric_limits<float>::infinity();
  for (TensorType type : {TensorType::kQ8_0, TensorType::kQ8_1}) {
    const TypeTraits& traits = Traits(type);
    const size_t bytes = kCols / 32 * traits.layout.type_size;
    std::vector<uint8_t> want(bytes), got(bytes);
    traits.from_float(x.data(), want.data(), kCols);
    for (int level = 0; level < kIsaCount; ++level) {
      const Isa isa = static_cast<Isa>(level);
      if (!IsaSupported(isa)) continue;
      std::fill(got.begin(), got.end(), 0xAB);
      ResolveFromFloat(type, isa)(x.data(), got.data(), kCols);
      EXPECT_EQ(got, want) << traits.layout.name << " at " << IsaName(isa);
    }
  }
}

// The same for q8_K's two conversions (the row one and the 4-row gemm's),
// over blocks that decide which value sets the scale: zeros, +m and -m
// tied in either order, a NaN, an infinity, tiny values.
TEST(ActivationConversionTest, EveryIsaGivesTheScalarQ8KBytes) {
  constexpr int64_t kBlock = 256;
  std::vector<float> x = RandomActivations(1, 8 * kBlock, 23);
  std::fill(x.begin(), x.begin() + kBlock, 0.0f);
  x[kBlock + 10] = -9.0f;  // -m first: the gemm's rows prefer +m
  x[kBlock + 100] = 9.0f;
  x[2 * kBlock + 3] = 9.0f;  // +m first
  x[2 * kBlock + 50] = -9.0f;
  x[3 * kBlock + 255] = std::numeric_limits<float>::quiet_NaN();
  x[3 * kBlock + 7] = std::numeric_limits<float>::quiet_NaN();
  x[4 * kBlock + 77] = -std::numeric_limits<float>::infinity();
  for (int64_t j = 5 * kBlock; j < 6 * kBlock; ++j) x[j] *= 1e-30f;
  x[6 * kBlock + 200] = -9.0f;  // -m alone
  x[7 * kBlock + 16] = -9.0f;   // tied within 8 values
  x[7 * kBlock + 20] = 9.0f;
  const TypeTraits& traits = Traits(TensorType::kQ8_K);
  const size_t bytes = 8 * traits.layout.type_size;
  for (bool grouped : {false, true}) {
    std::vector<uint8_t> want(bytes), got(bytes);
    (grouped ? traits.from_float_grouped : traits.from_float)(
        x.data(), want.data(), 8 * kBlock);
    for (int level = 0; level < kIsaCount; ++level) {
      const Isa isa = static_cast<Isa>(level);
      if (!IsaSupported(isa)) continue;
      std::fill(got.begin(), got.end(), 0xAB);
      (grouped ? ResolveFromFloatGrouped(TensorType::kQ8_K, isa)
               : ResolveFromFloat(TensorType::kQ8_K, isa))(x.data(), got.data(),
                                                           8 * kBlock);
      EXPECT_EQ(got, want) << "grouped " << grouped << " at " << IsaName(isa);
    }
  }
}

TEST(MatMulSupportTest, KnowsWhichTypesItHandles) {
  for (const std::string& name : testing::KernelVectorTypes()) {
    const auto type = ParseTensorType(name);
    ASSERT_TRUE(type.has_value()) << name;
    EXPECT_TRUE(CanMatMul(*type)) << name;
  }
  EXPECT_FALSE(CanMatMul(TensorType::kQ8_1));  // an activation format only
  EXPECT_FALSE(CanMatMul(TensorType::kIQ2_XXS));
  EXPECT_FALSE(CanMatMul(TensorType::kI32));
}

}  // namespace
}  // namespace ggufd::tensor
