// Row-panel kernels for q4_0, q4_1 (and q8_0 with VNNI) at the AVX-512
// levels, compiled by panel_avx512.cc and panel_avx512_vnni.cc, each defining
// GGUFD_SIMD_NAMESPACE first.
//
// The 16 lanes of a vector are 16 weight rows, not 16 values of one row.
// A chunk of a panel's blocks is first repacked (the "panel"): for block b,
// vector k holds values 4k..4k+3 of every row as unsigned bytes, next to the
// rows' float scales. Then each activation block meets the panel through 8
// multiply-adds of the panel vectors with its 4-byte groups broadcast to all
// lanes (vpdpbusd), which leaves each row's exact integer block sum in its
// lane: no horizontal sums, and the block scales are applied to 16 rows at
// once. Unpacking and scale conversion are paid once per panel chunk and
// shared by every token. For one or two tokens (decode) repacking would cost
// more than it saves: RunFew multiplies whole blocks straight from the file
// layout and reduces them across lanes into the same per-row block sums.
//
// Per output the arithmetic is fixed, and is ggml's (llama.cpp's AVX2/AVX-512
// vec_dot): for each block in order and each 4-value group g,
//   acc_g = fma(d_w * d_a, float(isum_g), acc_g)   [and m = fma(m_w, s_a, m)]
// then ((acc_0 + acc_4) + (acc_2 + acc_6)) + ((acc_1 + acc_5) + (acc_3 +
// acc_7)) [+ m], so a one-token call, a 1 x 1 "dot" and any tiling or thread
// split give the same bits, and the same bits as the reference.
#ifndef GGUFD_RUNTIME_TENSOR_PANEL_AVX512_IMPL_H_
#define GGUFD_RUNTIME_TENSOR_PANEL_AVX512_IMPL_H_

#ifndef GGUFD_SIMD_NAMESPACE
#error "define GGUFD_SIMD_NAMESPACE before including panel_avx512_impl.h"
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "runtime/tensor/avx512_common_impl.h"
#include "runtime/tensor/blocks.h"
#include "runtime/tensor/decode_panels.h"
#include "runtime/tensor/simd_kernels.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE {
namespace {

// Blocks repacked at a time: the panel chunk stays in L1 (20 KiB) while all
// tokens stream past it.
constexpr int kChunkBlocks = 32;
// Tokens per pass over a chunk; their accumulators and the 8 panel vectors
// of a block stay in registers.
constexpr int kPassTokens = 2;
// How far ahead RunFew prefetches each row (about 4 cache lines).
constexpr int kPrefetchBlocks = 8;

struct Panel {
  alignas(64) uint8_t q[kChunkBlocks][8][64];  // [block][k][row][4 values]
  alignas(64) float d[kChunkBlocks][kPanelRows];
  alignas(64) float m[kChunkBlocks][kPanelRows];  // q4_1 only
};

// Transposes 4 rows of 4 dwords: out[k] = dword k of rows 0..3.
inline void Transpose4(const __m128i (&x)[4], __m128i (&out)[4]) {
  const __m128i t0 = _mm_unpacklo_epi32(x[0], x[1]);
  const __m128i t1 = _mm_unpackhi_epi32(x[0], x[1]);
  const __m128i t2 = _mm_unpacklo_epi32(x[2], x[3]);
  const __m128i t3 = _mm_unpackhi_epi32(x[2], x[3]);
  out[0] = _mm_unpacklo_epi64(t0, t2);
  out[1] = _mm_unpackhi_epi64(t0, t2);
  out[2] = _mm_unpacklo_epi64(t1, t3);
  out[3] = _mm_unpackhi_epi64(t1, t3);
}

// The weight formats. Quants are stored unsigned; a constant offset (q4_0's
// 8, q8_0's 128 after biasing) is removed through the activation sum.
struct Q4_0Format {
  using WBlock = BlockQ4_0;
  using ABlock = BlockQ8_0;
  static constexpr int kOffset = 8;
  static constexpr bool kNibbles = true;
  static constexpr bool kMin = false;
  static constexpr bool kWhole = false;
};
// q4_0 in the order of ggml's repacked gemv/gemm (DotQ4_0Q8_0Whole): one
// exact integer sum per block, scaled and fused into one running sum.
struct Q4_0WholeFormat : Q4_0Format {
  static constexpr bool kWhole = true;
};
struct Q4_1Format {
  using WBlock = BlockQ4_1;
  using ABlock = BlockQ8_1;
  static constexpr int kOffset = 0;
  static constexpr bool kNibbles = true;
  static constexpr bool kMin = true;
  static constexpr bool kWhole = false;
};
struct Q8_0Format {
  using WBlock = BlockQ8_0;
  using ABlock = BlockQ8_0;
  static constexpr int kOffset = 128;
  static constexpr bool kNibbles = false;
  static constexpr bool kMin = false;
  static constexpr bool kWhole = false;
};

// Byte offsets of the panel's 16 rows (lanes past n_rows repeat the last).
inline __m512i RowOffsets(size_t ws, int n_rows) {
  const __m512i r = _mm512_min_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32(n_rows - 1));
  return _mm512_mullo_epi32(r, _mm512_set1_epi32(static_cast<int>(ws)));
}

