#include "runtime/tensor/decode_panels.h"

#include <sys/mman.h>

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

// Bytes of a block's quants in the paired layouts, or 0 for the types
// whose blocks stand alone.
size_t PairedQuantBytes(TensorType type) {
  switch (type) {
    case TensorType::kQ4_0:
      return 4 * kVector;
    case TensorType::kQ8_0:
      return 8 * kVector;
    case TensorType::kQ6_K:
      return 52 * kVector;  // 48 of quants, 4 of group scales
    default:
      return 0;
  }
}

// Bytes of one block of the types whose blocks stand alone.
size_t SingleBlockBytes(TensorType type) {
  switch (type) {
    case TensorType::kQ4_1:
      return 5 * kVector;
    case TensorType::kQ5_0:
      return 6 * kVector;
    case TensorType::kQ4_K:
      return 37 * kVector;
    default:
      return 0;
  }
}

// The 256 quants (0..63; a weight is d * scale * (q - 32)) of a q6_K
// block in value order: in each 128-value half, quarter k takes the low
// (k < 2) or high nibble of ql[l + 32 * (k % 2)] and bits 2k, 2k+1 of
// qh[l].
void UnpackQ6K(const BlockQ6_K& blk, uint8_t* q) {
  for (int half = 0; half < 2; ++half, q += 128) {
    const uint8_t* ql = blk.ql + 64 * half;
    const uint8_t* qh = blk.qh + 32 * half;
    for (int l = 0; l < 32; ++l) {
      q[l] = static_cast<uint8_t>((ql[l] & 0xf) | (qh[l] & 3) << 4);
      q[l + 32] = static_cast<uint8_t>((ql[l + 32] & 0xf) | (qh[l] & 12) << 2);
      q[l + 64] = static_cast<uint8_t>(ql[l] >> 4 | (qh[l] & 48));
      q[l + 96] = static_cast<uint8_t>(ql[l + 32] >> 4 | (qh[l] & 192) >> 2);
    }
  }
}

