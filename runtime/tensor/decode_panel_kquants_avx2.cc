// The decode-panel kernels (decode_panels.h) of q4_K at AVX2, in ggml's
// repacked orders (dot256_repacked_impl.h): the scalar DotQ4_KQ8_KGemv
// (spans of 256 values) and DotQ4_KQ8_KGemm (spans of 64). Per span, the
// exact integer sums of scale * (q . a) and of min * bsums are each fused
// into one float accumulator with d_w * d_a or dmin_w * d_a, and an output
// is their difference: decode_panel_avx512_impl.h's arithmetic, 8 rows per
// 256 bits (a 256-bit load is the low or high half of a panel's 64-byte
// vector).
//
// The integer sums are exact whatever their order, so they are formed where
// they cost least: the 8 vpmaddubsw products of a 4-byte column of a chunk
// are summed in int16 (8 x 2 x 15 x 128 < 2^15), and each group's scale
// enters once, through vpmaddwd, per chunk and token. The file layout's
// tiles pay a horizontal sum per output and span instead.
//
// As in dot_avx2.cc, nothing here calls an inline function shared with other
// translation units (the _impl.h headers give this one its own copies).
#define GGUFD_SIMD_NAMESPACE avx2
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/byte_sums_impl.h"
#include "runtime/tensor/decode_panels.h"
#include "runtime/tensor/lanes_avx2_impl.h"
#include "runtime/tensor/simd_kernels.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor::avx2 {
namespace {

static_assert(kPanelRows == 16);

// A q4_K panel block: 32 vectors of quants (vector 8c + k: bytes 4k..4k+3
// of chunk c of each row), the 16 d and 16 dmin as halves, the scales
// [group][row] and the mins [chunk][row][2] as bytes.
constexpr size_t kQ4KBlockBytes = 2368;
constexpr size_t kQ4KDAt = 2048;
constexpr size_t kQ4KDminAt = 2080;
constexpr size_t kQ4KScalesAt = 2112;
constexpr size_t kQ4KMinsAt = 2240;

// The 8 byte scales at p, each in both int16 halves of its row's lane (for
// vpmaddwd against a row's pair of int16 sums).
inline __m256i RowScales16(const uint8_t* p) {
  const __m256i s = _mm256_cvtepu8_epi32(
      _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm256_or_si256(s, _mm256_slli_epi32(s, 16));
}

// Rows 8h..8h+7 of a panel for T tokens.
template <int kSpan, int T>
void RunQ4KHalf(int64_t n, const uint8_t* panel, int h, int n_rows,
                const BlockQ8_K* const* act, float* y, size_t ys) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  __m256 acc[T], acc_min[T];
  for (int t = 0; t < T; ++t) {
    acc[t] = _mm256_setzero_ps();
    acc_min[t] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < n / kQKK; ++b) {
    const uint8_t* blk = panel + static_cast<size_t>(b) * kQ4KBlockBytes;
    if (h == 0) PrefetchAhead(blk, kQ4KBlockBytes);
    const __m256 dw = _mm256_cvtph_ps(_mm_load_si128(
        reinterpret_cast<const __m128i*>(blk + kQ4KDAt + 16 * h)));
    const __m256 dminw = _mm256_cvtph_ps(_mm_load_si128(
        reinterpret_cast<const __m128i*>(blk + kQ4KDminAt + 16 * h)));
    __m256i isum[T], msum[T];
    for (int t = 0; t < T; ++t) {
      isum[t] = _mm256_setzero_si256();
      msum[t] = _mm256_setzero_si256();
    }
    for (int c = 0; c < 4; ++c) {
      __m256i glo[T], ghi[T];
      for (int t = 0; t < T; ++t) {
        glo[t] = _mm256_setzero_si256();
        ghi[t] = _mm256_setzero_si256();
      }
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        const __m256i v = _mm256_load_si256(
            reinterpret_cast<const __m256i*>(blk + 64 * (8 * c + k) + 32 * h));
        const __m256i lo = _mm256_and_si256(v, low4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
          const int8_t* qa = act[t][b].qs + 64 * c + 4 * k;
          glo[t] = _mm256_add_epi16(
              glo[t], _mm256_maddubs_epi16(lo, _mm256_set1_epi32(Dword(qa))));
          ghi[t] = _mm256_add_epi16(
              ghi[t],
              _mm256_maddubs_epi16(hi, _mm256_set1_epi32(Dword(qa + 32))));
        }
      }
      const uint8_t* scales = blk + kQ4KScalesAt + 8 * h;
      const __m256i sc_lo = RowScales16(scales + 16 * (2 * c));
      const __m256i sc_hi = RowScales16(scales + 16 * (2 * c + 1));
      const __m256i mins =
          _mm256_cvtepu8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(
              blk + kQ4KMinsAt + 32 * c + 16 * h)));
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        isum[t] = _mm256_add_epi32(
            isum[t], _mm256_add_epi32(_mm256_madd_epi16(glo[t], sc_lo),
                                      _mm256_madd_epi16(ghi[t], sc_hi)));
        const int16_t* bs = act[t][b].bsums + 4 * c;
        const uint32_t pair =
            static_cast<uint16_t>(bs[0] + bs[1]) |
            static_cast<uint32_t>(static_cast<uint16_t>(bs[2] + bs[3])) << 16;
        msum[t] = _mm256_add_epi32(
            msum[t],
            _mm256_madd_epi16(mins, _mm256_set1_epi32(static_cast<int>(pair))));
        if ((c + 1) * 64 % kSpan != 0) continue;
        const __m256 da = _mm256_set1_ps(act[t][b].d);
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]),
                                 _mm256_mul_ps(dw, da), acc[t]);
        acc_min[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum[t]),
                                     _mm256_mul_ps(dminw, da), acc_min[t]);
        isum[t] = _mm256_setzero_si256();
        msum[t] = _mm256_setzero_si256();
      }
    }
  }
  const __m256i mask = LaneMask(n_rows - 8 * h);
  for (int t = 0; t < T; ++t) {
    _mm256_maskstore_ps(y + static_cast<size_t>(t) * ys + 8 * h, mask,
                        _mm256_sub_ps(acc[t], acc_min[t]));
  }
}

