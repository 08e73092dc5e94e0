// AVX-512 (F/BW/VL/DQ) kernels, compiled twice: by dot_avx512.cc and, with
// -mavx512vnni, by dot_avx512_vnni.cc, which use vpdpbusd for the integer
// dot products. The including file defines GGUFD_AVX512_NAMESPACE.
//
// The 32-value block formats are processed two blocks per 512-bit register.
// For 4-bit weights the two blocks' nibbles are laid out as
//   [block0 values 0..15 | block1 0..15 | block0 16..31 | block1 16..31]
// (cheap to unpack) and the activations are permuted the same way once per
// block pair, shared by all weight rows of the tile. The int32 lanes of a
// dot product then hold block 0 in lanes 0-3 and 8-11, block 1 in 4-7 and
// 12-15, and the scales are spread in that pattern. An odd last block is
// paired with an all-zero one.
//
// As in dot_avx2.cc, nothing here calls an inline function shared with other
// translation units.
#ifndef GGUFD_AVX512_NAMESPACE
#error "define GGUFD_AVX512_NAMESPACE before including dot_avx512_impl.h"
#endif

#include <immintrin.h>

// GCC 12 reports the deliberately undefined pass-through operands inside
// its own AVX-512 intrinsics (_mm512_reduce_add_ps, _mm512_cvtph_ps) as
// uninitialized once they are inlined at -O3.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstddef>
#include <cstdint>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/simd_kernels.h"
#include "runtime/tensor/simd_tile.h"

namespace ggufd::tensor::GGUFD_AVX512_NAMESPACE {
namespace {

#if defined(__AVX512VNNI__)
// Adds to acc the sums of 4 adjacent products of unsigned u and signed s.
inline __m512i DotU8S8(__m512i acc, __m512i u, __m512i s) {
  return _mm512_dpbusd_epi32(acc, u, s);
}
#else
// Needs the pairs' sums of products below 2^15 (u <= 15, or |u|, |s| <= 128).
inline __m512i DotU8S8(__m512i acc, __m512i u, __m512i s) {
  return _mm512_add_epi32(
      acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1)));
}
#endif

inline float Half(uint16_t h) { return _cvtsh_ss(h); }

template <typename Block>
inline const Block* BlockAt(const uint8_t* row, size_t stride, int i,
                            int64_t b) {
  return reinterpret_cast<const Block*>(row + static_cast<size_t>(i) * stride) +
         b;
}

// {x0 in lanes 0-3 and 8-11, x1 in lanes 4-7 and 12-15}: the 4-bit layout.
inline __m512 SpreadNibbleLayout(float x0, float x1) {
  const __m512i idx =
      _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1);
  return _mm512_permutexvar_ps(idx, _mm512_zextps128_ps512(_mm_unpacklo_ps(
                                        _mm_set_ss(x0), _mm_set_ss(x1))));
}

// {x0 in lanes 0-7, x1 in lanes 8-15}: blocks kept in natural order.
inline __m512 SpreadHalves(float x0, float x1) {
  return _mm512_insertf32x8(_mm512_zextps256_ps512(_mm256_set1_ps(x0)),
                            _mm256_set1_ps(x1), 1);
}

// Packed nibbles of two q4 blocks (qs1 may be null: an all-zero block) in the
// 4-bit layout, as bytes 0..15.
inline __m512i Nibbles(const uint8_t* qs0, const uint8_t* qs1) {
  const __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs0));
  const __m128i v1 =
      qs1 != nullptr ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs1))
                     : _mm_setzero_si128();
  const __m256i both =
      _mm256_inserti128_si256(_mm256_zextsi128_si256(v0), v1, 1);
  const __m512i z = _mm512_inserti64x4(_mm512_zextsi256_si512(both),
                                       _mm256_srli_epi16(both, 4), 1);
  return _mm512_and_si512(z, _mm512_set1_epi8(0x0f));
}

