// Row-panel kernels for q4_0 at AVX2 (compiled with -mavx2 -mfma -mf16c;
// reached only after CPU detection). (q4_1 takes dot256_legacy_impl.h's
// tiles: its reference order keeps 8 lanes per output, which a panel's
// rows-in-lanes cannot.) The scheme is
// panel_avx512_impl.h's with 8 rows per vector: a panel of 16 rows is two
// halves of 8 lanes. Without vpdpbusd the 8 vpmaddubsw products of a block
// are summed in int16 (8 x 2 x 15 x 128 < 2^15) and widened once.
//
// Per output the arithmetic is the AVX-512 panels' (and the repacked order
// llama.cpp gives q4_0 on these CPUs): for each block in order,
//   acc = fma(d_w * d_a, float(isum), acc)
// so one token, a 1 x 1 dot and any tiling or thread split agree bit for
// bit.
//
// As in dot_avx2.cc, nothing here calls an inline function shared with other
// translation units (byte_sums_impl.h gives this one its own copies).
#define GGUFD_SIMD_NAMESPACE avx2
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/byte_sums_impl.h"
#include "runtime/tensor/lanes_avx2_impl.h"
#include "runtime/tensor/simd_kernels.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor::avx2 {
namespace {

static_assert(kPanelRows == 16);
constexpr int kLanes = 8;
constexpr int kChunkBlocks = 32;  // 20 KiB of panel: stays in L1
constexpr int kPassTokens = 4;

struct Panel {
  // [block][half][k][row][4 values]
  alignas(32) uint8_t q[kChunkBlocks][2][8][32];
  alignas(32) float d[kChunkBlocks][kPanelRows];
};

inline float Half(uint16_t h) { return _cvtsh_ss(h); }

struct Q4_0Format {
  using WBlock = BlockQ4_0;
  using ABlock = BlockQ8_0;
  static constexpr int kOffset = 8;
};

// The first half float (d) of block b of 8 rows whose byte offsets from w
// are `offsets`, as floats.
template <typename F>
inline void GatherScales(const uint8_t* w, __m256i offsets, int64_t b,
                         __m256* d) {
  const __m256i g = _mm256_i32gather_epi32(
      reinterpret_cast<const int*>(
          reinterpret_cast<const typename F::WBlock*>(w) + b),
      offsets, 1);
  const __m256i mask = _mm256_set1_epi32(0xffff);
  // Packs the 16-bit halves of each lane into 8 consecutive halves.
  auto pack = [](__m256i v) {
    const __m256i p = _mm256_packus_epi32(v, v);  // per 128-bit lane
    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(p, 0x08));
  };
  *d = _mm256_cvtph_ps(pack(_mm256_and_si256(g, mask)));
}

inline __m256i RowOffsets(size_t ws, int n_rows, int first_row) {
  const __m256i r = _mm256_min_epi32(
      _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                       _mm256_set1_epi32(first_row)),
      _mm256_set1_epi32(n_rows - 1));
  return _mm256_mullo_epi32(r, _mm256_set1_epi32(static_cast<int>(ws)));
}

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

template <typename F>
void Pack(const uint8_t* w, size_t ws, int n_rows, int64_t b0, int n_blocks,
          Panel& p) {
  using WBlock = typename F::WBlock;
  const __m128i low4 = _mm_set1_epi8(0x0f);
  for (int g = 0; g < kPanelRows / 4; ++g) {
    const int half = g / 2, at = 16 * (g % 2);
    const WBlock* rows[4];
    for (int i = 0; i < 4; ++i) {
      const int r = std::min(4 * g + i, n_rows - 1);
      rows[i] =
          reinterpret_cast<const WBlock*>(w + static_cast<size_t>(r) * ws) + b0;
    }
    for (int b = 0; b < n_blocks; ++b) {
      __m128i x[4], t[4];
      for (int i = 0; i < 4; ++i) {
        x[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[i][b].qs));
      }
      Transpose4(x, t);
      for (int k = 0; k < 4; ++k) {
        _mm_store_si128(reinterpret_cast<__m128i*>(&p.q[b][half][k][at]),
                        _mm_and_si128(t[k], low4));
        _mm_store_si128(reinterpret_cast<__m128i*>(&p.q[b][half][k + 4][at]),
                        _mm_and_si128(_mm_srli_epi16(t[k], 4), low4));
      }
    }
  }
  for (int half = 0; half < 2; ++half) {
    const __m256i offsets = RowOffsets(ws, n_rows, kLanes * half);
    for (int b = 0; b < n_blocks; ++b) {
      __m256 d;
      GatherScales<F>(w, offsets, b0 + b, &d);
      _mm256_store_ps(&p.d[b][kLanes * half], d);
    }
  }
}

