// The decode-panel kernels (decode_panels.h) of the K-quants at AVX2.
//
// q4_K in ggml's repacked orders (dot256_repacked_impl.h): the scalar
// DotQ4_KQ8_KGemv (spans of 256 values) and DotQ4_KQ8_KGemm (spans of 64).
// Per span, the exact integer sums of scale * (q . a) and of min * bsums
// are each fused into one float accumulator with d_w * d_a or dmin_w *
// d_a, and an output is their difference: decode_panel_avx512_impl.h's
// arithmetic, 8 rows per 256 bits (a 256-bit load is the low or high half of a
// panel's 64-byte vector).
//
// The integer sums are exact whatever their order, so they are formed where
// they cost least: the 8 vpmaddubsw products of a 4-byte column of a chunk
// are summed in int16 (8 x 2 x 15 x 128 < 2^15), and each group's scale
// enters once, through vpmaddwd, per chunk and token. The file layout's
// tiles pay a horizontal sum per output and span instead.
//
// q6_K in vec_dot's order, decode_panel_avx512_impl.h's RunQ6K read 256
// bits at a time: the same exact int32 lane sums per row and block, each
// fused with d_w * d_a into the row's accumulator of its lane, the 8 lanes
// summed by ggml's hsum.
//
// As in dot_avx2.cc, nothing here calls an inline function shared with other
// translation units (the _impl.h headers give this one its own copies).
#define GGUFD_SIMD_NAMESPACE avx2
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

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

// A q4_K block's share of rows 8h..8h+7 for T tokens.
template <int kSpan, int T>
struct Q4K {
  struct Acc {
    __m256 d[T], dmin[T];
  };
  static void Block(const uint8_t* panel, int64_t b, int h,
                    const BlockQ8_K* const* act, Acc& acc) {
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const uint8_t* blk = panel + static_cast<size_t>(b) * kQ4KBlockBytes;
    PrefetchShare(blk, kQ4KBlockBytes, h, 2);
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
          KeepInRegister(glo[t]);
          KeepInRegister(ghi[t]);
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
        acc.d[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]),
                                   _mm256_mul_ps(dw, da), acc.d[t]);
        acc.dmin[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum[t]),
                                      _mm256_mul_ps(dminw, da), acc.dmin[t]);
        isum[t] = _mm256_setzero_si256();
        msum[t] = _mm256_setzero_si256();
      }
    }
  }
  static __m256 Total(const Acc& acc, int t) {
    return _mm256_sub_ps(acc.d[t], acc.dmin[t]);
  }
};

// A q6_K block of a panel pair (decode_panels.h): 16 units of 3 vectors,
// then the group scales as byte pairs [pair][row].
constexpr size_t kQ6KQuantBytes = 3328;
constexpr size_t kQ6KScalesAt = 3072;
// Its stream runs faster than the 4 KiB of PrefetchAhead cover (as at
// AVX-512): TinyLlama-shaped q6_K 2048 x 5632, 1 thread, 8.4 -> 7.0 ms per
// token with 8 KiB.
constexpr size_t kQ6KPrefetchBytes = 8192;

// The scales of groups 2p, 2p + 1 of rows 8h..8h+7 as int16 pairs, one row
// per 32-bit lane.
inline __m256i Q6KScalePairs(const uint8_t* blk, int p, int h) {
  return _mm256_cvtepi8_epi16(_mm_load_si128(
      reinterpret_cast<const __m128i*>(blk + kQ6KScalesAt + 32 * p + 16 * h)));
}