// Block b of the 16 rows as gathered 32-bit words: its first two half
// floats (d, and m for q4_1) in the low and high 16 bits.
template <typename F>
inline __m512i GatherScales(const uint8_t* w, __m512i offsets, int64_t b) {
  return _mm512_i32gather_epi32(
      offsets, reinterpret_cast<const typename F::WBlock*>(w) + b, 1);
}
inline __m512 LowHalves(__m512i g) {
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(g));
}
inline __m512 HighHalves(__m512i g) {
  return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(g, 16)));
}

// Repacks blocks [b0, b0 + n_blocks) of the panel's rows. Lanes past n_rows
// repeat the last row; their outputs are never stored.
template <typename F>
void Pack(const uint8_t* w, size_t ws, int n_rows, int64_t b0, int n_blocks,
          Panel& p) {
  using WBlock = typename F::WBlock;
  for (int g = 0; g < kPanelRows / 4; ++g) {
    const WBlock* rows[4];
    for (int i = 0; i < 4; ++i) {
      const int r = std::min(4 * g + i, n_rows - 1);
      rows[i] =
          reinterpret_cast<const WBlock*>(w + static_cast<size_t>(r) * ws) + b0;
    }
    for (int b = 0; b < n_blocks; ++b) {
      if constexpr (F::kNibbles) {
        __m128i x[4], t[4];
        for (int i = 0; i < 4; ++i) {
          x[i] =
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[i][b].qs));
        }
        Transpose4(x, t);
        const __m128i low4 = _mm_set1_epi8(0x0f);
        for (int k = 0; k < 4; ++k) {
          _mm_store_si128(reinterpret_cast<__m128i*>(&p.q[b][k][16 * g]),
                          _mm_and_si128(t[k], low4));
          _mm_store_si128(reinterpret_cast<__m128i*>(&p.q[b][k + 4][16 * g]),
                          _mm_and_si128(_mm_srli_epi16(t[k], 4), low4));
        }
      } else {
        // Signed bytes biased to unsigned: w + 128.
        const __m128i bias = _mm_set1_epi8(static_cast<char>(0x80));
        for (int half = 0; half < 2; ++half) {
          __m128i x[4], t[4];
          for (int i = 0; i < 4; ++i) {
            x[i] = _mm_loadu_si128(
                reinterpret_cast<const __m128i*>(rows[i][b].qs + 16 * half));
          }
          Transpose4(x, t);
          for (int k = 0; k < 4; ++k) {
            _mm_store_si128(
                reinterpret_cast<__m128i*>(&p.q[b][4 * half + k][16 * g]),
                _mm_xor_si128(t[k], bias));
          }
        }
      }
    }
  }
  const __m512i offsets = RowOffsets(ws, n_rows);
  for (int b = 0; b < n_blocks; ++b) {
    const __m512i scales = GatherScales<F>(w, offsets, b0 + b);
    _mm512_store_ps(p.d[b], LowHalves(scales));
    if constexpr (F::kMin) _mm512_store_ps(p.m[b], HighHalves(scales));
  }
}