// Accumulates one half (8 rows) of a packed chunk into T tokens' outputs.
template <typename F, int T>
void RunChunk(const Panel& p, int half, int n_blocks, int64_t b0,
              const uint8_t* a, size_t as, const PanelActBlock* info0,
              size_t info_stride, bool first, float* y, size_t ys,
              __m256i store_mask) {
  using ABlock = typename F::ABlock;
  __m256 acc[T];
  for (int t = 0; t < T; ++t) {
    acc[t] =
        first ? _mm256_setzero_ps()
              : _mm256_maskload_ps(y + static_cast<size_t>(t) * ys, store_mask);
  }
  for (int b = 0; b < n_blocks; ++b) {
    const ABlock* ab[T];
    for (int t = 0; t < T; ++t) {
      ab[t] = reinterpret_cast<const ABlock*>(a + static_cast<size_t>(t) * as) +
              b0 + b;
    }
    __m256i p16[T];
    for (int t = 0; t < T; ++t) p16[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const __m256i wk =
          _mm256_load_si256(reinterpret_cast<const __m256i*>(p.q[b][half][k]));
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        p16[t] = _mm256_add_epi16(
            p16[t], _mm256_maddubs_epi16(
                        wk, _mm256_set1_epi32(Dword(ab[t]->qs + 4 * k))));
        KeepInRegister(p16[t]);
      }
    }
    const __m256 dw = _mm256_load_ps(&p.d[b][kLanes * half]);
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const PanelActBlock* info =
          info0 != nullptr ? info0 + t * info_stride + b0 + b : nullptr;
      __m256i isum = _mm256_madd_epi16(p16[t], _mm256_set1_epi16(1));
      if constexpr (F::kOffset != 0) {
        const int sum = info != nullptr ? info->sum : SumBytes(ab[t]->qs);
        isum = _mm256_add_epi32(isum, _mm256_set1_epi32(-F::kOffset * sum));
      }
      const float da = info != nullptr ? info->d : Half(ab[t]->d);
      acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(da)),
                               _mm256_cvtepi32_ps(isum), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) {
    _mm256_maskstore_ps(y + static_cast<size_t>(t) * ys, store_mask, acc[t]);
  }
}

// Row sums of 8 rows' int32 partial products (p[r] for row r), in order.
inline __m256i ReduceRows(const __m256i (&p)[8]) {
  const __m256i h01 = _mm256_hadd_epi32(p[0], p[1]);
  const __m256i h23 = _mm256_hadd_epi32(p[2], p[3]);
  const __m256i h45 = _mm256_hadd_epi32(p[4], p[5]);
  const __m256i h67 = _mm256_hadd_epi32(p[6], p[7]);
  // Each 128-bit lane: rows 0-3 (v0) or 4-7 (v1), that lane's partials.
  const __m256i v0 = _mm256_hadd_epi32(h01, h23);
  const __m256i v1 = _mm256_hadd_epi32(h45, h67);
  return _mm256_add_epi32(_mm256_permute2x128_si256(v0, v1, 0x20),
                          _mm256_permute2x128_si256(v0, v1, 0x31));
}

