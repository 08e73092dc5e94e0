// 256-bit kernels of the 32-value block types without hand-written 512-bit
// kernels: q5_0 and iq4_nl (with q8_0 activations) and q5_1 (with q8_1);
// and q4_1 and q4_0's vec_dot order for the AVX2 level, whose row panels sum
// a block whole (q4_0's repacked order, not vec_dot's).
// Compiled once per level; see dot256_ops.h. Each block is unpacked to 32
// bytes once per tile row and meets every activation column of the tile.
#ifndef GGUFD_RUNTIME_TENSOR_DOT256_LEGACY_IMPL_H_
#define GGUFD_RUNTIME_TENSOR_DOT256_LEGACY_IMPL_H_

#include <cmath>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/dot256_ops.h"
#include "runtime/tensor/simd_kernels.h"
#include "runtime/tensor/simd_tile.h"

namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE {
namespace {

// Writes the R x C accumulators' sums as the tile's outputs.
template <int R, int C>
inline void StoreTile(__m256 (&acc)[R][C], float* y, size_t ys) {
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c)
      y[static_cast<size_t>(c) * ys + r] = Hsum(acc[r][c]);
  }
}

// q5_0 and q4_0 x q8_0 (q4_0 in vec_dot's order; its repacked order is
// panel_avx2.cc's): the quants stay unsigned (0..31 or 0..15) and the
// offset (16 or 8) enters each lane as minus the offset times the sum of its
// activations, shared by all rows of the tile, so every lane holds ggml's
// exact integer sum of (q - offset) * a.
struct Q5_0Unpack {
  using Block = BlockQ5_0;
  static constexpr int8_t kOffset = 16;
  static __m256i Quants(const BlockQ5_0* blk) {
    return _mm256_or_si256(Nibbles(blk->qs), BitsToBytes(blk->qh, 0x10));
  }
};
struct Q4_0Unpack {
  using Block = BlockQ4_0;
  static constexpr int8_t kOffset = 8;
  static __m256i Quants(const BlockQ4_0* blk) { return Nibbles(blk->qs); }
};

template <typename U>
struct KOffsetQ {
  template <int R, int C>
  struct K {
    static constexpr int kMaxRows = 4;
    static constexpr int kMaxCols = kWideCols;
    static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* a,
                    size_t as, float* y, size_t ys) {
      __m256 acc[R][C];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
      }
      const __m256i offset_bytes = _mm256_set1_epi8(U::kOffset);
      for (int64_t b = 0; b < n / kQK; ++b) {
        __m256i qa[C], offset[C];
        float da[C];
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
          const BlockQ8_0* blk = BlockAt<BlockQ8_0>(a, as, c, b);
          qa[c] = Load256(blk->qs);
          offset[c] = _mm256_sub_epi32(
              _mm256_setzero_si256(),
              AddDotU8S8(_mm256_setzero_si256(), offset_bytes, qa[c]));
          da[c] = Half(blk->d);
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const auto* blk = BlockAt<typename U::Block>(w, ws, r, b);
          const __m256i qw = U::Quants(blk);
          const float dw = Half(blk->d);
#pragma GCC unroll 4
          for (int c = 0; c < C; ++c) {
            const __m256i p = AddDotU8S8(offset[c], qw, qa[c]);
            acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * da[c]),
                                        _mm256_cvtepi32_ps(p), acc[r][c]);
          }
        }
      }
      StoreTile<R, C>(acc, y, ys);
    }
  };
};
template <int R, int C>
using KQ5_0 = KOffsetQ<Q5_0Unpack>::K<R, C>;
template <int R, int C>
using KQ4_0 = KOffsetQ<Q4_0Unpack>::K<R, C>;

// q5_1 x q8_1: d_w * d_a * sum(q5 * q8) + m_w * s_a per block, the m * s
// term riding in lane 0 of the same accumulator.
template <int R, int C>
struct KQ5_1 {
  static constexpr int kMaxRows = 4;
  static constexpr int kMaxCols = kWideCols;
  static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* a,
                  size_t as, float* y, size_t ys) {
    __m256 acc[R][C];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < n / kQK; ++b) {
      __m256i qa[C];
      float da[C];
      __m256 sa[C];
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) {
        const BlockQ8_1* blk = BlockAt<BlockQ8_1>(a, as, c, b);
        qa[c] = Load256(blk->qs);
        da[c] = Half(blk->d);
        sa[c] = _mm256_set1_ps(Half(blk->s));
      }
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const BlockQ5_1* blk = BlockAt<BlockQ5_1>(w, ws, r, b);
        const __m256i qw =
            _mm256_or_si256(Nibbles(blk->qs), BitsToBytes(blk->qh, 0x10));
        const float dw = Half(blk->d);
        const __m256 mw = _mm256_zextps128_ps256(_mm_set_ss(Half(blk->m)));
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
          const __m256 p =
              _mm256_cvtepi32_ps(AddDotU8S8(_mm256_setzero_si256(), qw, qa[c]));
          acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * da[c]), p, acc[r][c]);
          acc[r][c] = _mm256_fmadd_ps(mw, sa[c], acc[r][c]);
        }
      }
    }
    StoreTile<R, C>(acc, y, ys);
  }
};

