#include "runtime/tensor/decode_panels.h"

#include <algorithm>
#include <cstring>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/matmul.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor {
namespace {

constexpr size_t kVector = 64;

template <typename Block>
const Block& BlockOf(const WeightView& w, int64_t row, int64_t b) {
  return reinterpret_cast<const Block*>(w.data + static_cast<size_t>(row) *
                                                     w.row_bytes)[b];
}

// Block b of the panel whose first row is r0 (rows past the matrix repeat
// its last row).
void PackBlock(const WeightView& w, int64_t r0, int64_t b, uint8_t* out) {
  auto row = [&](int i) { return std::min<int64_t>(r0 + i, w.rows - 1); };
  switch (w.type) {
    case TensorType::kQ4_0: {
      float* d = reinterpret_cast<float*>(out + 4 * kVector);
      for (int i = 0; i < kPanelRows; ++i) {
        const BlockQ4_0& blk = BlockOf<BlockQ4_0>(w, row(i), b);
        std::memcpy(out + 16 * i, blk.qs, sizeof(blk.qs));
        d[i] = Fp16ToFp32(blk.d);
      }
      break;
    }
    case TensorType::kQ5_0: {
      // The high bits as byte masks: for vector j, 64 bits for values 0-15
      // of its 4 rows, then 64 for values 16-31.
      uint64_t* masks = reinterpret_cast<uint64_t*>(out + 4 * kVector);
      float* d = reinterpret_cast<float*>(out + 5 * kVector);
      for (int i = 0; i < kPanelRows; ++i) {
        const BlockQ5_0& blk = BlockOf<BlockQ5_0>(w, row(i), b);
        std::memcpy(out + 16 * i, blk.qs, sizeof(blk.qs));
        uint32_t qh;
        std::memcpy(&qh, blk.qh, sizeof(qh));
        const int j = i / 4, lane = i % 4;
        masks[2 * j] |= static_cast<uint64_t>(qh & 0xffff) << (16 * lane);
        masks[2 * j + 1] |= static_cast<uint64_t>(qh >> 16) << (16 * lane);
        d[i] = Fp16ToFp32(blk.d);
      }
      break;
    }
    case TensorType::kQ4_1: {
      uint16_t* dm = reinterpret_cast<uint16_t*>(out + 4 * kVector);
      for (int i = 0; i < kPanelRows; ++i) {
        const BlockQ4_1& blk = BlockOf<BlockQ4_1>(w, row(i), b);
        std::memcpy(out + 16 * i, blk.qs, sizeof(blk.qs));
        dm[i] = blk.d;
        dm[kPanelRows + i] = blk.m;
      }
      break;
    }
    case TensorType::kQ8_0: {
      float* d = reinterpret_cast<float*>(out + 8 * kVector);
      for (int i = 0; i < kPanelRows; ++i) {
        const BlockQ8_0& blk = BlockOf<BlockQ8_0>(w, row(i), b);
        for (int j = 0; j < kQK; ++j) {
          out[kQK * i + j] = static_cast<uint8_t>(blk.qs[j] + 128);
        }
        d[i] = Fp16ToFp32(blk.d);
      }
      break;
    }
    case TensorType::kQ4_K: {
      uint16_t* d = reinterpret_cast<uint16_t*>(out + 32 * kVector);
      uint16_t* dmin = d + kPanelRows;
      uint8_t* scales = out + 33 * kVector;
      uint8_t* mins = out + 35 * kVector;
      for (int i = 0; i < kPanelRows; ++i) {
        const BlockQ4_K& blk = BlockOf<BlockQ4_K>(w, row(i), b);
        for (int v = 0; v < 32; ++v) {
          std::memcpy(out + kVector * v + 4 * i, blk.qs + 4 * v, 4);
        }
        d[i] = blk.d;
        dmin[i] = blk.dmin;
        for (int g = 0; g < 8; ++g) {
          uint8_t sc, m;
          UnpackScaleMinK4(g, blk.scales, &sc, &m);
          scales[kPanelRows * g + i] = sc;
          mins[2 * kPanelRows * (g / 2) + 2 * i + g % 2] = m;
        }
      }
      break;
    }
    default:
      break;
  }
}

}  // namespace

size_t DecodePanelBlockBytes(TensorType type) {
  switch (type) {
    case TensorType::kQ4_0:
    case TensorType::kQ4_1:
      return 5 * kVector;
    case TensorType::kQ5_0:
      return 6 * kVector;
    case TensorType::kQ8_0:
      return 9 * kVector;
    case TensorType::kQ4_K:
      return 37 * kVector;
    default:
      return 0;
  }
}

size_t DecodePanelBytes(TensorType type, int64_t rows, int64_t cols) {
  const size_t block = DecodePanelBlockBytes(type);
  if (block == 0 || rows <= 0 || cols % kQK != 0) return 0;
  const size_t panels =
      static_cast<size_t>((rows + kPanelRows - 1) / kPanelRows);
  return panels * static_cast<size_t>(cols / kQK) * block;
}

void PackDecodePanels(const WeightView& w, uint8_t* out) {
  const size_t block = DecodePanelBlockBytes(w.type);
  const int64_t nb = w.cols / TypeInfo(w.type).block_size;
  for (int64_t r0 = 0; r0 < w.rows; r0 += kPanelRows) {
    for (int64_t b = 0; b < nb; ++b, out += block) {
      std::memset(out, 0, block);
      PackBlock(w, r0, b, out);
    }
  }
}

AlignedBytes AttachDecodePanels(WeightView& w) {
  const size_t bytes = DecodePanelBytes(w.type, w.rows, w.cols);
  const Isa isa = BestIsa();
  if (bytes == 0 || DecodeKernel(w, isa) == nullptr) return nullptr;
  AlignedBytes panels(static_cast<uint8_t*>(std::aligned_alloc(64, bytes)));
  if (panels == nullptr) return nullptr;  // the file layout still works
  PackDecodePanels(w, panels.get());
  w.panels = panels.get();
  return panels;
}

}  // namespace ggufd::tensor