// A few tokens without repacking: whole-block products per row, reduced
// across lanes; the per-lane float steps are RunChunk's.
template <typename F, int T>
void RunFew(int64_t n, const uint8_t* w, size_t ws, int n_rows,
            const uint8_t* a, size_t as, float* y, size_t ys) {
  using WBlock = typename F::WBlock;
  using ABlock = typename F::ABlock;
  for (int half = 0; half * kLanes < n_rows; ++half) {
    const WBlock* rows[kLanes];
    for (int r = 0; r < kLanes; ++r) {
      rows[r] = reinterpret_cast<const WBlock*>(
          w +
          static_cast<size_t>(std::min(kLanes * half + r, n_rows - 1)) * ws);
    }
    const __m256i offsets = RowOffsets(ws, n_rows, kLanes * half);
    __m256 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / kQK; ++b) {
      __m256i wq[kLanes];
#pragma GCC unroll 8
      for (int r = 0; r < kLanes; ++r) {
        const __m128i packed =
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[r][b].qs));
        wq[r] = _mm256_and_si256(
            _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed),
            _mm256_set1_epi8(0x0f));
      }
      __m256 dw;
      GatherScales<F>(w, offsets, b, &dw);
#pragma GCC unroll 2
      for (int t = 0; t < T; ++t) {
        const ABlock* ab =
            reinterpret_cast<const ABlock*>(a + static_cast<size_t>(t) * as) +
            b;
        const __m256i qa =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ab->qs));
        __m256i prod[kLanes];
#pragma GCC unroll 8
        for (int r = 0; r < kLanes; ++r) {
          prod[r] = _mm256_madd_epi16(_mm256_maddubs_epi16(wq[r], qa),
                                      _mm256_set1_epi16(1));
        }
        __m256i isum = ReduceRows(prod);
        if constexpr (F::kOffset != 0) {
          isum = _mm256_add_epi32(
              isum, _mm256_set1_epi32(-F::kOffset * SumBytes(ab->qs)));
        }
        acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(Half(ab->d))),
                                 _mm256_cvtepi32_ps(isum), acc[t]);
      }
    }
    const __m256i mask = LaneMask(n_rows - kLanes * half);
    for (int t = 0; t < T; ++t) {
      _mm256_maskstore_ps(y + static_cast<size_t>(t) * ys + kLanes * half, mask,
                          acc[t]);
    }
  }
}

template <typename F>
void RunPanel(int64_t n, const uint8_t* w, size_t ws, int n_rows,
              const uint8_t* a, size_t as, const PanelActBlock* a_blocks,
              int64_t n_tokens, float* y, size_t ys) {
  if (n_tokens == 1) return RunFew<F, 1>(n, w, ws, n_rows, a, as, y, ys);
  if (n_tokens == 2) return RunFew<F, 2>(n, w, ws, n_rows, a, as, y, ys);
  Panel p;
  const int64_t nb = n / kQK;
  for (int64_t b0 = 0; b0 < nb; b0 += kChunkBlocks) {
    const int cb = static_cast<int>(std::min<int64_t>(kChunkBlocks, nb - b0));
    Pack<F>(w, ws, n_rows, b0, cb, p);
    for (int half = 0; half * kLanes < n_rows; ++half) {
      const __m256i mask = LaneMask(n_rows - kLanes * half);
      for (int64_t t = 0; t < n_tokens; t += kPassTokens) {
        const uint8_t* at = a + static_cast<size_t>(t) * as;
        const PanelActBlock* it =
            a_blocks != nullptr ? a_blocks + t * nb : nullptr;
        float* yt = y + static_cast<size_t>(t) * ys + kLanes * half;
        const size_t is = static_cast<size_t>(nb);
        switch (std::min<int64_t>(kPassTokens, n_tokens - t)) {
          case 1:
            RunChunk<F, 1>(p, half, cb, b0, at, as, it, is, b0 == 0, yt, ys,
                           mask);
            break;
          case 2:
            RunChunk<F, 2>(p, half, cb, b0, at, as, it, is, b0 == 0, yt, ys,
                           mask);
            break;
          case 3:
            RunChunk<F, 3>(p, half, cb, b0, at, as, it, is, b0 == 0, yt, ys,
                           mask);
            break;
          default:
            RunChunk<F, 4>(p, half, cb, b0, at, as, it, is, b0 == 0, yt, ys,
                           mask);
            break;
        }
      }
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
void PanelQ4_0Q8_0(int64_t n, const uint8_t* w, size_t ws, int nr,
                   const uint8_t* a, size_t as, const PanelActBlock* ab,
                   int64_t nt, float* y, size_t ys) {
  RunPanel<Q4_0Format>(n, w, ws, nr, a, as, ab, nt, y, ys);
}

}  // namespace ggufd::tensor::avx2
