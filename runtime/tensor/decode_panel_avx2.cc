// The decode-panel kernel of q4_0 at AVX2 (compiled with -mavx2 -mfma
// -mf16c; reached only after CPU detection), in the repacked order llama.cpp
// gives q4_0 on these CPUs (its q4_0_8x8 gemv, panel_avx2.cc's order): per
// row, for each block in order,
//   acc = fma(d_w * d_a, float(isum), acc)
// with isum the block's exact integer sum of (q - 8) * a.
//
// The file layout's kernel (panel_avx2.cc) gathers eight rows' scales and
// widens each row's 16 packed bytes on its own; here a 256-bit load holds
// two rows' packed bytes side by side (decode_panels.h: vector j of a block
// holds rows 4j..4j+3, 16 bytes each), each 128-bit lane meets the token's
// values 0-15 (low nibbles) and 16-31 (high nibbles) broadcast to both
// lanes, and the 16 rows' scales are one load of halves.
//
// As in dot_avx2.cc, nothing here calls an inline function shared with other
// translation units (byte_sums_impl.h gives this one its own copies).
#define GGUFD_SIMD_NAMESPACE avx2
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/byte_sums_impl.h"
#include "runtime/tensor/decode_panels.h"
#include "runtime/tensor/simd_kernels.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor::avx2 {
namespace {

static_assert(kPanelRows == 16);
constexpr size_t kQuantBytes = 256;  // a q4_0 block's quants in a panel
constexpr int kOffset = 8;
// How far ahead the panel stream is prefetched (as the AVX-512 kernels do).
constexpr size_t kPrefetchBytes = 4096;

// Rows 0-7 of the 8 partial-sum vectors p (p[i]: row 2i in the low 128-bit
// lane, 4 partials; row 2i + 1 in the high one) summed, rows in order.
inline __m256i RowSums(__m256i p0, __m256i p1, __m256i p2, __m256i p3) {
  // Lanes: rows (0, 2, 4, 6 | 1, 3, 5, 7).
  const __m256i s =
      _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_hadd_epi32(p2, p3));
  return _mm256_permutevar8x32_epi32(s,
                                     _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Lanes [0, n) of 8 set.
inline __m256i LaneMask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <int T>
void RunWhole(int64_t n, const uint8_t* panel, int n_rows, const uint8_t* a,
              size_t as, float* y, size_t ys) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[T][2];
  for (int t = 0; t < T; ++t) {
    acc[t][0] = _mm256_setzero_ps();
    acc[t][1] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < n / kQK; ++b) {
    const uint8_t* q = panel + PairedQuantsAt(b, kQuantBytes);
    const uint8_t* d = panel + PairedScalesAt(b, kQuantBytes);
    // The block's quants and the line after them (the pair's scales after
    // an odd block).
    for (size_t off = 0; off <= kQuantBytes; off += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(q + kPrefetchBytes + off),
                   _MM_HINT_T0);
    }
    __m256i lo[8], hi[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      const __m256i v =
          _mm256_load_si256(reinterpret_cast<const __m256i*>(q + 32 * i));
      lo[i] = _mm256_and_si256(v, low4);
      hi[i] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    }
    const __m256 dw[2] = {
        _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(d))),
        _mm256_cvtph_ps(
            _mm_load_si128(reinterpret_cast<const __m128i*>(d + 16)))};
#pragma GCC unroll 2
    for (int t = 0; t < T; ++t) {
      const BlockQ8_0* ab =
          reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t) * as) +
          b;
      const __m256i a_lo = _mm256_broadcastsi128_si256(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(ab->qs)));
      const __m256i a_hi = _mm256_broadcastsi128_si256(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(ab->qs + 16)));
      // Each int16 pair sum is at most 2 x 2 x 15 x 128, far from 2^15.
      __m256i p[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        p[i] = _mm256_madd_epi16(
            _mm256_add_epi16(_mm256_maddubs_epi16(lo[i], a_lo),
                             _mm256_maddubs_epi16(hi[i], a_hi)),
            ones);
      }
      const __m256i offset = _mm256_set1_epi32(-kOffset * SumBytes(ab->qs));
      const __m256 da = _mm256_set1_ps(_cvtsh_ss(ab->d));
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const __m256i isum = _mm256_add_epi32(
            RowSums(p[4 * h], p[4 * h + 1], p[4 * h + 2], p[4 * h + 3]),
            offset);
        acc[t][h] = _mm256_fmadd_ps(_mm256_mul_ps(dw[h], da),
                                    _mm256_cvtepi32_ps(isum), acc[t][h]);
      }
    }
  }
  for (int h = 0; h < 2 && 8 * h < n_rows; ++h) {
    const __m256i mask = LaneMask(n_rows - 8 * h);
    for (int t = 0; t < T; ++t) {
      _mm256_maskstore_ps(y + static_cast<size_t>(t) * ys + 8 * h, mask,
                          acc[t][h]);
    }
  }
}

}  // namespace

void DecodeQ4_0Q8_0Whole(int64_t n, const uint8_t* panel, int n_rows,
                         const uint8_t* a, size_t as, int n_tokens, float* y,
                         size_t ys) {
  for (int t = 0; t < n_tokens; t += 2) {
    const uint8_t* at = a + static_cast<size_t>(t) * as;
    float* yt = y + static_cast<size_t>(t) * ys;
    if (n_tokens - t >= 2) {
      RunWhole<2>(n, panel, n_rows, at, as, yt, ys);
    } else {
      RunWhole<1>(n, panel, n_rows, at, as, yt, ys);
    }
  }
}

}  // namespace ggufd::tensor::avx2
