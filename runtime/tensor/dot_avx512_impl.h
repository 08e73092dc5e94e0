// AVX-512 (F/BW/VL/DQ) float kernels, and q8_0 without VNNI, compiled twice:
// by dot_avx512.cc and, with -mavx512vnni, by dot_avx512_vnni.cc. The
// including file defines GGUFD_AVX512_NAMESPACE. (q4_0, q4_1 and, with
// VNNI, q8_0 use the row-panel kernels of panel_avx512_impl.h; the other
// quantized types the 256-bit kernels of dot256_*_impl.h.)
//
// q8_0 is processed two blocks per 512-bit register, in natural order; an
// odd last block is paired with an all-zero one.
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

// acc + the sums of 4 adjacent products of unsigned u and signed s; needs
// the pairs' sums of products below 2^15 (|u|, |s| <= 128).
inline __m512i DotU8S8(__m512i acc, __m512i u, __m512i s) {
  return _mm512_add_epi32(
      acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1)));
}

inline float Half(uint16_t h) { return _cvtsh_ss(h); }

template <typename Block>
inline const Block* BlockAt(const uint8_t* row, size_t stride, int i,
                            int64_t b) {
  return reinterpret_cast<const Block*>(row + static_cast<size_t>(i) * stride) +
         b;
}

// {x0 in lanes 0-7, x1 in lanes 8-15}: blocks kept in natural order.
inline __m512 SpreadHalves(float x0, float x1) {
  return _mm512_insertf32x8(_mm512_zextps256_ps512(_mm256_set1_ps(x0)),
                            _mm256_set1_ps(x1), 1);
}

// Two 32-byte quant arrays (q1 may be null: zeros), natural order.
inline __m512i Bytes(const int8_t* q0, const int8_t* q1) {
  const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q0));
  const __m256i v1 =
      q1 != nullptr ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q1))
                    : _mm256_setzero_si256();
  return _mm512_inserti64x4(_mm512_zextsi256_si512(v0), v1, 1);
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

#if !defined(__AVX512VNNI__)
// q8_0 x q8_0 without VNNI (with it, panel_avx512_impl.h handles q8_0):
// blocks in natural order, |w| times sign-transferred a.
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
    const int64_t nb = n / kQK;
    for (int64_t b = 0; b < nb; b += 2) {
      const bool pair = b + 1 < nb;
      __m512i qa[C];
      __m512 da[C];
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) {
        const BlockQ8_0* blk = BlockAt<BlockQ8_0>(a, as, c, b);
        qa[c] = Bytes(blk[0].qs, pair ? blk[1].qs : nullptr);
        da[c] = SpreadHalves(Half(blk[0].d), pair ? Half(blk[1].d) : 0);
      }
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const BlockQ8_0* blk = BlockAt<BlockQ8_0>(w, ws, r, b);
        const __m512i qw = Bytes(blk[0].qs, pair ? blk[1].qs : nullptr);
        const __m512 dw =
            SpreadHalves(Half(blk[0].d), pair ? Half(blk[1].d) : 0);
        const __m512i uw = _mm512_abs_epi8(qw);
        const __mmask64 negative = _mm512_movepi8_mask(qw);
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
          const __m512i sa = _mm512_mask_sub_epi8(
              qa[c], negative, _mm512_setzero_si512(), qa[c]);
          const __m512i p = DotU8S8(_mm512_setzero_si512(), uw, sa);
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
#endif

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
#if !defined(__AVX512VNNI__)
float DotQ8_0Q8_0(int64_t n, const void* w, const void* a) {
  return RunDot<KQ8_0>(n, w, a);
}
void TileQ8_0Q8_0(int64_t n, const uint8_t* w, size_t ws, int nr,
                  const uint8_t* a, size_t as, int nc, float* y, size_t ys) {
  RunTile<KQ8_0>(n, w, ws, nr, a, as, nc, y, ys);
}
#endif

}  // namespace ggufd::tensor::GGUFD_AVX512_NAMESPACE