// Pack from the weight's decode panels (decode_panels.h) instead of the
// file: blocks [b0, b0 + n_blocks) of one panel. The 4 rows of a q4 panel
// vector transpose as in Pack, q8_0 vectors are copied (already biased and
// grouped); the scales are there as halves (q4_1 a block alone with its m,
// q4_0 and q8_0 in pairs of blocks).
template <typename F>
void PackFromPanels(const uint8_t* panel, int64_t b0, int n_blocks, Panel& p) {
  constexpr size_t kQuantBytes = F::kNibbles ? 256 : 512;
  for (int b = 0; b < n_blocks; ++b) {
    const uint8_t* blk;
    const uint8_t* scales;
    if constexpr (F::kMin) {
      blk = panel + static_cast<size_t>(b0 + b) * (kQuantBytes + 64);
      scales = blk + kQuantBytes;
    } else {
      blk = panel + PairedQuantsAt(b0 + b, kQuantBytes);
      scales = panel + PairedScalesAt(b0 + b, kQuantBytes);
    }
    if constexpr (F::kNibbles) {
      for (int g = 0; g < kPanelRows / 4; ++g) {
        __m128i x[4], t[4];
        for (int i = 0; i < 4; ++i) {
          x[i] = _mm_load_si128(
              reinterpret_cast<const __m128i*>(blk + 64 * g + 16 * i));
        }
        Transpose4(x, t);
        const __m128i low4 = _mm_set1_epi8(0x0f);
        for (int k = 0; k < 4; ++k) {
          _mm_store_si128(reinterpret_cast<__m128i*>(&p.q[b][k][16 * g]),
                          _mm_and_si128(t[k], low4));
          _mm_store_si128(reinterpret_cast<__m128i*>(&p.q[b][k + 4][16 * g]),
                          _mm_and_si128(_mm_srli_epi16(t[k], 4), low4));
        }
      }
    } else {
      // q8_0 panels already hold group k of the 16 rows in vector k.
      for (int k = 0; k < 8; ++k) {
        _mm512_store_si512(p.q[b][k], _mm512_load_si512(blk + 64 * k));
      }
    }
    if constexpr (F::kMin) {
      const __m512i dm =
          _mm512_load_si512(reinterpret_cast<const __m512i*>(scales));
      _mm512_store_ps(p.d[b], _mm512_cvtph_ps(_mm512_castsi512_si256(dm)));
      _mm512_store_ps(p.m[b],
                      _mm512_cvtph_ps(_mm512_extracti64x4_epi64(dm, 1)));
    } else {
      _mm512_store_ps(p.d[b], _mm512_cvtph_ps(_mm256_load_si256(
                                  reinterpret_cast<const __m256i*>(scales))));
    }
  }
}

// ggml's order for one output: every 4-value group g of a block has its
// own accumulator, acc_g = fma(d_w * d_a, float(group sum), acc_g), and the
// 8 are summed at the end as its hsum_float_8 does. The few ulps this saves
// matter: the outputs are requantized to 8 bits by the next layer, where a
// last-bit difference can flip a rounding and grow from there.
constexpr int kGroups = 8;

// Running sums of one token over a panel's 16 rows, kept between chunks.
struct alignas(64) TokenSums {
  float g[kGroups][kPanelRows];  // per 4-value group
  float m[kPanelRows];           // q4_1: sum of m_w * s_a
};

// ((g0 + g4) + (g2 + g6)) + ((g1 + g5) + (g3 + g7)), lane by lane.
inline __m512 SumGroups(const __m512 (&g)[kGroups]) {
  return _mm512_add_ps(
      _mm512_add_ps(_mm512_add_ps(g[0], g[4]), _mm512_add_ps(g[2], g[6])),
      _mm512_add_ps(_mm512_add_ps(g[1], g[5]), _mm512_add_ps(g[3], g[7])));
}

