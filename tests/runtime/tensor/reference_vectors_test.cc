// Checks every tensor type's kernels against the numbers ggml itself computed
// (testdata/kernels/<type>.gguf): dequantization, activation quantization and
// the dot product of each weight row with the activations, at every
// instruction-set level this CPU supports.
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/type_traits.h"
#include "tests/runtime/tensor/kernel_vectors.h"

namespace ggufd::tensor {
namespace {

using testing::KernelVectors;
using testing::LoadKernelVectors;

// Distance in units in the last place between two finite floats.
int64_t UlpDistance(float a, float b) {
  auto key = [](float f) {
    const int32_t i = std::bit_cast<int32_t>(f);
    return i < 0 ? static_cast<int64_t>(INT32_MIN) - i : i;
  };
  return std::llabs(key(a) - key(b));
}

// Sum of |w_ij * x_j| over a row: the scale a dot product's rounding error
// is relative to.
double RowMagnitude(const KernelVectors& v, int64_t r) {
  double sum = 0;
  for (int64_t j = 0; j < v.weight.cols; ++j) {
    sum += std::fabs(
        static_cast<double>(v.weight_dequant[r * v.weight.cols + j]) * v.x[j]);
  }
  return sum;
}

class ReferenceVectorsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto loaded = LoadKernelVectors(GetParam());
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    v_ = std::move(*loaded);
    ASSERT_TRUE(HasKernels(v_.weight.type)) << GetParam();
  }
  KernelVectors v_;
};

TEST_P(ReferenceVectorsTest, DequantizeMatchesGgmlWithinOneUlp) {
  const TypeTraits& traits = Traits(v_.weight.type);
  EXPECT_EQ(traits.layout.name, GetParam());
  std::vector<float> row(v_.weight.cols);
  int64_t max_ulp = 0;
  double max_abs = 0;
  for (int64_t r = 0; r < v_.weight.rows; ++r) {
    traits.dequantize_row(v_.weight.data + r * v_.weight.row_bytes, row.data(),
                          v_.weight.cols);
    for (int64_t j = 0; j < v_.weight.cols; ++j) {
      const float want = v_.weight_dequant[r * v_.weight.cols + j];
      const int64_t ulp = UlpDistance(row[j], want);
      max_ulp = std::max(max_ulp, ulp);
      max_abs =
          std::max(max_abs, std::fabs(static_cast<double>(row[j]) - want));
      ASSERT_LE(ulp, 1) << "row " << r << " col " << j << ": " << row[j]
                        << " vs " << want;
    }
  }
  std::printf("[dequant] %-7s max_ulp=%lld max_abs=%.3g\n", GetParam().c_str(),
              static_cast<long long>(max_ulp), max_abs);
}

TEST_P(ReferenceVectorsTest, ActivationQuantizationMatchesGgmlBytes) {
  const TypeTraits& traits = Traits(v_.weight.type);
  if (traits.vec_dot_type == TensorType::kF32) {
    EXPECT_EQ(v_.x_quant, nullptr);
    GTEST_SKIP() << "f32 activations are used as they are";
  }
  ASSERT_NE(v_.x_quant, nullptr);
  ASSERT_EQ(v_.x_quant->type, traits.vec_dot_type);
  const TypeTraits& act = Traits(traits.vec_dot_type);
  ASSERT_NE(act.from_float, nullptr);
  std::vector<uint8_t> mine(v_.x_quant->n_bytes);
  act.from_float(v_.x.data(), mine.data(), static_cast<int64_t>(v_.x.size()));
  ASSERT_EQ(mine.size(),
            static_cast<size_t>(v_.weight.cols / act.layout.block_size) *
                act.layout.type_size);
  int differing = 0;
  for (size_t i = 0; i < mine.size(); ++i) {
    differing += mine[i] != v_.x_quant->data[i];
  }
  EXPECT_EQ(differing, 0) << act.layout.name << ": " << differing << " of "
                          << mine.size() << " bytes differ";
}