// A q6_K block's share of rows 8h..8h+7 for T tokens. Lanes k of a row go
// in two halves (half g: k = 4g..4g+3), which share one group scale per
// chunk.
template <int T>
struct Q6K {
  struct Acc {
    __m256 l[T][8];
  };
  static void Block(const uint8_t* panel, int64_t b, int h,
                    const BlockQ8_K* const* act, Acc& acc) {
    const __m256i low6 = _mm256_set1_epi8(0x3f);
    const __m256i top2 = _mm256_set1_epi8(static_cast<char>(0xc0));
    // Byte indices (per 128 bits) copying int16 g of every 32-bit lane into
    // both of its halves.
    const __m256i pick[2] = {
        _mm256_broadcastsi128_si256(
            _mm_setr_epi32(0x01000100, 0x05040504, 0x09080908, 0x0d0c0d0c)),
        _mm256_broadcastsi128_si256(
            _mm_setr_epi32(0x03020302, 0x07060706, 0x0b0a0b0a, 0x0f0e0f0e))};
    const uint8_t* blk = panel + PairedQuantsAt(b, kQ6KQuantBytes);
    PrefetchShare(blk, kQ6KQuantBytes, h, 2, kQ6KPrefetchBytes);
    const __m256 dw =
        _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(
            panel + PairedScalesAt(b, kQ6KQuantBytes) + 16 * h)));
    for (int g = 0; g < 2; ++g) {
      __m256i isum[T][4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const int k = 4 * g + j;
        // -32 * scale, exact in int16 (|scale| <= 128).
        const __m256i offset = _mm256_slli_epi16(
            _mm256_sub_epi16(_mm256_setzero_si256(), Q6KScalePairs(blk, k, h)),
            5);
        for (int t = 0; t < T; ++t) {
          int32_t bsums;
          std::memcpy(&bsums, act[t][b].bsums + 2 * k, 4);
          isum[t][j] = _mm256_madd_epi16(offset, _mm256_set1_epi32(bsums));
        }
      }
      for (int c = 0; c < 8; ++c) {
        const uint8_t* unit = blk + 192 * (8 * g + c) + 32 * h;
        const __m256i x0 =
            _mm256_load_si256(reinterpret_cast<const __m256i*>(unit));
        const __m256i x1 =
            _mm256_load_si256(reinterpret_cast<const __m256i*>(unit + 64));
        const __m256i x2 =
            _mm256_load_si256(reinterpret_cast<const __m256i*>(unit + 128));
        // Lanes j < 3 are the low 6 bits of x_j; lane 3 gathers the top 2
        // bits of x0, x1, x2 into bits 0-1, 2-3, 4-5.
        __m256i top = _mm256_srli_epi16(_mm256_and_si256(x0, top2), 2);
        top = _mm256_srli_epi16(
            _mm256_or_si256(top, _mm256_and_si256(x1, top2)), 2);
        top = _mm256_srli_epi16(
            _mm256_or_si256(top, _mm256_and_si256(x2, top2)), 2);
        const __m256i u[4] = {_mm256_and_si256(x0, low6),
                              _mm256_and_si256(x1, low6),
                              _mm256_and_si256(x2, low6), top};
        const __m256i scale =
            _mm256_shuffle_epi8(Q6KScalePairs(blk, c, h), pick[g]);
        for (int t = 0; t < T; ++t) {
          const int8_t* qa = act[t][b].qs + 32 * c + 16 * g;
#pragma GCC unroll 4
          for (int j = 0; j < 4; ++j) {
            isum[t][j] = _mm256_add_epi32(
                isum[t][j], _mm256_madd_epi16(
                                _mm256_maddubs_epi16(
                                    u[j], _mm256_set1_epi32(Dword(qa + 4 * j))),
                                scale));
          }
        }
      }
      for (int t = 0; t < T; ++t) {
        const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(act[t][b].d));
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
          acc.l[t][4 * g + j] = _mm256_fmadd_ps(
              scale, _mm256_cvtepi32_ps(isum[t][j]), acc.l[t][4 * g + j]);
        }
      }
    }
  }
  static __m256 Total(const Acc& acc, int t) { return HsumLanes(acc.l[t]); }
};

// A panel's products for T tokens: block after block, each block's two
// halves (rows 0-7, 8-15) in turn, the second reading it from L1, so the
// panel is one forward stream. Taking each half over the whole panel in
// turn was slower: TinyLlama-shaped q6_K 2048 x 5632 at 7.0 ms per token
// against 6.2, 1 thread.
template <typename F, int T>
void RunPanel(int64_t n, const uint8_t* panel, int n_rows, const uint8_t* a,
              size_t as, float* y, size_t ys) {
  const BlockQ8_K* act[T];
  for (int t = 0; t < T; ++t) {
    act[t] =
        reinterpret_cast<const BlockQ8_K*>(a + static_cast<size_t>(t) * as);
  }
  const int halves = n_rows > 8 ? 2 : 1;
  typename F::Acc acc[2] = {};
  for (int64_t b = 0; b < n / kQKK; ++b) {
    for (int h = 0; h < halves; ++h) F::Block(panel, b, h, act, acc[h]);
  }
  for (int h = 0; h < halves; ++h) {
    const __m256i mask = LaneMask(n_rows - 8 * h);
    for (int t = 0; t < T; ++t) {
      _mm256_maskstore_ps(y + static_cast<size_t>(t) * ys + 8 * h, mask,
                          F::Total(acc[h], t));
    }
  }
}

// Tokens kTokens at a time (their activations meet each weight vector while
// it is in a register), the rest one by one.
template <template <int> class F, int kTokens>
void DecodeByTokens(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t as, int n_tokens, float* y,
                    size_t ys) {
  int t = 0;
  for (; t + kTokens <= n_tokens; t += kTokens) {
    RunPanel<F<kTokens>, kTokens>(n, panel, n_rows,
                                  a + static_cast<size_t>(t) * as, as,
                                  y + static_cast<size_t>(t) * ys, ys);
  }
  for (; t < n_tokens; ++t) {
    RunPanel<F<1>, 1>(n, panel, n_rows, a + static_cast<size_t>(t) * as, as,
                      y + static_cast<size_t>(t) * ys, ys);
  }
}

template <int T>
using Q4KGemv = Q4K<kQKK, T>;
template <int T>
using Q4KGemm = Q4K<64, T>;

}  // namespace

void DecodeQ4_KQ8_KGemv(int64_t n, const uint8_t* panel, int n_rows,
                        const uint8_t* a, size_t as, int n_tokens, float* y,
                        size_t ys) {
  DecodeByTokens<Q4KGemv, 4>(n, panel, n_rows, a, as, n_tokens, y, ys);
}

void DecodeQ4_KQ8_KGemm(int64_t n, const uint8_t* panel, int n_rows,
                        const uint8_t* a, size_t as, int n_tokens, float* y,
                        size_t ys) {
  DecodeByTokens<Q4KGemm, 4>(n, panel, n_rows, a, as, n_tokens, y, ys);
}

void DecodeQ6_KQ8_K(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t as, int n_tokens, float* y,
                    size_t ys) {
  DecodeByTokens<Q6K, 2>(n, panel, n_rows, a, as, n_tokens, y, ys);
}

}  // namespace ggufd::tensor::avx2
