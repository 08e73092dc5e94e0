// Attention kernels that serve several query vectors with one pass over the
// F16 cache rows, at AVX-512: the tokens of one head in a prompt batch, or
// the query heads sharing one KV head while decoding. A row is loaded and
// converted once and meets every query in registers, which is where the
// time of long-context attention goes (the conversion costs as much as the
// multiply-add). Each output keeps the summation order of the one-query
// kernels of vec_ops_avx2.cc (llama.cpp's), lane for lane: a vector lane
// here holds the same partial sum as there, whatever the vector width.
//
// This file alone is compiled with the AVX-512 -m flags; it is only called
// when the CPU has them, and includes no inline function shared with other
// translation units.
#include <immintrin.h>

// GCC 12 reports the deliberately undefined pass-through operands inside
// its own AVX-512 intrinsics as uninitialized once they are inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstddef>
#include <cstdint>

#include "runtime/model/vec_ops.h"

namespace ggufd::model {
namespace {

// Head sizes the class-ordered V sums take (as kMaxOrderedDim in
// vec_ops_avx2.cc); larger ones keep the one-query kernels.
constexpr int kMaxDim = 256;
// Dims per pass of the V sums: the accumulators of kMaxQueries queries
// stay in registers.
constexpr int kChunk = 64;

inline __m512 Load16(const uint16_t* p) {
  return _mm512_cvtph_ps(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// The 16 lanes summed in the order of GCC's _mm512_reduce_add_ps (halves,
// quarters, then (0 + 2) + (1 + 3)), as ReduceAdd16 in vec_ops_avx2.cc.
inline float Reduce(__m512 v) {
  const __m256 a =
      _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  b = _mm_add_ss(b, _mm_movehdup_ps(b));
  return _mm_cvtss_f32(b);
}

// out[i][r] = scale * q[i] . row r, for the tiled matmul's order (one
// 16-lane accumulator over steps of 16; dim % 16 == 0) or the decoding
// dot's (4 accumulators over steps of 64 folded (0 + 2) + (1 + 3), the
// remainder added in double).
template <int Q, bool kBatched>
void DotRowsQ(const float* const* q, const uint8_t* rows, size_t stride,
              int n_rows, int dim, float scale, float* const* out) {
  const int np = kBatched ? dim : dim & ~63;
  for (int r = 0; r < n_rows; ++r) {
    const uint16_t* row = reinterpret_cast<const uint16_t*>(rows + r * stride);
    constexpr int kAcc = kBatched ? 1 : 4;
    __m512 acc[Q][kAcc];
    for (int i = 0; i < Q; ++i) {
      for (int j = 0; j < kAcc; ++j) acc[i][j] = _mm512_setzero_ps();
    }
    for (int d = 0; d < np; d += 16 * kAcc) {
#pragma GCC unroll 4
      for (int j = 0; j < kAcc; ++j) {
        const __m512 k = Load16(row + d + 16 * j);
#pragma GCC unroll 4
        for (int i = 0; i < Q; ++i) {
          acc[i][j] =
              _mm512_fmadd_ps(k, _mm512_loadu_ps(q[i] + d + 16 * j), acc[i][j]);
        }
      }
    }
    for (int i = 0; i < Q; ++i) {
      if constexpr (kBatched) {
        out[i][r] = Reduce(acc[i][0]) * scale;
      } else {
        double sum = Reduce(_mm512_add_ps(_mm512_add_ps(acc[i][0], acc[i][2]),
                                          _mm512_add_ps(acc[i][1], acc[i][3])));
        for (int d = np; d < dim; ++d) {
          sum += static_cast<double>(_cvtsh_ss(row[d]) * q[i][d]);
        }
        out[i][r] = static_cast<float>(sum) * scale;
      }
    }
  }
}

// out[i] = sum_r w[i][r] row_r with the positions split into classes r mod
// (16 * kClasses) as WeightedSumF16Lanes<kClasses> of vec_ops_avx2.cc splits
// them: each class summed in order; the classes of lane l folded (0 + 2) +
// (1 + 3) when there are 4; then the 16 lanes reduced per dim.
template <int Q, int kClasses>
void WeightedSumQ(const float* const* w, const uint8_t* rows, size_t stride,
                  int n_rows, int dim, float* const* out) {
  constexpr int kPeriod = 16 * kClasses;
  for (int d0 = 0; d0 < dim; d0 += kChunk) {
    const int nv = (dim - d0 >= kChunk ? kChunk : dim - d0) / 16;
    // lanes[i][l]: lane l's folded sums of query i over this chunk.
    alignas(64) float lanes[Q][16][kChunk];
    for (int l = 0; l < 16; ++l) {
      __m512 cls[kClasses][Q][kChunk / 16];
      for (int c = 0; c < kClasses; ++c) {
        __m512 acc[Q][kChunk / 16];
        for (int i = 0; i < Q; ++i) {
          for (int v = 0; v < kChunk / 16; ++v) acc[i][v] = _mm512_setzero_ps();
        }
        for (int p = l + 16 * c; p < n_rows; p += kPeriod) {
          const uint16_t* row =
              reinterpret_cast<const uint16_t*>(rows + p * stride) + d0;
          __m512 wp[Q];
          for (int i = 0; i < Q; ++i) wp[i] = _mm512_set1_ps(w[i][p]);
#pragma GCC unroll 4
          for (int v = 0; v < kChunk / 16; ++v) {
            if (v >= nv) break;
            const __m512 x = Load16(row + 16 * v);
#pragma GCC unroll 4
            for (int i = 0; i < Q; ++i) {
              acc[i][v] = _mm512_fmadd_ps(wp[i], x, acc[i][v]);
            }
          }
        }
        for (int i = 0; i < Q; ++i) {
          for (int v = 0; v < kChunk / 16; ++v) cls[c][i][v] = acc[i][v];
        }
      }
      for (int i = 0; i < Q; ++i) {
        for (int v = 0; v < nv; ++v) {
          __m512 f = cls[0][i][v];
          if constexpr (kClasses == 4) {
            f = _mm512_add_ps(_mm512_add_ps(cls[0][i][v], cls[2][i][v]),
                              _mm512_add_ps(cls[1][i][v], cls[3][i][v]));
          }
          _mm512_store_ps(lanes[i][l] + 16 * v, f);
        }
      }
    }
    // The 16 lanes per dim: (l + l+8), then as Reduce's tree.
    for (int i = 0; i < Q; ++i) {
      for (int v = 0; v < nv; ++v) {
        __m512 a[8];
        for (int l = 0; l < 8; ++l) {
          a[l] = _mm512_add_ps(_mm512_load_ps(lanes[i][l] + 16 * v),
                               _mm512_load_ps(lanes[i][l + 8] + 16 * v));
        }
        const __m512 r = _mm512_add_ps(
            _mm512_add_ps(_mm512_add_ps(a[0], a[4]), _mm512_add_ps(a[2], a[6])),
            _mm512_add_ps(_mm512_add_ps(a[1], a[5]),
                          _mm512_add_ps(a[3], a[7])));
        _mm512_storeu_ps(out[i] + d0 + 16 * v, r);
      }
    }
  }
}

template <bool kBatched>
void DotRowsF16Multi(int n_q, const float* const* q, const uint8_t* rows,
                     size_t stride, int n_rows, int dim, float scale,
                     float* const* out) {
  switch (n_q) {
    case 1:
      return DotRowsQ<1, kBatched>(q, rows, stride, n_rows, dim, scale, out);
    case 2:
      return DotRowsQ<2, kBatched>(q, rows, stride, n_rows, dim, scale, out);
    case 3:
      return DotRowsQ<3, kBatched>(q, rows, stride, n_rows, dim, scale, out);
    default:
      return DotRowsQ<4, kBatched>(q, rows, stride, n_rows, dim, scale, out);
  }
}

template <int kClasses>
void WeightedSumF16Multi(int n_q, const float* const* w, const uint8_t* rows,
                         size_t stride, int n_rows, int dim,
                         float* const* out) {
  switch (n_q) {
    case 1:
      return WeightedSumQ<1, kClasses>(w, rows, stride, n_rows, dim, out);
    case 2:
      return WeightedSumQ<2, kClasses>(w, rows, stride, n_rows, dim, out);
    case 3:
      return WeightedSumQ<3, kClasses>(w, rows, stride, n_rows, dim, out);
    default:
      return WeightedSumQ<4, kClasses>(w, rows, stride, n_rows, dim, out);
  }
}

}  // namespace

const VecOps& Avx512VecOps() {
  static const VecOps kOps = [] {
    VecOps ops = Avx2VecOps();
    ops.multi = {.max_dim = kMaxDim,
                 .dot_rows_f16 = DotRowsF16Multi<false>,
                 .dot_rows_f16_batched = DotRowsF16Multi<true>,
                 .weighted_sum_f16 = WeightedSumF16Multi<4>,
                 .weighted_sum_f16_batched = WeightedSumF16Multi<1>};
    return ops;
  }();
  return kOps;
}

}  // namespace ggufd::model