// Accumulates a packed chunk into the running sums of T tokens.
// `offsets`: the first token's offset sums of block 0 (PanelActBlock), or
// null.
template <typename F, int T>
void RunChunk(const Panel& p, int n_blocks, int64_t b0, const uint8_t* a,
              size_t as, const PanelActBlock* ab_info, size_t info_stride,
              const int32_t* offsets, TokenSums* sums) {
  using ABlock = typename F::ABlock;
  __m512 acc[T][kGroups];
  __m512 ms[T];
  for (int t = 0; t < T; ++t) {
    // The first chunk starts the sums (the stack is not cleared for it).
    for (int k = 0; k < kGroups; ++k) {
      acc[t][k] = b0 == 0 ? _mm512_setzero_ps() : _mm512_load_ps(sums[t].g[k]);
    }
    ms[t] = b0 == 0 ? _mm512_setzero_ps() : _mm512_load_ps(sums[t].m);
  }
  for (int b = 0; b < n_blocks; ++b) {
    __m512i wq[8];
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) wq[k] = _mm512_load_si512(p.q[b][k]);
    const __m512 dw = _mm512_load_ps(p.d[b]);
#pragma GCC unroll 2
    for (int t = 0; t < T; ++t) {
      const ABlock* ab =
          reinterpret_cast<const ABlock*>(a + static_cast<size_t>(t) * as) +
          b0 + b;
      const PanelActBlock* info =
          ab_info != nullptr ? ab_info + t * info_stride + b0 + b : nullptr;
      const float da = info != nullptr ? info->d : Half(ab->d);
      const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(da));
      if constexpr (F::kWhole) {
        int32_t total;
        if (info != nullptr) {
          total = info->sum;
        } else {
          int32_t gs[kGroups];
          GroupSums(ab->qs, gs);
          total = 0;
          for (int k = 0; k < kGroups; ++k) total += gs[k];
        }
        __m512i isum = _mm512_set1_epi32(-F::kOffset * total);
#pragma GCC unroll 8
        for (int k = 0; k < kGroups; ++k) {
          isum = AddDot4(isum, wq[k], _mm512_set1_epi32(Dword(ab->qs + 4 * k)));
        }
        acc[t][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), scale, acc[t][0]);
        continue;
      }
      alignas(32) int32_t base[kGroups] = {};
      const int32_t* bases = base;
      if constexpr (F::kOffset != 0) {
        if (offsets != nullptr) {
          bases = offsets + (t * info_stride + b0 + b) * kGroups;
        } else {
          OffsetGroupSums(ab->qs, F::kOffset, base);
        }
      }
#pragma GCC unroll 8
      for (int k = 0; k < kGroups; ++k) {
        const __m512i isum = AddDot4(_mm512_set1_epi32(bases[k]), wq[k],
                                     _mm512_set1_epi32(Dword(ab->qs + 4 * k)));
        acc[t][k] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(isum), acc[t][k]);
      }
      if constexpr (F::kMin) {
        const float sa = info != nullptr ? info->s : Half(ab->s);
        ms[t] =
            _mm512_fmadd_ps(_mm512_load_ps(p.m[b]), _mm512_set1_ps(sa), ms[t]);
      }
    }
  }
  for (int t = 0; t < T; ++t) {
    for (int k = 0; k < kGroups; ++k) _mm512_store_ps(sums[t].g[k], acc[t][k]);
    _mm512_store_ps(sums[t].m, ms[t]);
  }
}

// Block b of rows r0 and r1 as unsigned bytes in four 128-bit lanes (16
// values each): q4 formats give [r0 0-15 | r1 0-15 | r0 16-31 | r1 16-31]
// (no shuffle after unpacking), q8_0 [r0 0-15 | r0 16-31 | r1 0-15 |
// r1 16-31]. ActivationLanes lines a block's activations up with either.
template <typename F>
inline __m512i RowPair(const typename F::WBlock* r0,
                       const typename F::WBlock* r1) {
  if constexpr (F::kNibbles) {
    const __m256i v = _mm256_inserti128_si256(
        _mm256_castsi128_si256(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0->qs))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1->qs)), 1);
    return _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(v),
                                               _mm256_srli_epi16(v, 4), 1),
                            _mm512_set1_epi8(0x0f));
  } else {
    const __m512i z = _mm512_inserti64x4(
        _mm512_castsi256_si512(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0->qs))),
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1->qs)), 1);
    return _mm512_xor_si512(z, _mm512_set1_epi8(static_cast<char>(0x80)));
  }
}
template <typename F>
inline __m512i ActivationLanes(const int8_t* qs) {
  const __m512i v = _mm512_castsi256_si512(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs)));
  // [0-15, 0-15, 16-31, 16-31] or [0-15, 16-31, 0-15, 16-31].
  return _mm512_shuffle_i64x2(v, v, F::kNibbles ? 0x50 : 0x44);
}