// q4_1 x q8_1 in ggml's order (its AVX2 vec_dot, which llama.cpp runs on
// every x86 level): lane l of the accumulator takes values 4l..4l+3 of each
// block, fma(d_w * d_a, their sum, lane); the m_w * s_a terms are summed
// apart, one fma per block, and added after the lanes are reduced.
template <int R, int C>
struct KQ4_1 {
  static constexpr int kMaxRows = 4;
  static constexpr int kMaxCols = kWideCols;
  static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* a,
                  size_t as, float* y, size_t ys) {
    __m256 acc[R][C];
    float ms[R][C];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) {
        acc[r][c] = _mm256_setzero_ps();
        ms[r][c] = 0;
      }
    }
    for (int64_t b = 0; b < n / kQK; ++b) {
      __m256i qa[C];
      float da[C], sa[C];
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) {
        const BlockQ8_1* blk = BlockAt<BlockQ8_1>(a, as, c, b);
        qa[c] = Load256(blk->qs);
        da[c] = Half(blk->d);
        sa[c] = Half(blk->s);
      }
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const BlockQ4_1* blk = BlockAt<BlockQ4_1>(w, ws, r, b);
        const __m256i qw = Nibbles(blk->qs);
        const float dw = Half(blk->d);
        const float mw = Half(blk->m);
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
          const __m256 p =
              _mm256_cvtepi32_ps(AddDotU8S8(_mm256_setzero_si256(), qw, qa[c]));
          acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * da[c]), p, acc[r][c]);
          ms[r][c] = std::fma(mw, sa[c], ms[r][c]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) {
        y[static_cast<size_t>(c) * ys + r] = Hsum(acc[r][c]) + ms[r][c];
      }
    }
  }
};

// The iq4_nl grid in both lanes, for vpshufb lookups by 4-bit index.
inline __m256i Iq4nlTable() {
  return _mm256_broadcastsi128_si256(Load128(kIq4nlValues));
}

// iq4_nl x q8_0: indices looked up in the grid (vpshufb), then a signed x
// signed dot as |w| times sign-transferred a; |w| <= 127 and |a| <= 127 keep
// vpmaddubsw's pairs in range.
template <int R, int C>
struct KIQ4_NL {
  static constexpr int kMaxRows = 4;
  static constexpr int kMaxCols = kWideCols;
  static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* a,
                  size_t as, float* y, size_t ys) {
    __m256 acc[R][C];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
    }
    const __m256i table = Iq4nlTable();
    for (int64_t b = 0; b < n / kQK; ++b) {
      __m256i qa[C];
      float da[C];
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) {
        const BlockQ8_0* blk = BlockAt<BlockQ8_0>(a, as, c, b);
        qa[c] = Load256(blk->qs);
        da[c] = Half(blk->d);
      }
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const BlockIQ4_NL* blk = BlockAt<BlockIQ4_NL>(w, ws, r, b);
        const __m256i qw = _mm256_shuffle_epi8(table, Nibbles(blk->qs));
        const __m256i aw = _mm256_sign_epi8(qw, qw);
        const float dw = Half(blk->d);
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
          const __m256i p = AddDotU8S8(_mm256_setzero_si256(), aw,
                                       _mm256_sign_epi8(qa[c], qw));
          acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * da[c]),
                                      _mm256_cvtepi32_ps(p), acc[r][c]);
        }
      }
    }
    StoreTile<R, C>(acc, y, ys);
  }
};

}  // namespace

float DotQ5_0Q8_0(int64_t n, const void* w, const void* a) {
  return RunDot<KQ5_0>(n, w, a);
}
float DotQ5_1Q8_1(int64_t n, const void* w, const void* a) {
  return RunDot<KQ5_1>(n, w, a);
}
float DotQ4_1Q8_1(int64_t n, const void* w, const void* a) {
  return RunDot<KQ4_1>(n, w, a);
}
float DotQ4_0Q8_0(int64_t n, const void* w, const void* a) {
  return RunDot<KQ4_0>(n, w, a);
}
float DotIQ4_NLQ8_0(int64_t n, const void* w, const void* a) {
  return RunDot<KIQ4_NL>(n, w, a);
}

void TileQ5_0Q8_0(int64_t n, const uint8_t* w, size_t ws, int nr,
                  const uint8_t* a, size_t as, int nc, float* y, size_t ys) {
  RunTile<KQ5_0>(n, w, ws, nr, a, as, nc, y, ys);
}
void TileQ5_1Q8_1(int64_t n, const uint8_t* w, size_t ws, int nr,
                  const uint8_t* a, size_t as, int nc, float* y, size_t ys) {
  RunTile<KQ5_1>(n, w, ws, nr, a, as, nc, y, ys);
}
void TileQ4_1Q8_1(int64_t n, const uint8_t* w, size_t ws, int nr,
                  const uint8_t* a, size_t as, int nc, float* y, size_t ys) {
  RunTile<KQ4_1>(n, w, ws, nr, a, as, nc, y, ys);
}
void TileQ4_0Q8_0(int64_t n, const uint8_t* w, size_t ws, int nr,
                  const uint8_t* a, size_t as, int nc, float* y, size_t ys) {
  RunTile<KQ4_0>(n, w, ws, nr, a, as, nc, y, ys);
}
void TileIQ4_NLQ8_0(int64_t n, const uint8_t* w, size_t ws, int nr,
                    const uint8_t* a, size_t as, int nc, float* y, size_t ys) {
  RunTile<KIQ4_NL>(n, w, ws, nr, a, as, nc, y, ys);
}

}  // namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE

#endif  // GGUFD_RUNTIME_TENSOR_DOT256_LEGACY_IMPL_H_
