// 256-bit q4_K kernels in the orders of ggml's repacked q4_K (repack.cpp,
// q4_K_8x8_q8_K on x86), which llama.cpp uses instead of its vec_dot for
// every q4_K weight whose row count is a multiple of 8 (type_traits.h,
// RepackedOrder). Compiled once per level after dot256_kquants_impl.h, whose
// unpacking helpers they share; see dot256_ops.h.
//
// Per output: the exact integer sum of a span of values (a whole
// super-block in ggml's gemv, 64 values in its gemm) is fused into one float
// accumulator with d_w * d_a, the span's mins . bsums into another with
// dmin_w * d_a, and the output is their difference. The same arithmetic as
// the scalar DotQ4_KQ8_KGemv / DotQ4_KQ8_KGemm, so every level gives the same
// bits as they do.
#ifndef GGUFD_RUNTIME_TENSOR_DOT256_REPACKED_IMPL_H_
#define GGUFD_RUNTIME_TENSOR_DOT256_REPACKED_IMPL_H_

#include <cmath>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/dot256_kquants_impl.h"
#include "runtime/tensor/dot256_ops.h"
#include "runtime/tensor/simd_kernels.h"
#include "runtime/tensor/simd_tile.h"

namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE {
namespace {

inline int32_t HsumInt(__m256i v) {
  __m128i s =
      _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}

// kChunksPerSpan 64-value chunks (1: gemm, 4: gemv) per float step.
template <int kChunksPerSpan>
struct Q4KRepacked {
  template <int R, int C>
  struct K {
    static_assert(R == 1);
    static constexpr int kMaxRows = 1;
    static constexpr int kMaxCols = 4;
    static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* a,
                    size_t as, float* y, size_t ys) {
      float acc[C] = {};
      float acc_min[C] = {};
      for (int64_t b = 0; b < n / kQKK; ++b) {
        const BlockQ4_K& x = *BlockAt<BlockQ4_K>(w, ws, 0, b);
        const BlockQ8_K* act[C];
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) act[c] = BlockAt<BlockQ8_K>(a, as, c, b);
        const __m128i sm = ScalesMinsK4(x.scales);
        alignas(16) uint8_t scales_mins[16];  // 8 scales, then 8 mins
        _mm_store_si128(reinterpret_cast<__m128i*>(scales_mins), sm);
        const uint8_t* mins = scales_mins + 8;
        const __m256i scales16 =
            _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
        const float dw = Half(x.d);
        const float dmin = Half(x.dmin);
        __m256i sumi[C];
        int32_t msum[C];
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
          sumi[c] = _mm256_setzero_si256();
          msum[c] = 0;
        }
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
          const __m256i q = Load256(x.qs + 32 * j);
          Accumulate32<C>(LowNibbles(q), Broadcast16(scales16, 2 * j), act,
                          64 * j, sumi);
          Accumulate32<C>(HighNibbles(q), Broadcast16(scales16, 2 * j + 1), act,
                          64 * j + 32, sumi);
#pragma GCC unroll 4
          for (int c = 0; c < C; ++c) {
            const int16_t* bs = act[c]->bsums + 4 * j;
            msum[c] += mins[2 * j] * (bs[0] + bs[1]) +
                       mins[2 * j + 1] * (bs[2] + bs[3]);
          }
          if ((j + 1) % kChunksPerSpan != 0) continue;
#pragma GCC unroll 4
          for (int c = 0; c < C; ++c) {
            acc[c] = std::fma(static_cast<float>(HsumInt(sumi[c])),
                              dw * act[c]->d, acc[c]);
            acc_min[c] = std::fma(static_cast<float>(msum[c]), dmin * act[c]->d,
                                  acc_min[c]);
            sumi[c] = _mm256_setzero_si256();
            msum[c] = 0;
          }
        }
      }
      for (int c = 0; c < C; ++c) {
        y[static_cast<size_t>(c) * ys] = acc[c] - acc_min[c];
      }
    }
  };
};

template <int R, int C>
using KQ4_KGemv = Q4KRepacked<4>::K<R, C>;
template <int R, int C>
using KQ4_KGemm = Q4KRepacked<1>::K<R, C>;

}  // namespace

float DotQ4_KQ8_KGemv(int64_t n, const void* w, const void* a) {
  return RunDot<KQ4_KGemv>(n, w, a);
}
float DotQ4_KQ8_KGemm(int64_t n, const void* w, const void* a) {
  return RunDot<KQ4_KGemm>(n, w, a);
}
void TileQ4_KQ8_KGemv(int64_t n, const uint8_t* w, size_t ws, int nr,
                      const uint8_t* a, size_t as, int nc, float* y,
                      size_t ys) {
  RunTile<KQ4_KGemv>(n, w, ws, nr, a, as, nc, y, ys);
}
void TileQ4_KQ8_KGemm(int64_t n, const uint8_t* w, size_t ws, int nr,
                      const uint8_t* a, size_t as, int nc, float* y,
                      size_t ys) {
  RunTile<KQ4_KGemm>(n, w, ws, nr, a, as, nc, y, ys);
}

}  // namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE

#endif  // GGUFD_RUNTIME_TENSOR_DOT256_REPACKED_IMPL_H_