// Lane -> row pair member (0 or 1) of a RowPair product, and lane -> group.
template <typename F>
inline int LaneRow(int lane) {
  return F::kNibbles ? (lane / 4) & 1 : lane / 8;
}
template <typename F>
inline int LaneGroup(int lane) {
  return F::kNibbles ? lane % 4 + 4 * (lane / 8) : lane % 8;
}

// The panel product for a few tokens without repacking: each RowPair
// product leaves the 8 group sums of its 2 rows in 16 lanes, which are
// scaled and accumulated in place; the groups are summed per row at the end,
// in the same order as the panel path, so the results are identical.
template <typename F, int T>
void RunFew(int64_t n, const uint8_t* w, size_t ws, int n_rows,
            const uint8_t* a, size_t as, float* y, size_t ys) {
  using WBlock = typename F::WBlock;
  using ABlock = typename F::ABlock;
  const WBlock* rows[kPanelRows];
  for (int r = 0; r < kPanelRows; ++r) {
    rows[r] = reinterpret_cast<const WBlock*>(
        w + static_cast<size_t>(std::min(r, n_rows - 1)) * ws);
  }
  const __m512i offsets = RowOffsets(ws, n_rows);
  alignas(64) int32_t lane_rows[16];
  for (int lane = 0; lane < 16; ++lane) lane_rows[lane] = LaneRow<F>(lane);
  const __m512i pair_lanes = _mm512_load_si512(lane_rows);
  __m512 acc[T][8];
  __m512 ms[T];
  for (int t = 0; t < T; ++t) {
    for (int i = 0; i < 8; ++i) acc[t][i] = _mm512_setzero_ps();
    ms[t] = _mm512_setzero_ps();
  }
  for (int64_t b = 0; b < n / kQK; ++b) {
    // 16 row streams are more than the hardware prefetchers follow well
    // when the weights come from memory (large matvecs). Every other block
    // still touches every cache line of a row.
    if ((b & 1) == 0) {
      for (int r = 0; r < kPanelRows; ++r) {
        _mm_prefetch(
            reinterpret_cast<const char*>(rows[r] + b + kPrefetchBlocks),
            _MM_HINT_T0);
      }
    }
    __m512i wq[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i)
      wq[i] = RowPair<F>(rows[2 * i] + b, rows[2 * i + 1] + b);
    const __m512i scales = GatherScales<F>(w, offsets, b);
    const __m512 dw = LowHalves(scales);
#pragma GCC unroll 2
    for (int t = 0; t < T; ++t) {
      const ABlock* ab =
          reinterpret_cast<const ABlock*>(a + static_cast<size_t>(t) * as) + b;
      const __m512i qa = ActivationLanes<F>(ab->qs);
      __m512i base = _mm512_setzero_si512();
      if constexpr (F::kOffset != 0) {
        base = _mm512_mullo_epi32(
            AddDot4(_mm512_setzero_si512(), _mm512_set1_epi8(1), qa),
            _mm512_set1_epi32(-F::kOffset));
      }
      const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(Half(ab->d)));
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const __m512 pair_scale = _mm512_permutexvar_ps(
            _mm512_add_epi32(pair_lanes, _mm512_set1_epi32(2 * i)), scale);
        acc[t][i] = _mm512_fmadd_ps(
            pair_scale, _mm512_cvtepi32_ps(AddDot4(base, wq[i], qa)),
            acc[t][i]);
      }
      if constexpr (F::kMin) {
        ms[t] = _mm512_fmadd_ps(HighHalves(scales), _mm512_set1_ps(Half(ab->s)),
                                ms[t]);
      }
    }
  }
  for (int t = 0; t < T; ++t) {
    alignas(64) float lanes[8][16];
    alignas(64) TokenSums sums;
    for (int i = 0; i < 8; ++i) _mm512_store_ps(lanes[i], acc[t][i]);
    for (int i = 0; i < 8; ++i) {
      for (int lane = 0; lane < 16; ++lane) {
        sums.g[LaneGroup<F>(lane)][2 * i + LaneRow<F>(lane)] = lanes[i][lane];
      }
    }
    __m512 g[kGroups];
    for (int k = 0; k < kGroups; ++k) g[k] = _mm512_load_ps(sums.g[k]);
    __m512 sum = SumGroups(g);
    if constexpr (F::kMin) sum = _mm512_add_ps(sum, ms[t]);
    _mm512_mask_storeu_ps(y + static_cast<size_t>(t) * ys,
                          static_cast<__mmask16>((1u << n_rows) - 1), sum);
  }
}