TEST_P(ReferenceVectorsTest, DotMatchesGgmlKernelAtEveryIsa) {
  const TypeTraits& traits = Traits(v_.weight.type);
  // The activations exactly as ggml quantized them, so this test does not
  // depend on our quantizer.
  const uint8_t* a = v_.x_quant != nullptr
                         ? v_.x_quant->data
                         : reinterpret_cast<const uint8_t*>(v_.x.data());
  for (int level = 0; level < kIsaCount; ++level) {
    const Isa isa = static_cast<Isa>(level);
    if (!IsaSupported(isa)) continue;
    const VecDotFn dot = ResolveVecDot(v_.weight.type, isa);
    const VecDotFn oracle = traits.isa[0].vec_dot;
    double max_rel = 0, max_abs = 0, max_rel_oracle = 0;
    for (int64_t r = 0; r < v_.weight.rows; ++r) {
      const uint8_t* w = v_.weight.data + r * v_.weight.row_bytes;
      const float got = dot(v_.weight.cols, w, a);
      const float ref = oracle(v_.weight.cols, w, a);
      const double mag = RowMagnitude(v_, r);
      const double err = std::fabs(static_cast<double>(got) - v_.y_kernel[r]);
      max_abs = std::max(max_abs, err);
      max_rel = std::max(max_rel, err / mag);
      max_rel_oracle = std::max(
          max_rel_oracle, std::fabs(static_cast<double>(got) - ref) / mag);
      EXPECT_LE(err, 1e-5 * mag) << IsaName(isa) << " row " << r << ": " << got
                                 << " vs ggml " << v_.y_kernel[r];
      EXPECT_LE(std::fabs(static_cast<double>(got) - ref), 1e-5 * mag)
          << IsaName(isa) << " row " << r << ": " << got << " vs scalar "
          << ref;
    }
    std::printf(
        "[dot] %-7s %-10s vs y_kernel: max_abs=%.3g max_rel=%.3g; vs scalar "
        "max_rel=%.3g\n",
        GetParam().c_str(), std::string(IsaName(isa)).c_str(), max_abs, max_rel,
        max_rel_oracle);
  }
}

// The repacked orders (type_traits.h, RepackedOrder) give the same bits at
// every level as their scalar form, and stay within rounding noise of the
// numbers ggml's vec_dot computed.
TEST_P(ReferenceVectorsTest, RepackedOrdersMatchScalarAndGgmlAtEveryIsa) {
  const TypeTraits& traits = Traits(v_.weight.type);
  if (traits.isa[0].repacked.dot_gemv == nullptr) {
    GTEST_SKIP() << "ggml does not repack " << GetParam();
  }
  ASSERT_NE(v_.x_quant, nullptr);
  const uint8_t* a = v_.x_quant->data;
  const RepackedOrder& oracle = traits.isa[0].repacked;
  for (int level = 0; level < kIsaCount; ++level) {
    const Isa isa = static_cast<Isa>(level);
    if (!IsaSupported(isa)) continue;
    const RepackedOrder* order =
        ResolveRepackedOrder(v_.weight.type, v_.weight.rows, isa);
    ASSERT_NE(order, nullptr) << IsaName(isa);
    double max_rel = 0;
    for (int64_t r = 0; r < v_.weight.rows; ++r) {
      const uint8_t* w = v_.weight.data + r * v_.weight.row_bytes;
      const double mag = RowMagnitude(v_, r);
      for (auto [dot, want] : {std::pair{order->dot_gemv, oracle.dot_gemv},
                               std::pair{order->dot_gemm, oracle.dot_gemm}}) {
        const float got = dot(v_.weight.cols, w, a);
        ASSERT_EQ(got, want(v_.weight.cols, w, a))
            << IsaName(isa) << " row " << r;
        const double err = std::fabs(static_cast<double>(got) - v_.y_kernel[r]);
        max_rel = std::max(max_rel, err / mag);
        EXPECT_LE(err, 1e-5 * mag) << IsaName(isa) << " row " << r;
      }
    }
    std::printf("[repacked] %-7s %-10s vs y_kernel: max_rel=%.3g\n",
                GetParam().c_str(), std::string(IsaName(isa)).c_str(), max_rel);
  }
  // A weight whose row count is not a multiple of 8 keeps vec_dot's order.
  EXPECT_EQ(ResolveRepackedOrder(v_.weight.type, v_.weight.rows + 1, BestIsa()),
            nullptr);
}

// The outputs llama.cpp computes for kernels/q4_K.gguf once it has
// repacked the weight (16 rows: a multiple of 8), as float bits: ggml_mul_mat
// on a CPU_REPACK buffer in node-llama-cpp 3.21.1's libggml-cpu-zen4.so,
// with x as 1 token (its gemv) and as 4 equal tokens (its gemm). They differ
// from each other and from y_kernel (its vec_dot) in the last bits.
constexpr uint32_t kQ4KGgmlGemvBits[16] = {
    0x3fcd740a, 0x3e6789d0, 0xbe830050, 0xbf97391f, 0x4129fe11, 0x40068252,
    0x4035c69c, 0x3f9040c8, 0x40aefbc6, 0xc0ae28ae, 0x3ee52fd5, 0x3f59d0dc,
    0x405af8a7, 0xc0604f42, 0x4018ff24, 0xbf2ee095};