// Two 32-byte quant arrays (q1 may be null: zeros), natural order.
inline __m512i Bytes(const int8_t* q0, const int8_t* q1) {
  const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q0));
  const __m256i v1 =
      q1 != nullptr ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q1))
                    : _mm256_setzero_si256();
  return _mm512_inserti64x4(_mm512_zextsi256_si512(v0), v1, 1);
}

// The same, permuted into the 4-bit layout.
inline __m512i BytesNibbleLayout(const int8_t* q0, const int8_t* q1) {
  const __m512i idx = _mm512_setr_epi64(0, 1, 4, 5, 2, 3, 6, 7);
  return _mm512_permutexvar_epi64(idx, Bytes(q0, q1));
}

// Float kernels: 16 lanes per step, the tail through masked loads.
// Format::Load(p, mask) gives the floats at p in the mask's lanes, zeros
// elsewhere.
template <typename Format>
struct FloatKernel {
  using Elem = typename Format::Elem;
  template <int R, int C>
  struct K {
    static constexpr int kMaxRows = 4;
    static constexpr int kMaxCols = 4;
    static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* a,
                    size_t as, float* y, size_t ys) {
      const Elem* wr[R];
      const Elem* ac[C];
      for (int r = 0; r < R; ++r) {
        wr[r] = reinterpret_cast<const Elem*>(w + static_cast<size_t>(r) * ws);
      }
      for (int c = 0; c < C; ++c) {
        ac[c] = reinterpret_cast<const Elem*>(a + static_cast<size_t>(c) * as);
      }
      __m512 acc[R][C];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
      }
      for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 mask =
            n - i >= 16 ? __mmask16{0xffff}
                        : static_cast<__mmask16>((1u << (n - i)) - 1);
        __m512 av[C];
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) av[c] = Format::Load(ac[c] + i, mask);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const __m512 wv = Format::Load(wr[r] + i, mask);
#pragma GCC unroll 4
          for (int c = 0; c < C; ++c) {
            acc[r][c] = _mm512_fmadd_ps(wv, av[c], acc[r][c]);
          }
        }
      }
      for (int r = 0; r < R; ++r) {
        for (int c = 0; c < C; ++c) {
          y[static_cast<size_t>(c) * ys + r] = _mm512_reduce_add_ps(acc[r][c]);
        }
      }
    }
  };
};

struct F32 {
  using Elem = float;
  static __m512 Load(const float* p, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, p);
  }
};
struct F16 {
  using Elem = uint16_t;
  static __m512 Load(const uint16_t* p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
  }
};
struct BF16 {
  using Elem = uint16_t;
  static __m512 Load(const uint16_t* p, __mmask16 m) {
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  }
};

template <int R, int C>
using KF32 = FloatKernel<F32>::K<R, C>;
template <int R, int C>
using KF16 = FloatKernel<F16>::K<R, C>;
template <int R, int C>
using KBF16 = FloatKernel<BF16>::K<R, C>;

// q4_0 x q8_0: unsigned nibbles, with the -8 offset applied as an initial
// accumulator of -8 * sum(q8) per lane, computed once per activation block
// pair and shared by all rows.
template <int R, int C>
struct KQ4_0 {
  static constexpr int kMaxRows = 4;
  static constexpr int kMaxCols = 4;
  static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* a,
                  size_t as, float* y, size_t ys) {
    __m512 acc[R][C];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    }
    const __m512i eight = _mm512_set1_epi8(8);
    const int64_t nb = n / kQK;
    for (int64_t b = 0; b < nb; b += 2) {
      const bool pair = b + 1 < nb;
      __m512i qa[C], offset[C];
      __m512 da[C];
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) {
        const BlockQ8_0* blk = BlockAt<BlockQ8_0>(a, as, c, b);
        qa[c] = BytesNibbleLayout(blk[0].qs, pair ? blk[1].qs : nullptr);
        offset[c] =
            _mm512_sub_epi32(_mm512_setzero_si512(),
                             DotU8S8(_mm512_setzero_si512(), eight, qa[c]));
        da[c] = SpreadNibbleLayout(Half(blk[0].d), pair ? Half(blk[1].d) : 0);
      }
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const BlockQ4_0* blk = BlockAt<BlockQ4_0>(w, ws, r, b);
        const __m512i qw = Nibbles(blk[0].qs, pair ? blk[1].qs : nullptr);
        const __m512 dw =
            SpreadNibbleLayout(Half(blk[0].d), pair ? Half(blk[1].d) : 0);
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
          const __m512i p = DotU8S8(offset[c], qw, qa[c]);
          acc[r][c] = _mm512_fmadd_ps(_mm512_mul_ps(dw, da[c]),
                                      _mm512_cvtepi32_ps(p), acc[r][c]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) {
        y[static_cast<size_t>(c) * ys + r] = _mm512_reduce_add_ps(acc[r][c]);
      }
    }
  }
};