// y[t * ys + r] = row r . token t for r < n_rows <= 16, t < n_tokens.
template <typename F>
// With `from_panels`, w is the panel's first block in the decode panels
// (and ws unused).
void RunPanel(int64_t n, const uint8_t* w, size_t ws, int n_rows,
              const uint8_t* a, size_t as, const PanelActBlock* a_blocks,
              int64_t n_tokens, float* y, size_t ys, bool from_panels = false) {
  if constexpr (!F::kWhole) {
    if (!from_panels && n_tokens == 1)
      return RunFew<F, 1>(n, w, ws, n_rows, a, as, y, ys);
    if (!from_panels && n_tokens == 2)
      return RunFew<F, 2>(n, w, ws, n_rows, a, as, y, ys);
  }
  // The per-group sums outlive a chunk: they stay on the stack for up to
  // kSumTokens tokens at a time (more tokens repack the panel per group).
  constexpr int64_t kSumTokens = 32;
  TokenSums sums[kSumTokens];
  Panel p;
  const __mmask16 mask = static_cast<__mmask16>((1u << n_rows) - 1);
  const int64_t nb = n / kQK;
  const int32_t* offsets =
      !F::kWhole && F::kOffset != 0 && a_blocks != nullptr &&
              a_blocks[0].offset == F::kOffset
          ? reinterpret_cast<const int32_t*>(a_blocks + n_tokens * nb)
          : nullptr;
  for (int64_t t0 = 0; t0 < n_tokens; t0 += kSumTokens) {
    const int64_t nt = std::min(kSumTokens, n_tokens - t0);
    for (int64_t b0 = 0; b0 < nb; b0 += kChunkBlocks) {
      const int cb = static_cast<int>(std::min<int64_t>(kChunkBlocks, nb - b0));
      if (from_panels) {
        PackFromPanels<F>(w, b0, cb, p);
      } else {
        Pack<F>(w, ws, n_rows, b0, cb, p);
      }
      for (int64_t t = 0; t < nt; t += kPassTokens) {
        const uint8_t* at = a + static_cast<size_t>(t0 + t) * as;
        const PanelActBlock* it =
            a_blocks != nullptr ? a_blocks + (t0 + t) * nb : nullptr;
        const int32_t* ot =
            offsets != nullptr ? offsets + (t0 + t) * nb * kGroups : nullptr;
        if (nt - t >= 2) {
          RunChunk<F, 2>(p, cb, b0, at, as, it, static_cast<size_t>(nb), ot,
                         sums + t);
        } else {
          RunChunk<F, 1>(p, cb, b0, at, as, it, static_cast<size_t>(nb), ot,
                         sums + t);
        }
      }
    }
    for (int64_t t = 0; t < nt; ++t) {
      __m512 g[kGroups];
      for (int k = 0; k < kGroups; ++k) g[k] = _mm512_load_ps(sums[t].g[k]);
      __m512 sum = F::kWhole ? g[0] : SumGroups(g);
      if constexpr (F::kMin) {
        sum = _mm512_add_ps(sum, _mm512_load_ps(sums[t].m));
      }
      _mm512_mask_storeu_ps(y + static_cast<size_t>(t0 + t) * ys, mask, sum);
    }
  }
}