constexpr uint32_t kQ4KGgmlGemmBits[16] = {
    0x3fcd740a, 0x3e6789d8, 0xbe830068, 0xbf97391c, 0x4129fe16, 0x40068251,
    0x4035c69e, 0x3f9040d0, 0x40aefbc5, 0xc0ae28ae, 0x3ee52fd4, 0x3f59d0d9,
    0x405af8a9, 0xc0604f43, 0x4018ff20, 0xbf2ee091};

TEST(RepackedOrderTest, Q4KReproducesGgmlRepackedBitsAtEveryIsa) {
  auto loaded = LoadKernelVectors("q4_K");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const KernelVectors& v = *loaded;
  ASSERT_EQ(v.weight.rows, 16);
  const TypeTraits& act = Traits(TensorType::kQ8_K);
  std::vector<uint8_t> single(v.x_quant->n_bytes), grouped(v.x_quant->n_bytes);
  act.from_float(v.x.data(), single.data(), v.weight.cols);
  act.from_float_grouped(v.x.data(), grouped.data(), v.weight.cols);
  for (int level = 0; level < kIsaCount; ++level) {
    const Isa isa = static_cast<Isa>(level);
    if (!IsaSupported(isa)) continue;
    const RepackedOrder* order =
        ResolveRepackedOrder(TensorType::kQ4_K, v.weight.rows, isa);
    ASSERT_NE(order, nullptr);
    for (int64_t r = 0; r < v.weight.rows; ++r) {
      const uint8_t* w = v.weight.data + r * v.weight.row_bytes;
      EXPECT_EQ(std::bit_cast<uint32_t>(
                    order->dot_gemv(v.weight.cols, w, single.data())),
                kQ4KGgmlGemvBits[r])
          << IsaName(isa) << " gemv row " << r;
      EXPECT_EQ(std::bit_cast<uint32_t>(
                    order->dot_gemm(v.weight.cols, w, grouped.data())),
                kQ4KGgmlGemmBits[r])
          << IsaName(isa) << " gemm row " << r;
    }
  }
}

// The float reference (weight_dequant @ x in double) bounds the
// quantization error of the whole pipeline: a sanity check on the file and
// on our reading of it.
TEST_P(ReferenceVectorsTest, DequantizedProductMatchesYDequant) {
  for (int64_t r = 0; r < v_.weight.rows; ++r) {
    double sum = 0;
    for (int64_t j = 0; j < v_.weight.cols; ++j) {
      sum += static_cast<double>(v_.weight_dequant[r * v_.weight.cols + j]) *
             v_.x[j];
    }
    EXPECT_NEAR(sum, v_.y_dequant[r], 1e-6 * RowMagnitude(v_, r)) << r;
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, ReferenceVectorsTest,
                         ::testing::ValuesIn(testing::KernelVectorTypes()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// The layout table marks a type supported exactly when it has kernels, and
// every kernel entry carries that table's layout.
TEST(TypeTraitsTest, KernelsCoverTheSupportedTypes) {
  for (uint32_t id = 0; id < kTensorTypeIdLimit; ++id) {
    const TypeTraits& traits = Traits(id);
    const auto info = LookupTensorType(id);
    const bool supported = info.has_value() && info->supported;
    EXPECT_EQ(traits.dequantize_row != nullptr, supported) << id;
    if (!supported) {
      EXPECT_TRUE(traits.layout.name.empty()) << id;
      continue;
    }
    EXPECT_EQ(traits.layout.name, info->name) << id;
    EXPECT_EQ(traits.layout.block_size, info->block_size) << id;
    EXPECT_EQ(traits.layout.type_size, info->type_size) << id;
    if (traits.isa[0].vec_dot != nullptr) {
      const TypeTraits& act = Traits(traits.vec_dot_type);
      EXPECT_NE(act.from_float, nullptr) << id;
      EXPECT_EQ(traits.layout.block_size % act.layout.block_size, 0) << id;
    }
  }
  EXPECT_TRUE(Traits(kTensorTypeIdLimit).layout.name.empty());
  EXPECT_FALSE(HasKernels(TensorType::kIQ2_XXS));
}

}  // namespace
}  // namespace ggufd::tensor