// q4_1 x q8_1: d_w * d_a * sum(q4 * q8) + m_w * s_a per block; the m * s
// terms ride in lanes 0 and 4 of the same accumulator.
template <int R, int C>
struct KQ4_1 {
  static constexpr int kMaxRows = 4;
  static constexpr int kMaxCols = 4;
  static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* a,
                  size_t as, float* y, size_t ys) {
    __m512 acc[R][C];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    }
    const int64_t nb = n / kQK;
    for (int64_t b = 0; b < nb; b += 2) {
      const bool pair = b + 1 < nb;
      __m512i qa[C];
      __m512 da[C], sa[C];
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) {
        const BlockQ8_1* blk = BlockAt<BlockQ8_1>(a, as, c, b);
        qa[c] = BytesNibbleLayout(blk[0].qs, pair ? blk[1].qs : nullptr);
        da[c] = SpreadNibbleLayout(Half(blk[0].d), pair ? Half(blk[1].d) : 0);
        sa[c] = SpreadNibbleLayout(Half(blk[0].s), pair ? Half(blk[1].s) : 0);
      }
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const BlockQ4_1* blk = BlockAt<BlockQ4_1>(w, ws, r, b);
        const __m512i qw = Nibbles(blk[0].qs, pair ? blk[1].qs : nullptr);
        const __m512 dw =
            SpreadNibbleLayout(Half(blk[0].d), pair ? Half(blk[1].d) : 0);
        // m0 in lane 0, m1 in lane 4, zeros elsewhere.
        const __m512 mw = _mm512_maskz_mov_ps(
            0x0011,
            SpreadNibbleLayout(Half(blk[0].m), pair ? Half(blk[1].m) : 0));
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
          const __m512i p = DotU8S8(_mm512_setzero_si512(), qw, qa[c]);
          acc[r][c] = _mm512_fmadd_ps(_mm512_mul_ps(dw, da[c]),
                                      _mm512_cvtepi32_ps(p), acc[r][c]);
          acc[r][c] = _mm512_fmadd_ps(mw, sa[c], acc[r][c]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) {
        y[static_cast<size_t>(c) * ys + r] = _mm512_reduce_add_ps(acc[r][c]);
      }
    }
  }
};

// q8_0 x q8_0, blocks in natural order. With VNNI the weights are biased to
// unsigned (w + 128) and the bias removed through an initial accumulator of
// -128 * sum(a); without it, |w| times sign-transferred a.
template <int R, int C>
struct KQ8_0 {
  static constexpr int kMaxRows = 4;
  static constexpr int kMaxCols = 4;
  static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* a,
                  size_t as, float* y, size_t ys) {
    __m512 acc[R][C];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    }
#if defined(__AVX512VNNI__)
    const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