template <typename F>
float PanelDot(int64_t n, const void* w, const void* a) {
  float y;
  RunPanel<F>(n, static_cast<const uint8_t*>(w), 0, 1,
              static_cast<const uint8_t*>(a), 0, nullptr, 1, &y, 0);
  return y;
}

}  // namespace

float PanelDotQ4_0Q8_0(int64_t n, const void* w, const void* a) {
  return PanelDot<Q4_0Format>(n, w, a);
}
float PanelDotQ4_0Q8_0Whole(int64_t n, const void* w, const void* a) {
  return PanelDot<Q4_0WholeFormat>(n, w, a);
}
void PanelQ4_0Q8_0Whole(int64_t n, const uint8_t* w, size_t ws, int nr,
                        const uint8_t* a, size_t as, const PanelActBlock* ab,
                        int64_t nt, float* y, size_t ys) {
  RunPanel<Q4_0WholeFormat>(n, w, ws, nr, a, as, ab, nt, y, ys);
}
void PanelsQ4_0Q8_0(int64_t n, const uint8_t* panel, int nr, const uint8_t* a,
                    size_t as, const PanelActBlock* ab, int64_t nt, float* y,
                    size_t ys) {
  RunPanel<Q4_0Format>(n, panel, 0, nr, a, as, ab, nt, y, ys, true);
}
void PanelsQ4_0Q8_0Whole(int64_t n, const uint8_t* panel, int nr,
                         const uint8_t* a, size_t as, const PanelActBlock* ab,
                         int64_t nt, float* y, size_t ys) {
  RunPanel<Q4_0WholeFormat>(n, panel, 0, nr, a, as, ab, nt, y, ys, true);
}
void PanelsQ4_1Q8_1(int64_t n, const uint8_t* panel, int nr, const uint8_t* a,
                    size_t as, const PanelActBlock* ab, int64_t nt, float* y,
                    size_t ys) {
  RunPanel<Q4_1Format>(n, panel, 0, nr, a, as, ab, nt, y, ys, true);
}
float PanelDotQ4_1Q8_1(int64_t n, const void* w, const void* a) {
  return PanelDot<Q4_1Format>(n, w, a);
}
void PanelQ4_0Q8_0(int64_t n, const uint8_t* w, size_t ws, int nr,
                   const uint8_t* a, size_t as, const PanelActBlock* ab,
                   int64_t nt, float* y, size_t ys) {
  RunPanel<Q4_0Format>(n, w, ws, nr, a, as, ab, nt, y, ys);
}
void PanelQ4_1Q8_1(int64_t n, const uint8_t* w, size_t ws, int nr,
                   const uint8_t* a, size_t as, const PanelActBlock* ab,
                   int64_t nt, float* y, size_t ys) {
  RunPanel<Q4_1Format>(n, w, ws, nr, a, as, ab, nt, y, ys);
}
#if defined(__AVX512VNNI__)
// Biased q8_0 weights (up to 255) overflow vpmaddubsw's pairs, so q8_0
// panels exist only with VNNI.
float PanelDotQ8_0Q8_0(int64_t n, const void* w, const void* a) {
  return PanelDot<Q8_0Format>(n, w, a);
}
void PanelQ8_0Q8_0(int64_t n, const uint8_t* w, size_t ws, int nr,
                   const uint8_t* a, size_t as, const PanelActBlock* ab,
                   int64_t nt, float* y, size_t ys) {
  RunPanel<Q8_0Format>(n, w, ws, nr, a, as, ab, nt, y, ys);
}
void PanelsQ8_0Q8_0(int64_t n, const uint8_t* panel, int nr, const uint8_t* a,
                    size_t as, const PanelActBlock* ab, int64_t nt, float* y,
                    size_t ys) {
  RunPanel<Q8_0Format>(n, panel, 0, nr, a, as, ab, nt, y, ys, true);
}
#endif

}  // namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE

#endif  // GGUFD_RUNTIME_TENSOR_PANEL_AVX512_IMPL_H_
