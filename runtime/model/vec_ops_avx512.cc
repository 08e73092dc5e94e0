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
//
// Walking one class at a time would jump kPeriod rows per load, which no
// prefetcher follows over a long cache; instead the rows go in blocks of
// kBlockPeriods * kPeriod, each block's classes in turn (kBlockPeriods rows
// each), with the class sums kept in memory between blocks and the next
// block prefetched a slice per class: the same additions in the same order.
template <int Q, int kClasses>
void WeightedSumQ(const float* const* w, const uint8_t* rows, size_t stride,
                  int n_rows, int dim, float* const* out) {
  constexpr int kPeriod = 16 * kClasses;
  constexpr int kBlockPeriods = 8;
  constexpr int kBlock = kBlockPeriods * kPeriod;
  constexpr int kPassDims = 32;  // the class sums of Q queries fit in L1
  constexpr int kNv = kPassDims / 16;
  for (int d0 = 0; d0 < dim; d0 += kPassDims) {
    const int nv = (dim - d0 >= kPassDims ? kPassDims : dim - d0) / 16;
    const size_t row_bytes = static_cast<size_t>(nv) * 32;
    alignas(64) __m512 sums[16][kClasses][Q][kNv];
    for (int l = 0; l < 16; ++l) {
      for (int c = 0; c < kClasses; ++c) {
        for (int i = 0; i < Q; ++i) {
          for (int v = 0; v < kNv; ++v) sums[l][c][i][v] = _mm512_setzero_ps();
        }
      }
    }
    for (int b0 = 0; b0 < n_rows; b0 += kBlock) {
      const int b_end = n_rows - b0 < kBlock ? n_rows : b0 + kBlock;
      const uint8_t* next = rows + static_cast<size_t>(b0 + kBlock) * stride +
                            static_cast<size_t>(d0) * 2;
      const int n_next = n_rows - (b0 + kBlock);
      for (int l = 0; l < 16; ++l) {
        for (int c = 0; c < kClasses; ++c) {
          // Prefetch this class's share of the next block's rows.
          const int slice = (l * kClasses + c) * kBlockPeriods;
          for (int r = slice; r < slice + kBlockPeriods && r < n_next; ++r) {
            const char* line = reinterpret_cast<const char*>(next + r * stride);
            for (size_t o = 0; o < row_bytes; o += 64) {
              _mm_prefetch(line + o, _MM_HINT_T0);
            }
          }
          __m512 acc[Q][kNv];
          for (int i = 0; i < Q; ++i) {
            for (int v = 0; v < kNv; ++v) acc[i][v] = sums[l][c][i][v];
          }
          for (int p = b0 + l + 16 * c; p < b_end; p += kPeriod) {
            const uint16_t* row =
                reinterpret_cast<const uint16_t*>(rows + p * stride) + d0;
            __m512 wp[Q];
            for (int i = 0; i < Q; ++i) wp[i] = _mm512_set1_ps(w[i][p]);
#pragma GCC unroll 2
            for (int v = 0; v < kNv; ++v) {
              if (v >= nv) break;
              const __m512 x = Load16(row + 16 * v);
#pragma GCC unroll 4
              for (int i = 0; i < Q; ++i) {
                acc[i][v] = _mm512_fmadd_ps(wp[i], x, acc[i][v]);
              }
            }
          }
          for (int i = 0; i < Q; ++i) {
            for (int v = 0; v < kNv; ++v) sums[l][c][i][v] = acc[i][v];
          }
        }
      }
    }
    // Per query and dim vector: fold each lane's classes, then the 16
    // lanes: (l + l+8), then as Reduce's tree.
    for (int i = 0; i < Q; ++i) {
      for (int v = 0; v < nv; ++v) {
        __m512 f[16];
        for (int l = 0; l < 16; ++l) {
          f[l] = sums[l][0][i][v];
          if constexpr (kClasses == 4) {
            f[l] = _mm512_add_ps(
                _mm512_add_ps(sums[l][0][i][v], sums[l][2][i][v]),
                _mm512_add_ps(sums[l][1][i][v], sums[l][3][i][v]));
          }
        }
        __m512 a[8];
        for (int l = 0; l < 8; ++l) a[l] = _mm512_add_ps(f[l], f[l + 8]);
        const __m512 r = _mm512_add_ps(
            _mm512_add_ps(_mm512_add_ps(a[0], a[4]), _mm512_add_ps(a[2], a[6])),
            _mm512_add_ps(_mm512_add_ps(a[1], a[5]),
                          _mm512_add_ps(a[3], a[7])));
        _mm512_storeu_ps(out[i] + d0 + 16 * v, r);
      }
    }
  }
}