#endif
    const int64_t nb = n / kQK;
    for (int64_t b = 0; b < nb; b += 2) {
      const bool pair = b + 1 < nb;
      __m512i qa[C];
      __m512 da[C];
#if defined(__AVX512VNNI__)
      __m512i offset[C];
#endif
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) {
        const BlockQ8_0* blk = BlockAt<BlockQ8_0>(a, as, c, b);
        qa[c] = Bytes(blk[0].qs, pair ? blk[1].qs : nullptr);
        da[c] = SpreadHalves(Half(blk[0].d), pair ? Half(blk[1].d) : 0);
#if defined(__AVX512VNNI__)
        offset[c] =
            _mm512_sub_epi32(_mm512_setzero_si512(),
                             DotU8S8(_mm512_setzero_si512(), bias, qa[c]));
#endif
      }
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const BlockQ8_0* blk = BlockAt<BlockQ8_0>(w, ws, r, b);
        const __m512i qw = Bytes(blk[0].qs, pair ? blk[1].qs : nullptr);
        const __m512 dw =
            SpreadHalves(Half(blk[0].d), pair ? Half(blk[1].d) : 0);
#if defined(__AVX512VNNI__)
        const __m512i uw = _mm512_xor_si512(qw, bias);
#else
        const __m512i uw = _mm512_abs_epi8(qw);
        const __mmask64 negative = _mm512_movepi8_mask(qw);
#endif
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
#if defined(__AVX512VNNI__)
          const __m512i p = DotU8S8(offset[c], uw, qa[c]);
#else
          const __m512i sa = _mm512_mask_sub_epi8(
              qa[c], negative, _mm512_setzero_si512(), qa[c]);
          const __m512i p = DotU8S8(_mm512_setzero_si512(), uw, sa);
#endif
          acc[r][c] = _mm512_fmadd_ps(_mm512_mul_ps(dw, da[c]),
                                      _mm512_cvtepi32_ps(p), acc[r][c]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) {
        y[static_cast<size_t>(c) * ys + r] = _mm512_reduce_add_ps(acc[r][c]);
      }
    }
  }
};

}  // namespace

float DotF32(int64_t n, const void* w, const void* a) {
  return RunDot<KF32>(n, w, a);
}
float DotF16(int64_t n, const void* w, const void* a) {
  return RunDot<KF16>(n, w, a);
}
float DotBF16(int64_t n, const void* w, const void* a) {
  return RunDot<KBF16>(n, w, a);
}
float DotQ4_0Q8_0(int64_t n, const void* w, const void* a) {
  return RunDot<KQ4_0>(n, w, a);
}
float DotQ4_1Q8_1(int64_t n, const void* w, const void* a) {
  return RunDot<KQ4_1>(n, w, a);
}
float DotQ8_0Q8_0(int64_t n, const void* w, const void* a) {
  return RunDot<KQ8_0>(n, w, a);
}

void TileF32(int64_t n, const uint8_t* w, size_t ws, int nr, const uint8_t* a,
             size_t as, int nc, float* y, size_t ys) {
  RunTile<KF32>(n, w, ws, nr, a, as, nc, y, ys);
}
void TileF16(int64_t n, const uint8_t* w, size_t ws, int nr, const uint8_t* a,
             size_t as, int nc, float* y, size_t ys) {
  RunTile<KF16>(n, w, ws, nr, a, as, nc, y, ys);
}
void TileBF16(int64_t n, const uint8_t* w, size_t ws, int nr, const uint8_t* a,
              size_t as, int nc, float* y, size_t ys) {
  RunTile<KBF16>(n, w, ws, nr, a, as, nc, y, ys);
}
void TileQ4_0Q8_0(int64_t n, const uint8_t* w, size_t ws, int nr,
                  const uint8_t* a, size_t as, int nc, float* y, size_t ys) {
  RunTile<KQ4_0>(n, w, ws, nr, a, as, nc, y, ys);
}
void TileQ4_1Q8_1(int64_t n, const uint8_t* w, size_t ws, int nr,
                  const uint8_t* a, size_t as, int nc, float* y, size_t ys) {
  RunTile<KQ4_1>(n, w, ws, nr, a, as, nc, y, ys);
}
void TileQ8_0Q8_0(int64_t n, const uint8_t* w, size_t ws, int nr,
                  const uint8_t* a, size_t as, int nc, float* y, size_t ys) {
  RunTile<KQ8_0>(n, w, ws, nr, a, as, nc, y, ys);
}

}  // namespace ggufd::tensor::GGUFD_AVX512_NAMESPACE
