// The decode-panel kernels of q4_0 and q8_0 at AVX2 (compiled with -mavx2 -mfma
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

#include <algorithm>
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
constexpr size_t kQ4QuantBytes = 256;  // a q4_0 block's quants in a panel
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
    const uint8_t* q = panel + PairedQuantsAt(b, kQ4QuantBytes);
    const uint8_t* d = panel + PairedScalesAt(b, kQ4QuantBytes);
    // The block's quants and the line after them (the pair's scales after
    // an odd block).
    for (size_t off = 0; off <= kQ4QuantBytes; off += 64) {
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

// q8_0 in vec_dot's order (dot_avx2.cc's KQ8_0): lane g of a row's
// accumulator takes values 4g..4g+3 of each block, fma(d_w * d_a, their
// sum, lane), and the lanes are summed as ((l0 + l4) + (l2 + l6)) + ((l1 +
// l5) + (l3 + l7)). In the panel, vector k of a block holds values
// 4k..4k+3 of every row (rows 0-7 in its low 256 bits), so lane g of a row
// is accumulator k = g of 8 rows side by side, and 8 accumulators serve 8
// rows: the panel's halves take turns over short runs of blocks, the second
// reading them again from L1.
constexpr size_t kQ8QuantBytes = 512;
// Blocks of a panel whose two halves are done before the next ones: 8
// blocks (4.3 KiB) stay in L1 for the second half.
constexpr int64_t kQ8ChunkBlocks = 8;

// Blocks [b0, b1) of one half h of the panel into its 8 accumulators.
inline void RunQ8_0Blocks(const uint8_t* panel, const BlockQ8_0* ab, int64_t b0,
                          int64_t b1, int h, __m256 (&acc)[8]) {
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = b0; b < b1; ++b) {
    const uint8_t* q = panel + PairedQuantsAt(b, kQ8QuantBytes);
    const uint8_t* d = panel + PairedScalesAt(b, kQ8QuantBytes);
    if (h == 0) {
      for (size_t off = 0; off <= kQ8QuantBytes; off += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(q + kPrefetchBytes + off),
                     _MM_HINT_T0);
      }
    }
    const __m256 scale = _mm256_mul_ps(
        _mm256_cvtph_ps(
            _mm_load_si128(reinterpret_cast<const __m128i*>(d + 16 * h))),
        _mm256_set1_ps(_cvtsh_ss(ab[b].d)));
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      // Stored biased (+128, for vpdpbusd); |w| times sign-transferred a,
      // as ggml's vec_dot does without VNNI.
      const __m256i w = _mm256_xor_si256(
          _mm256_load_si256(
              reinterpret_cast<const __m256i*>(q + 64 * k + 32 * h)),
          bias);
      const __m256i ak = _mm256_set1_epi32(Dword(ab[b].qs + 4 * k));
      const __m256i p = _mm256_madd_epi16(
          _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(ak, w)),
          ones);
      acc[k] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(p), acc[k]);
    }
  }
}

void RunQ8_0(int64_t n, const uint8_t* panel, int n_rows, const uint8_t* a,
             float* y) {
  const BlockQ8_0* ab = reinterpret_cast<const BlockQ8_0*>(a);
  const int halves = n_rows > 8 ? 2 : 1;
  __m256 acc[2][8];
  for (auto& half : acc) {
    for (__m256& v : half) v = _mm256_setzero_ps();
  }
  const int64_t nb = n / kQK;
  for (int64_t b0 = 0; b0 < nb; b0 += kQ8ChunkBlocks) {
    const int64_t b1 = std::min(nb, b0 + kQ8ChunkBlocks);
    for (int h = 0; h < halves; ++h)
      RunQ8_0Blocks(panel, ab, b0, b1, h, acc[h]);
  }
  for (int h = 0; h < halves; ++h) {
    const __m256* l = acc[h];
    const __m256 total = _mm256_add_ps(
        _mm256_add_ps(_mm256_add_ps(l[0], l[4]), _mm256_add_ps(l[2], l[6])),
        _mm256_add_ps(_mm256_add_ps(l[1], l[5]), _mm256_add_ps(l[3], l[7])));
    _mm256_maskstore_ps(y + 8 * h, LaneMask(n_rows - 8 * h), total);
  }
}

}  // namespace

void DecodeQ8_0Q8_0(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t as, int n_tokens, float* y,
                    size_t ys) {
  for (int t = 0; t < n_tokens; ++t) {
    RunQ8_0(n, panel, n_rows, a + static_cast<size_t>(t) * as,
            y + static_cast<size_t>(t) * ys);
  }
}

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