// v[r] (row r, 16 columns) becomes v[c] (column c, 16 rows).
inline void Transpose16(__m512 (&v)[16]) {
  __m512 t[16], u[16];
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_ps(v[2 * k], v[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_ps(v[2 * k], v[2 * k + 1]);
  }
  // Within each 128-bit lane j, u[4k + m] holds rows 4k..4k+3 of column
  // 4j + m.
  for (int k = 0; k < 4; ++k) {
    u[4 * k] = _mm512_shuffle_ps(t[4 * k], t[4 * k + 2], 0x44);
    u[4 * k + 1] = _mm512_shuffle_ps(t[4 * k], t[4 * k + 2], 0xee);
    u[4 * k + 2] = _mm512_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
    u[4 * k + 3] = _mm512_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xee);
  }
  // Gather the 128-bit lanes: column 4j + m takes lane j of u[m],
  // u[4 + m], u[8 + m], u[12 + m].
  for (int m = 0; m < 4; ++m) {
    const __m512 a = _mm512_shuffle_f32x4(u[m], u[4 + m], 0x88);
    const __m512 b = _mm512_shuffle_f32x4(u[m], u[4 + m], 0xdd);
    const __m512 c = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0x88);
    const __m512 d = _mm512_shuffle_f32x4(u[8 + m], u[12 + m], 0xdd);
    v[m] = _mm512_shuffle_f32x4(a, c, 0x88);
    v[4 + m] = _mm512_shuffle_f32x4(b, d, 0x88);
    v[8 + m] = _mm512_shuffle_f32x4(a, c, 0xdd);
    v[12 + m] = _mm512_shuffle_f32x4(b, d, 0xdd);
  }
}

