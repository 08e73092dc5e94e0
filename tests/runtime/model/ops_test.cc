// The element-wise operations of the forward pass against values llama.cpp's
// CPU backend computes.
#include "runtime/model/ops.h"

#include <cstdint>

#include "gtest/gtest.h"
#include "runtime/tensor/fp16.h"

namespace ggufd::model {
namespace {

// Entries of ggml's GELU table (ggml_table_gelu_f16 in node-llama-cpp
// 3.21.1's libggml-cpu-zen4.so): fp16 input bits -> fp16 GELU bits. x =
// -1.999 is the one entry that needs ggml's fused 1 + c * x * x.
constexpr uint16_t kGgmlGeluTable[][2] = {
    {0xbfff, 0xa9d3}, {0xc000, 0xa9d0}, {0xbc00, 0xb115}, {0x3c00, 0x3abb},
    {0x4100, 0x40f8}, {0x3800, 0x3588}, {0xb800, 0xb0f0}, {0x48ff, 0x48ff},
};

TEST(OpsTest, GeluTanhMatchesGgmlTable) {
  for (const auto& [in, out] : kGgmlGeluTable) {
    float gate = tensor::Fp16ToFp32(in);
    const float up = 3.0f;
    GeluMul(&gate, &up, 1);
    EXPECT_EQ(gate, tensor::Fp16ToFp32(out) * up) << std::hex << in;
  }
}

TEST(OpsTest, GeluTanhSaturatesLikeGgml) {
  float gate[] = {-10.0f, -25.0f, 10.0f, 30.5f};
  const float up[] = {2.0f, 2.0f, 2.0f, 2.0f};
  GeluMul(gate, up, 4);
  EXPECT_EQ(gate[0], 0.0f);
  EXPECT_EQ(gate[1], 0.0f);
  EXPECT_EQ(gate[2], 20.0f);
  EXPECT_EQ(gate[3], 61.0f);
}

}  // namespace
}  // namespace ggufd::model
