// Decode panels (decode_panels.h) against the file layout's kernels: for
// each level with a decode kernel, the panels' products must be the bits
// the same level's tile kernel computes from the file's rows, over shapes
// the reference vectors do not reach (row counts that leave the last panel
// partial, odd block counts that leave the last block pair half empty, the
// widths of real models' matrices).
#include "runtime/tensor/decode_panels.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/matmul.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor {
namespace {

// A q6_K matrix of random blocks: every byte random (all quants 0..63 and
// scales -128..127 occur), the scales d random finite halves. Row 0 is the
// largest sum there is: quants 63 and scales 127 throughout, which with
// SumsAbove2To24's token gives lane sums past 2^24, where converting them
// to float rounds, so a lane summed in another order would show.
std::vector<uint8_t> RandomQ6K(int64_t rows, int64_t cols, uint32_t seed) {
  const int64_t nb = cols / kQKK;
  std::vector<uint8_t> bytes(static_cast<size_t>(rows * nb) *
                             sizeof(BlockQ6_K));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> scale(1e-4f, 4e-3f);
  auto* blocks = reinterpret_cast<BlockQ6_K*>(bytes.data());
  for (int64_t i = 0; i < rows * nb; ++i) {
    BlockQ6_K& blk = blocks[i];
    for (uint8_t& q : blk.ql) q = static_cast<uint8_t>(rng());
    for (uint8_t& q : blk.qh) q = static_cast<uint8_t>(rng());
    for (int8_t& s : blk.scales) s = static_cast<int8_t>(rng());
    blk.d = Fp32ToFp16(rng() % 2 ? scale(rng) : -scale(rng));
  }
  for (int64_t b = 0; b < nb; ++b) {
    BlockQ6_K& blk = blocks[b];
    std::memset(blk.ql, 0xff, sizeof(blk.ql));
    std::memset(blk.qh, 0xff, sizeof(blk.qh));
    std::memset(blk.scales, 127, sizeof(blk.scales));
  }
  return bytes;
}

// Against row 0 of RandomQ6K, lane 0 of each block sums past 2^24: the
// values of its offset groups (0, 1: values 0-31) are -1, those of its
// 4-value groups in the other chunks (values 32c..32c + 3) 1, and the rest
// 0, so every term of its sum adds (about 4.1e7).
void SumsAbove2To24(float* x, int64_t cols) {
  for (int64_t j = 0; j < cols; ++j) {
    const int64_t v = j % kQKK;
    x[j] = v < 32 ? -1.0f : v % 32 < 4 ? 1.0f : 0.0f;
  }
}

// Normal activations with an outlier per token; token 1, where there is
// one, is SumsAbove2To24's.
std::vector<float> Activations(int64_t n_tokens, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n_tokens * cols));
  for (float& v : x) v = normal(rng);
  for (int64_t t = 0; t < n_tokens; ++t) x[t * cols + (t * 37) % cols] = 20.0f;
  if (n_tokens > 1) SumsAbove2To24(x.data() + cols, cols);
  return x;
}

struct Shape {
  int64_t rows;
  int64_t cols;
};