// DotRowsQ's orders for 16 rows at a time, with the rows in the lanes: the
// rows are converted and transposed once into columns, then each query's
// lane accumulators (lane l: dims l, l + 16, ...; decoding keeps 4 of them
// per lane, one per 16 dims of each 64) are columns' fmas, and Reduce's
// tree runs across them, so no query reduces a vector per row. Decoding
// needs dim % 64 == 0 (DotRowsQ adds a remainder in double). Rows past the
// last multiple of 16 are left to DotRowsQ.
template <bool kBatched>
void DotRowsTransposed(int n_q, const float* const* q, const uint8_t* rows,
                       size_t stride, int n_rows, int dim, float scale,
                       float* const* out) {
  alignas(64) float columns[kMaxDim][16];
  for (int r0 = 0; r0 + 16 <= n_rows; r0 += 16) {
    for (int c = 0; c < dim; c += 16) {
      __m512 v[16];
      for (int r = 0; r < 16; ++r) {
        v[r] = Load16(
            reinterpret_cast<const uint16_t*>(rows + (r0 + r) * stride) + c);
      }
      Transpose16(v);
      for (int l = 0; l < 16; ++l) _mm512_store_ps(columns[c + l], v[l]);
    }
    for (int i = 0; i < n_q; ++i) {
      const float* qi = q[i];
      __m512 acc[16];
      for (int l = 0; l < 16; ++l) {
        if constexpr (kBatched) {
          __m512 a = _mm512_setzero_ps();
          for (int d = l; d < dim; d += 16) {
            a = _mm512_fmadd_ps(_mm512_load_ps(columns[d]),
                                _mm512_set1_ps(qi[d]), a);
          }
          acc[l] = a;
        } else {
          __m512 a[4];
          for (int j = 0; j < 4; ++j) a[j] = _mm512_setzero_ps();
          for (int d0 = 0; d0 < dim; d0 += 64) {
            for (int j = 0; j < 4; ++j) {
              const int d = d0 + 16 * j + l;
              a[j] = _mm512_fmadd_ps(_mm512_load_ps(columns[d]),
                                     _mm512_set1_ps(qi[d]), a[j]);
            }
          }
          acc[l] = _mm512_add_ps(_mm512_add_ps(a[0], a[2]),
                                 _mm512_add_ps(a[1], a[3]));
        }
      }
      // Reduce's tree: halves (l + 8), quarters (l + 4), (0 + 2) + (1 + 3).
      for (int l = 0; l < 8; ++l) acc[l] = _mm512_add_ps(acc[l], acc[l + 8]);
      for (int l = 0; l < 4; ++l) acc[l] = _mm512_add_ps(acc[l], acc[l + 4]);
      const __m512 sum = _mm512_add_ps(_mm512_add_ps(acc[0], acc[2]),
                                       _mm512_add_ps(acc[1], acc[3]));
      _mm512_storeu_ps(out[i] + r0, _mm512_mul_ps(sum, _mm512_set1_ps(scale)));
    }
  }
}

// Head sizes the transposed dots take: every column of a query costs a
// broadcast, which longer rows amortize better in DotRowsQ's own reduction.
constexpr int kMaxTransposedDim = 128;

// Up to 4 queries of DotRowsQ per pass (their accumulators fill the
// registers).
template <bool kBatched>
void DotRowsQuads(int n_q, const float* const* q, const uint8_t* rows,
                  size_t stride, int n_rows, int dim, float scale,
                  float* const* out) {
  for (int i = 0; i < n_q; i += 4) {
    switch (n_q - i) {
      case 1:
        DotRowsQ<1, kBatched>(q + i, rows, stride, n_rows, dim, scale, out + i);
        break;
      case 2:
        DotRowsQ<2, kBatched>(q + i, rows, stride, n_rows, dim, scale, out + i);
        break;
      case 3:
        DotRowsQ<3, kBatched>(q + i, rows, stride, n_rows, dim, scale, out + i);
        break;
      default:
        DotRowsQ<4, kBatched>(q + i, rows, stride, n_rows, dim, scale, out + i);
        break;
    }
  }
}

template <bool kBatched>
void DotRowsF16Multi(int n_q, const float* const* q, const uint8_t* rows,
                     size_t stride, int n_rows, int dim, float scale,
                     float* const* out) {
  if (n_rows < 16 || dim > kMaxTransposedDim || (!kBatched && dim % 64 != 0)) {
    return DotRowsQuads<kBatched>(n_q, q, rows, stride, n_rows, dim, scale,
                                  out);
  }
  DotRowsTransposed<kBatched>(n_q, q, rows, stride, n_rows, dim, scale, out);
  const int done = n_rows & ~15;
  if (done == n_rows) return;
  float* rest[kMaxQueries];
  for (int i = 0; i < n_q; ++i) rest[i] = out[i] + done;
  DotRowsQuads<kBatched>(n_q, q, rows + done * stride, stride, n_rows - done,
                         dim, scale, rest);
}

