// The reference quantizers against ggml's own output: for every type in
// testdata/kernels/, quantizing `weight_src` row by row must give the file's
// `weight` byte for byte. Also the refusals of QuantizeRow.
#include "runtime/tensor/quantize.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/tensor/type_traits.h"
#include "tests/runtime/tensor/kernel_vectors.h"

namespace ggufd::tensor {
namespace {

class QuantizeVectorsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(QuantizeVectorsTest, MatchesGgmlReferenceQuantizerByteForByte) {
  auto loaded = testing::LoadKernelVectors(GetParam());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const testing::KernelVectors& v = *loaded;
  ASSERT_TRUE(CanQuantize(v.weight.type)) << GetParam();
  const size_t row_bytes = v.weight.row_bytes;
  ASSERT_EQ(row_bytes, RowBytes(v.weight.type, v.weight.cols));
  const size_t block_bytes = TypeInfo(v.weight.type).type_size;
  std::vector<uint8_t> row(row_bytes);
  int64_t bad_blocks = 0;
  for (int64_t r = 0; r < v.weight.rows; ++r) {
    ASSERT_TRUE(QuantizeRow(v.weight.type, &v.weight_src[r * v.weight.cols],
                            v.weight.cols, row.data())
                    .ok());
    const uint8_t* want = v.weight.data + r * row_bytes;
    for (size_t off = 0; off < row_bytes; off += block_bytes) {
      if (std::memcmp(row.data() + off, want + off, block_bytes) != 0) {
        if (bad_blocks == 0) {
          ADD_FAILURE() << GetParam() << ": first differing block: row " << r
                        << " block " << off / block_bytes;
        }
        ++bad_blocks;
      }
    }
  }
  EXPECT_EQ(bad_blocks, 0) << GetParam() << " blocks differing out of "
                           << v.weight.rows * row_bytes / block_bytes;
}

INSTANTIATE_TEST_SUITE_P(AllTypes, QuantizeVectorsTest,
                         ::testing::ValuesIn(testing::KernelVectorTypes()),
                         [](const auto& info) { return info.param; });

TEST(QuantizeRowTest, RefusesRowsThatAreNotWholeBlocks) {
  std::vector<float> src(48, 1.0f);
  std::vector<uint8_t> dst(1024);
  EXPECT_FALSE(QuantizeRow(TensorType::kQ8_0, src.data(), 48, dst.data()).ok());
  EXPECT_FALSE(QuantizeRow(TensorType::kQ4_K, src.data(), 32, dst.data()).ok());
  EXPECT_FALSE(QuantizeRow(TensorType::kQ4_0, src.data(), 0, dst.data()).ok());
  EXPECT_TRUE(QuantizeRow(TensorType::kQ4_0, src.data(), 32, dst.data()).ok());
}

TEST(QuantizeRowTest, RefusesTypesWithoutAQuantizer) {
  std::vector<float> src(256, 1.0f);
  std::vector<uint8_t> dst(1024);
  EXPECT_FALSE(CanQuantize(TensorType::kIQ2_XXS));
  EXPECT_FALSE(
      QuantizeRow(TensorType::kIQ2_XXS, src.data(), 256, dst.data()).ok());
  EXPECT_FALSE(
      QuantizeRow(TensorType::kQ8_K, src.data(), 256, dst.data()).ok());
}

TEST(QuantizeRowTest, RefusesNonFiniteValues) {
  std::vector<float> src(256, 1.0f);
  std::vector<uint8_t> dst(1024);
  src[100] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(
      QuantizeRow(TensorType::kQ6_K, src.data(), 256, dst.data()).ok());
  src[100] = std::numeric_limits<float>::infinity();
  EXPECT_FALSE(QuantizeRow(TensorType::kF16, src.data(), 256, dst.data()).ok());
}

// Rows of zeros and rows of one repeated value are corner cases of every
// scale search (zero range, zero scale): they must decode back to zeros and
// to (nearly) that value.
TEST(QuantizeRowTest, ZeroAndConstantRowsRoundTrip) {
  for (TensorType type :
       {TensorType::kQ8_0, TensorType::kQ4_0, TensorType::kQ4_1,
        TensorType::kQ5_0, TensorType::kQ5_1, TensorType::kQ2_K,
        TensorType::kQ3_K, TensorType::kQ4_K, TensorType::kQ5_K,
        TensorType::kQ6_K, TensorType::kIQ4_NL, TensorType::kIQ4_XS,
        TensorType::kF16, TensorType::kBF16}) {
    const std::string name = TensorTypeName(static_cast<uint32_t>(type));
    for (float value : {0.0f, 0.5f, -3.0f}) {
      const std::vector<float> src(256, value);
      std::vector<uint8_t> dst(RowBytes(type, 256), 0xAA);
      ASSERT_TRUE(QuantizeRow(type, src.data(), 256, dst.data()).ok()) << name;
      std::vector<float> back(256, 1.0f);
      Traits(type).dequantize_row(dst.data(), back.data(), 256);
      for (int i = 0; i < 256; ++i) {
        ASSERT_NEAR(back[i], value, std::fabs(value) * 0.02f)
            << name << " value " << value << " index " << i;
      }
    }
  }
}

}  // namespace
}  // namespace ggufd::tensor