// Block b of the panel whose first row is r0 (rows past the matrix repeat
// its last row): its quants (and the rest of a single block) at `out`, the
// 16 half scales of a paired type at `d`.
void PackBlock(const WeightView& w, int64_t r0, int64_t b, uint8_t* out,
               uint16_t* d) {
  auto row = [&](int i) { return std::min<int64_t>(r0 + i, w.rows - 1); };
  switch (w.type) {
    case TensorType::kQ4_0: {
      for (int i = 0; i < kPanelRows; ++i) {
        const BlockQ4_0& blk = BlockOf<BlockQ4_0>(w, row(i), b);
        std::memcpy(out + 16 * i, blk.qs, sizeof(blk.qs));
        d[i] = blk.d;
      }
      break;
    }
    case TensorType::kQ5_0: {
      // The high bits as byte masks: for vector j, 64 bits for values 0-15
      // of its 4 rows, then 64 for values 16-31.
      uint64_t* masks = reinterpret_cast<uint64_t*>(out + 4 * kVector);
      float* df = reinterpret_cast<float*>(out + 5 * kVector);
      for (int i = 0; i < kPanelRows; ++i) {
        const BlockQ5_0& blk = BlockOf<BlockQ5_0>(w, row(i), b);
        std::memcpy(out + 16 * i, blk.qs, sizeof(blk.qs));
        uint32_t qh;
        std::memcpy(&qh, blk.qh, sizeof(qh));
        const int j = i / 4, lane = i % 4;
        masks[2 * j] |= static_cast<uint64_t>(qh & 0xffff) << (16 * lane);
        masks[2 * j + 1] |= static_cast<uint64_t>(qh >> 16) << (16 * lane);
        df[i] = Fp16ToFp32(blk.d);
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
      for (int i = 0; i < kPanelRows; ++i) {
        const BlockQ8_0& blk = BlockOf<BlockQ8_0>(w, row(i), b);
        for (int j = 0; j < kQK; ++j) {
          out[kVector * (j / 4) + 4 * i + j % 4] =
              static_cast<uint8_t>(blk.qs[j] + 128);
        }
        d[i] = blk.d;
      }
      break;
    }
    case TensorType::kQ4_K: {
      uint16_t* dk = reinterpret_cast<uint16_t*>(out + 32 * kVector);
      uint16_t* dmin = dk + kPanelRows;
      uint8_t* scales = out + 33 * kVector;
      uint8_t* mins = out + 35 * kVector;
      for (int i = 0; i < kPanelRows; ++i) {
        const BlockQ4_K& blk = BlockOf<BlockQ4_K>(w, row(i), b);
        for (int v = 0; v < 32; ++v) {
          std::memcpy(out + kVector * v + 4 * i, blk.qs + 4 * v, 4);
        }
        dk[i] = blk.d;
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
    case TensorType::kQ6_K: {
      // Unit 8h + c holds, for lanes k = 4h + j (j = 0..3), values
      // 32c + 4k..32c + 4k + 3 of every row, row i in bytes 4i..4i + 3 of
      // each of its 3 vectors: those of j < 3 in the low 6 bits of vector j,
      // those of j = 3 two bits a vector in the top 2 bits (bits 2m, 2m + 1
      // in vector m).
      uint8_t* scales = out + 48 * kVector;
      for (int i = 0; i < kPanelRows; ++i) {
        const BlockQ6_K& blk = BlockOf<BlockQ6_K>(w, row(i), b);
        uint8_t q[kQKK];
        UnpackQ6K(blk, q);
        for (int u = 0; u < 16; ++u) {
          const uint8_t* lanes = q + 32 * (u % 8) + 16 * (u / 8);
          uint8_t* unit = out + 3 * kVector * u + 4 * i;
          for (int e = 0; e < 4; ++e) {
            const int last = lanes[12 + e];
            for (int m = 0; m < 3; ++m) {
              unit[kVector * m + e] = static_cast<uint8_t>(
                  lanes[4 * m + e] | (last >> (2 * m) & 3) << 6);
            }
          }
        }
        for (int g = 0; g < 16; ++g) {
          scales[2 * kPanelRows * (g / 2) + 2 * i + g % 2] =
              static_cast<uint8_t>(blk.scales[g]);
        }
        d[i] = blk.d;
      }
      break;
    }
    default:
      break;
  }
}

}  // namespace

bool HasDecodePanelLayout(TensorType type) {
  return PairedQuantBytes(type) > 0 || SingleBlockBytes(type) > 0;
}

size_t DecodePanelStride(TensorType type, int64_t cols) {
  const int64_t block_size = TypeInfo(type).block_size;
  if (block_size <= 0 || cols <= 0 || cols % block_size != 0) return 0;
  const int64_t nb = cols / block_size;
  if (const size_t quant = PairedQuantBytes(type); quant > 0) {
    return static_cast<size_t>((nb + 1) / 2) * PanelPairBytes(quant);
  }
  return static_cast<size_t>(nb) * SingleBlockBytes(type);
}

size_t DecodePanelBytes(TensorType type, int64_t rows, int64_t cols) {
  const size_t stride = DecodePanelStride(type, cols);
  if (stride == 0 || rows <= 0) return 0;
  return static_cast<size_t>((rows + kPanelRows - 1) / kPanelRows) * stride;
}

void PackDecodePanels(const WeightView& w, uint8_t* out) {
  const size_t stride = DecodePanelStride(w.type, w.cols);
  const size_t quant = PairedQuantBytes(w.type);
  const size_t single = SingleBlockBytes(w.type);
  const int64_t nb = w.cols / TypeInfo(w.type).block_size;
  std::memset(out, 0, DecodePanelBytes(w.type, w.rows, w.cols));
  for (int64_t r0 = 0; r0 < w.rows; r0 += kPanelRows, out += stride) {
    for (int64_t b = 0; b < nb; ++b) {
      if (quant > 0) {
        PackBlock(w, r0, b, out + PairedQuantsAt(b, quant),
                  reinterpret_cast<uint16_t*>(out + PairedScalesAt(b, quant)));
      } else {
        PackBlock(w, r0, b, out + static_cast<size_t>(b) * single, nullptr);
      }
    }
  }
}

AlignedBytes AttachDecodePanels(WeightView& w) {
  const size_t bytes = DecodePanelBytes(w.type, w.rows, w.cols);
  const Isa isa = BestIsa();
  if (bytes == 0 || DecodeKernel(w, isa) == nullptr) return nullptr;
  // Every token streams all panels: on 4 KiB pages that is a TLB miss per
  // page, so large ones ask for transparent huge pages (Linux hands them
  // out only on request when THP is in its default "madvise" mode), before
  // the first touch.
  constexpr size_t kHugePage = size_t{2} << 20;
  const bool huge = bytes >= kHugePage;
  const size_t alignment = huge ? kHugePage : 64;
  const size_t size = (bytes + alignment - 1) / alignment * alignment;
  AlignedBytes panels(
      static_cast<uint8_t*>(std::aligned_alloc(alignment, size)));
  if (panels == nullptr) return nullptr;  // the file layout still works
  // Only the whole huge pages: one over the end would make up to 2 MiB of
  // untouched padding resident.
  if (huge) madvise(panels.get(), bytes / kHugePage * kHugePage, MADV_HUGEPAGE);
  PackDecodePanels(w, panels.get());
  w.panels = panels.get();
  return panels;
}

}  // namespace ggufd::tensor