template <int kClasses>
void WeightedSumF16Multi(int n_q, const float* const* w, const uint8_t* rows,
                         size_t stride, int n_rows, int dim,
                         float* const* out) {
  for (int i = 0; i < n_q; i += 4) {
    switch (n_q - i) {
      case 1:
        WeightedSumQ<1, kClasses>(w + i, rows, stride, n_rows, dim, out + i);
        break;
      case 2:
        WeightedSumQ<2, kClasses>(w + i, rows, stride, n_rows, dim, out + i);
        break;
      case 3:
        WeightedSumQ<3, kClasses>(w + i, rows, stride, n_rows, dim, out + i);
        break;
      default:
        WeightedSumQ<4, kClasses>(w + i, rows, stride, n_rows, dim, out + i);
        break;
    }
  }
}

// Exp of vec_ops_avx2.cc (llama.cpp's) on 16 lanes: each lane the same
// operations, so the same bits.
__m512 Exp16(__m512 x) {
  const __m512 shift = _mm512_set1_ps(0x1.8p23f);
  const __m512 n = _mm512_sub_ps(
      _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), shift), shift);
  const __m512 b =
      _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f),
                       _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
  const __m512 b2 = _mm512_mul_ps(b, b);
  const __m512 p = _mm512_fmadd_ps(
      _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b,
                                      _mm512_set1_ps(0x1.573e2ep-5f)),
                      b2,
                      _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b,
                                      _mm512_set1_ps(0x1.fffdb6p-2f))),
      b2,
      _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1)));
  const __m512 h =
      _mm512_roundscale_ps(_mm512_mul_ps(n, _mm512_set1_ps(0.5f)),
                           _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  auto pow2 = [](__m512 k) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(
        _mm512_add_epi32(_mm512_cvtps_epi32(k), _mm512_set1_epi32(127)), 23));
  };
  const __mmask16 big =
      _mm512_cmp_ps_mask(_mm512_andnot_ps(_mm512_set1_ps(-0.0f), n),
                         _mm512_set1_ps(192), _CMP_GT_OQ);
  const __m512 safe_h = _mm512_maskz_mov_ps(static_cast<__mmask16>(~big), h);
  const __m512 safe_n = _mm512_maskz_mov_ps(static_cast<__mmask16>(~big), n);
  const __m512 r = _mm512_mul_ps(_mm512_mul_ps(p, pow2(safe_h)),
                                 pow2(_mm512_sub_ps(safe_n, safe_h)));
  const __m512 saturated = _mm512_maskz_mov_ps(
      _mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_GT_OQ),
      _mm512_set1_ps(__builtin_inff()));
  return _mm512_mask_blend_ps(big, r, saturated);
}

// Softmax of vec_ops_avx2.cc on 16 lanes: the same exp, the same sum of
// each 16 (Reduce) added in double, the same scaling.
void Softmax16(float* x, int n) {
  __m512 vmax = _mm512_set1_ps(x[0]);
  int i = 0;
  for (; i + 16 <= n; i += 16)
    vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(x + i));
  float max = _mm512_reduce_max_ps(vmax);
  for (; i < n; ++i) max = x[i] > max ? x[i] : max;
  vmax = _mm512_set1_ps(max);
  double sum = 0;
  for (i = 0; i < n; i += 16) {
    const __mmask16 live = n - i >= 16
                               ? static_cast<__mmask16>(0xffff)
                               : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 v =
        _mm512_mask_loadu_ps(_mm512_set1_ps(-__builtin_inff()), live, x + i);
    const __m512 e = Exp16(_mm512_sub_ps(v, vmax));
    _mm512_mask_storeu_ps(x + i, live, e);
    sum += static_cast<double>(Reduce(e));
  }
  const __m512 inv = _mm512_set1_ps(static_cast<float>(1.0 / sum));
  for (i = 0; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
  }
  const float inv_s = static_cast<float>(1.0 / sum);
  for (; i < n; ++i) x[i] *= inv_s;
}

}  // namespace

const VecOps& Avx512VecOps() {
  static const VecOps kOps = [] {
    VecOps ops = Avx2VecOps();
    ops.softmax = Softmax16;
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