// Tokens kQ4KTokens at a time: their activations meet each weight vector
// while it is in a register.
constexpr int kQ4KTokens = 4;

template <int kSpan, int T>
void RunQ4K(int64_t n, const uint8_t* panel, int n_rows, const uint8_t* a,
            size_t as, float* y, size_t ys) {
  const BlockQ8_K* act[T];
  for (int t = 0; t < T; ++t) {
    act[t] =
        reinterpret_cast<const BlockQ8_K*>(a + static_cast<size_t>(t) * as);
  }
  for (int h = 0; h < (n_rows > 8 ? 2 : 1); ++h) {
    RunQ4KHalf<kSpan, T>(n, panel, h, n_rows, act, y, ys);
  }
}

template <int kSpan>
void DecodeQ4K(int64_t n, const uint8_t* panel, int n_rows, const uint8_t* a,
               size_t as, int n_tokens, float* y, size_t ys) {
  int t = 0;
  for (; t + kQ4KTokens <= n_tokens; t += kQ4KTokens) {
    RunQ4K<kSpan, kQ4KTokens>(n, panel, n_rows, a + static_cast<size_t>(t) * as,
                              as, y + static_cast<size_t>(t) * ys, ys);
  }
  for (; t < n_tokens; ++t) {
    RunQ4K<kSpan, 1>(n, panel, n_rows, a + static_cast<size_t>(t) * as, as,
                     y + static_cast<size_t>(t) * ys, ys);
  }
}

}  // namespace

void DecodeQ4_KQ8_KGemv(int64_t n, const uint8_t* panel, int n_rows,
                        const uint8_t* a, size_t as, int n_tokens, float* y,
                        size_t ys) {
  DecodeQ4K<kQKK>(n, panel, n_rows, a, as, n_tokens, y, ys);
}

void DecodeQ4_KQ8_KGemm(int64_t n, const uint8_t* panel, int n_rows,
                        const uint8_t* a, size_t as, int n_tokens, float* y,
                        size_t ys) {
  DecodeQ4K<64>(n, panel, n_rows, a, as, n_tokens, y, ys);
}

}  // namespace ggufd::tensor::avx2