// The panels' products, read by the level's decode kernel panel by panel
// and by MatMul, equal the level's tile kernel on the file layout bit for
// bit, for 1-4 tokens (decoding) and 7 (a prompt: 4 tokens a pass, then 3).
TEST(DecodePanelsTest, Q6KPanelsGiveTheFileLayoutsBits) {
  const Shape shapes[] = {{1, 256},   {17, 256},  {37, 768},
                          {16, 2048}, {70, 2048}, {45, 5632}};
  int levels_checked = 0;
  for (int level = 0; level < kIsaCount; ++level) {
    const Isa isa = static_cast<Isa>(level);
    const MatDecodeFn decode = ResolveMatDecode(TensorType::kQ6_K, isa);
    if (!IsaSupported(isa) || decode == nullptr) continue;
    ++levels_checked;
    const MatTileFn tile = ResolveMatTile(TensorType::kQ6_K, isa);
    const FromFloatFn from_float = ResolveFromFloat(TensorType::kQ8_K, isa);
    ASSERT_NE(tile, nullptr) << IsaName(isa);
    for (const Shape& shape : shapes) {
      const std::vector<uint8_t> bytes =
          RandomQ6K(shape.rows, shape.cols, /*seed=*/shape.rows + shape.cols);
      WeightView w{.type = TensorType::kQ6_K,
                   .data = bytes.data(),
                   .rows = shape.rows,
                   .cols = shape.cols,
                   .row_bytes = static_cast<size_t>(shape.cols / kQKK) *
                                sizeof(BlockQ6_K)};
      const size_t panel_bytes =
          DecodePanelBytes(w.type, shape.rows, shape.cols);
      ASSERT_EQ(panel_bytes, static_cast<size_t>((shape.rows + 15) / 16) *
                                 DecodePanelStride(w.type, shape.cols));
      AlignedBytes panels(static_cast<uint8_t*>(
          std::aligned_alloc(64, (panel_bytes + 63) / 64 * 64)));
      PackDecodePanels(w, panels.get());
      const size_t stride = DecodePanelStride(w.type, shape.cols);
      const size_t a_stride =
          static_cast<size_t>(shape.cols / kQKK) * sizeof(BlockQ8_K);
      for (int64_t n_tokens : {1, 2, 3, 4, 7}) {
        const std::vector<float> x =
            Activations(n_tokens, shape.cols, /*seed=*/n_tokens);
        std::vector<uint8_t> a(a_stride * n_tokens);
        for (int64_t t = 0; t < n_tokens; ++t) {
          from_float(x.data() + t * shape.cols, a.data() + t * a_stride,
                     shape.cols);
        }
        const size_t n_out = static_cast<size_t>(n_tokens * shape.rows);
        std::vector<float> want(n_out, NAN), got(n_out, NAN),
            got_matmul(n_out, NAN);
        for (int64_t r = 0; r < shape.rows; r += kMaxTileRows) {
          for (int64_t t = 0; t < n_tokens; t += kMaxTileCols) {
            tile(
                shape.cols, bytes.data() + r * w.row_bytes, w.row_bytes,
                static_cast<int>(
                    std::min<int64_t>(kMaxTileRows, shape.rows - r)),
                a.data() + t * a_stride, a_stride,
                static_cast<int>(std::min<int64_t>(kMaxTileCols, n_tokens - t)),
                want.data() + t * shape.rows + r, shape.rows);
          }
        }
        for (int64_t r = 0; r < shape.rows; r += kPanelRows) {
          decode(
              shape.cols, panels.get() + r / kPanelRows * stride,
              static_cast<int>(std::min<int64_t>(kPanelRows, shape.rows - r)),
              a.data(), a_stride, static_cast<int>(n_tokens), got.data() + r,
              shape.rows);
        }
        WeightView with_panels = w;
        with_panels.panels = panels.get();
        ThreadPool pool(2);
        ActivationBuffer scratch;
        scratch.Reserve(n_tokens, shape.cols);
        MatMul(with_panels, x.data(), n_tokens, got_matmul.data(), scratch,
               pool, isa);
        for (size_t i = 0; i < n_out; ++i) {
          ASSERT_EQ(std::bit_cast<uint32_t>(got[i]),
                    std::bit_cast<uint32_t>(want[i]))
              << IsaName(isa) << " " << shape.rows << "x" << shape.cols
              << " tokens " << n_tokens << " token " << i / shape.rows
              << " row " << i % shape.rows << ": " << got[i] << " vs "
              << want[i];
          ASSERT_EQ(std::bit_cast<uint32_t>(got_matmul[i]),
                    std::bit_cast<uint32_t>(want[i]))
              << "MatMul at " << IsaName(isa) << " " << shape.rows << "x"
              << shape.cols << " tokens " << n_tokens << " output " << i;
        }
      }
    }
  }
  if (levels_checked == 0) GTEST_SKIP() << "no q6_K decode kernel on this CPU";
}

// Row 0 against SumsAbove2To24's token does reach past 2^24 (checked in
// the scalar order: the test above would otherwise not cover the rounding
// of large lane sums).
TEST(DecodePanelsTest, TheLargeRowSumsPast2To24) {
  const std::vector<uint8_t> bytes = RandomQ6K(1, kQKK, /*seed=*/1);
  std::vector<float> x(kQKK);
  SumsAbove2To24(x.data(), kQKK);
  BlockQ8_K a;
  Traits(TensorType::kQ8_K).from_float(x.data(), &a, kQKK);
  const auto& w = *reinterpret_cast<const BlockQ6_K*>(bytes.data());
  // Lane 0: -32 * (groups 0, 1 offsets) + values 32c..32c + 3 of each chunk.
  int64_t lane0 = -32 * (int64_t{a.bsums[0]} * w.scales[0] +
                         int64_t{a.bsums[1]} * w.scales[1]);
  for (int c = 0; c < 8; ++c) {
    for (int e = 0; e < 4; ++e) lane0 += 63 * 127 * a.qs[32 * c + e];
  }
  EXPECT_GT(std::llabs(lane0), int64_t{1} << 24);
}

}  // namespace
}  // namespace ggufd::tensor
