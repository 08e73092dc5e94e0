// AVX2 + FMA + F16C float and q8_0 kernels (compiled with -mavx2 -mfma
// -mf16c; reached only after CPU detection). The q8_0 dot follows ggml's
// approach: multiply-add unsigned by signed bytes (vpmaddubsw), sum pairs to
// 32 bits (vpmaddwd), convert and scale once per block. (q4_0 uses the row
// panels of panel_avx2.cc, the other quantized types dot256_*.)
//
// Nothing here may call an inline function shared with other translation
// units (fp16.h, blocks.h helpers): the linker could keep this file's AVX2
// copy for everyone. Half floats are converted with F16C instead.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/simd_kernels.h"
#include "runtime/tensor/simd_tile.h"

namespace ggufd::tensor::avx2 {
namespace {

inline float Half(uint16_t h) { return _cvtsh_ss(h); }

inline float Hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Sums of 4 adjacent products of unsigned u and signed s bytes, as int32.
// Needs |u * s| sums of pairs below 2^15 (true for u <= 127 or u <= 15).
inline __m256i DotU8S8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

template <typename Block>
inline const Block* BlockAt(const uint8_t* row, size_t stride, int i,
                            int64_t b) {
  return reinterpret_cast<const Block*>(row + static_cast<size_t>(i) * stride) +
         b;
}

// Float kernels: w and a rows of n values; 8 lanes per step, a scalar tail.
// Format::Load(p) gives the 8 floats at p, Format::At(p) the one at p.
template <typename Format>
struct FloatKernel {
  using Elem = typename Format::Elem;
  template <int R, int C>
  struct K {
    static constexpr int kMaxRows = 4;
    static constexpr int kMaxCols = 2;
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
      __m256 acc[R][C];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
      }
      int64_t i = 0;
      for (; i + 8 <= n; i += 8) {
        __m256 av[C];
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) av[c] = Format::Load(ac[c] + i);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const __m256 wv = Format::Load(wr[r] + i);
#pragma GCC unroll 4
          for (int c = 0; c < C; ++c) {
            acc[r][c] = _mm256_fmadd_ps(wv, av[c], acc[r][c]);
          }
        }
      }
      for (int r = 0; r < R; ++r) {
        for (int c = 0; c < C; ++c) {
          float tail = 0;
          for (int64_t j = i; j < n; ++j)
            tail += Format::At(wr[r] + j) * Format::At(ac[c] + j);
          y[static_cast<size_t>(c) * ys + r] = Hsum(acc[r][c]) + tail;
        }
      }
    }
  };
};

struct F32 {
  using Elem = float;
  static __m256 Load(const float* p) { return _mm256_loadu_ps(p); }
  static float At(const float* p) { return *p; }
};
struct F16 {
  using Elem = uint16_t;
  static __m256 Load(const uint16_t* p) {
    return _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static float At(const uint16_t* p) { return _cvtsh_ss(*p); }
};
struct BF16 {
  using Elem = uint16_t;
  static __m256 Load(const uint16_t* p) {
    const __m256i wide = _mm256_cvtepu16_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
  static float At(const uint16_t* p) {
    return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(*p << 16)));
  }
};

template <int R, int C>
using KF32 = FloatKernel<F32>::K<R, C>;
template <int R, int C>
using KF16 = FloatKernel<F16>::K<R, C>;
template <int R, int C>
using KBF16 = FloatKernel<BF16>::K<R, C>;

// q8_0 x q8_0: both signed, so |w| times sign-transferred a (vpsignb), as
// ggml does; |w| <= 128 and |a| <= 127 keep vpmaddubsw pairs in range.
template <int R, int C>
struct KQ8_0 {
  static constexpr int kMaxRows = 4;
  static constexpr int kMaxCols = 2;
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
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) {
        const BlockQ8_0* blk = BlockAt<BlockQ8_0>(a, as, c, b);
        qa[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->qs));
        da[c] = Half(blk->d);
      }
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const BlockQ8_0* blk = BlockAt<BlockQ8_0>(w, ws, r, b);
        const __m256i qw =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk->qs));
        const __m256i aw = _mm256_sign_epi8(qw, qw);
        const float dw = Half(blk->d);
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
          const __m256i p = DotU8S8(aw, _mm256_sign_epi8(qa[c], qw));
          acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * da[c]),
                                      _mm256_cvtepi32_ps(p), acc[r][c]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) {
        y[static_cast<size_t>(c) * ys + r] = Hsum(acc[r][c]);
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
void TileQ8_0Q8_0(int64_t n, const uint8_t* w, size_t ws, int nr,
                  const uint8_t* a, size_t as, int nc, float* y, size_t ys) {
  RunTile<KQ8_0>(n, w, ws, nr, a, as, nc, y, ys);
}

}  // namespace ggufd::tensor::avx2
