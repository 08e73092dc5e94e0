// Attention kernels that serve several query vectors with one pass over the
// F16 cache rows, at AVX2 in llama.cpp's own AVX2 orders (8 lanes): the
// tokens of one head in a prompt batch, or the query heads sharing one KV
// head while decoding. vec_ops_avx512.cc's scheme at half the width: a row
// is converted once and meets every query in registers, and each output
// keeps the summation order of the one-query kernel it stands for
// (vec_ops_avx2.cc's ...x8 kernels), lane for lane.
//
// This file alone is compiled with the AVX2 -m flags; it is only called
// when the CPU has them, and includes no inline function shared with other
// translation units.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "runtime/model/vec_ops.h"
#include "runtime/model/vec_ops_avx2_impl.h"

namespace ggufd::model {
namespace {

// Head sizes the class-ordered V sums take (kMaxOrderedDim of
// vec_ops_avx2.cc); larger ones, and sizes that are not a multiple of 8,
// keep the one-query kernels.
constexpr int kMaxDim = 256;

// The prompt order's reduction of 8 lanes (HorizontalSum of
// vec_ops_avx2_impl.h): s_j = l_j + l_{j+4}, then (s0 + s2) + (s1 + s3). Here
// lane l is a vector, so 8 outputs are reduced at once.
inline __m256 TreeHalves(const __m256 (&l)[8]) {
  __m256 s[4];
  for (int j = 0; j < 4; ++j) s[j] = _mm256_add_ps(l[j], l[j + 4]);
  return _mm256_add_ps(_mm256_add_ps(s[0], s[2]), _mm256_add_ps(s[1], s[3]));
}

// The decoding order's (ReduceAdd8Pairs): s_j = l_j + l_{j+4}, then
// (s0 + s1) + (s2 + s3).
inline __m256 TreePairs(const __m256 (&l)[8]) {
  __m256 s[4];
  for (int j = 0; j < 4; ++j) s[j] = _mm256_add_ps(l[j], l[j + 4]);
  return _mm256_add_ps(_mm256_add_ps(s[0], s[1]), _mm256_add_ps(s[2], s[3]));
}

// out[i][r] = scale * q[i] . row r for Q queries, a row at a time: the
// prompt order (one 8-lane accumulator over steps of 8) or the decoding
// one (4 accumulators over steps of 32 folded (0 + 2) + (1 + 3), the
// remainder added in double).
template <int Q, bool kBatched>
void DotRowsQ(const float* const* q, const uint8_t* rows, size_t stride,
              int n_rows, int dim, float scale, float* const* out) {
  const int np = kBatched ? dim : dim & ~31;
  constexpr int kAcc = kBatched ? 1 : 4;
  for (int r = 0; r < n_rows; ++r) {
    const uint16_t* row = reinterpret_cast<const uint16_t*>(rows + r * stride);
    __m256 acc[Q][kAcc];
    for (int i = 0; i < Q; ++i) {
      for (int j = 0; j < kAcc; ++j) acc[i][j] = _mm256_setzero_ps();
    }
    for (int d = 0; d < np; d += 8 * kAcc) {
#pragma GCC unroll 4
      for (int j = 0; j < kAcc; ++j) {
        const __m256 k = Load8(row + d + 8 * j);
#pragma GCC unroll 4
        for (int i = 0; i < Q; ++i) {
          acc[i][j] =
              _mm256_fmadd_ps(k, _mm256_loadu_ps(q[i] + d + 8 * j), acc[i][j]);
        }
      }
    }
    for (int i = 0; i < Q; ++i) {
      if constexpr (kBatched) {
        out[i][r] = HorizontalSum(acc[i][0]) * scale;
      } else {
        double sum =
            ReduceAdd8Pairs(_mm256_add_ps(_mm256_add_ps(acc[i][0], acc[i][2]),
                                          _mm256_add_ps(acc[i][1], acc[i][3])));
        for (int d = np; d < dim; ++d) {
          sum += static_cast<double>(_cvtsh_ss(row[d]) * q[i][d]);
        }
        out[i][r] = static_cast<float>(sum) * scale;
      }
    }
  }
}

// v[r] (row r, 8 columns) becomes v[c] (column c, 8 rows).
inline void Transpose8(__m256 (&v)[8]) {
  __m256 t[8], u[8];
  for (int k = 0; k < 4; ++k) {
    t[2 * k] = _mm256_unpacklo_ps(v[2 * k], v[2 * k + 1]);
    t[2 * k + 1] = _mm256_unpackhi_ps(v[2 * k], v[2 * k + 1]);
  }
  // Per 128-bit lane j, u[4k + m] holds rows 4k..4k+3 of column 4j + m.
  for (int k = 0; k < 2; ++k) {
    u[4 * k] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0x44);
    u[4 * k + 1] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0xee);
    u[4 * k + 2] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
    u[4 * k + 3] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xee);
  }
  for (int m = 0; m < 4; ++m) {
    v[m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x20);
    v[4 + m] = _mm256_permute2f128_ps(u[m], u[4 + m], 0x31);
  }
}

// DotRowsQ's orders for 8 rows at a time, with the rows in the lanes: the
// rows are converted and transposed once into columns, then each query's
// lane accumulators (lane l: dims l, l + 8, ...; decoding keeps 4 of them
// per lane, one per 8 dims of each 32) are columns' fmas, and the
// reduction tree runs across them, so no query reduces a vector per row.
// Decoding needs dim % 32 == 0 (DotRowsQ adds a remainder in double). Rows
// past the last multiple of 8 are left to DotRowsQ.
// DotRowsQ's prompt order for 8 rows at a time, with the rows in the
// lanes: the rows are converted and transposed once into columns, then
// each query's lane accumulators (lane l: dims l, l + 8, ...) are columns'
// fmas, and TreeHalves runs across them, so no query reduces a vector per
// row. Rows past the last multiple of 8 are left to DotRowsQ.
void DotRowsTransposed(int n_q, const float* const* q, const uint8_t* rows,
                       size_t stride, int n_rows, int dim, float scale,
                       float* const* out) {
  alignas(32) float columns[kMaxDim][8];
  const __m256 vscale = _mm256_set1_ps(scale);
  for (int r0 = 0; r0 + 8 <= n_rows; r0 += 8) {
    for (int c = 0; c < dim; c += 8) {
      __m256 v[8];
      for (int r = 0; r < 8; ++r) {
        v[r] = Load8(
            reinterpret_cast<const uint16_t*>(rows + (r0 + r) * stride) + c);
      }
      Transpose8(v);
      for (int l = 0; l < 8; ++l) _mm256_store_ps(columns[c + l], v[l]);
    }
    for (int i = 0; i < n_q; ++i) {
      const float* qi = q[i];
      __m256 acc[8];
      for (int l = 0; l < 8; ++l) acc[l] = _mm256_setzero_ps();
      for (int d0 = 0; d0 < dim; d0 += 8) {
#pragma GCC unroll 8
        for (int l = 0; l < 8; ++l) {
          acc[l] = _mm256_fmadd_ps(_mm256_load_ps(columns[d0 + l]),
                                   _mm256_broadcast_ss(qi + d0 + l), acc[l]);
        }
      }
      _mm256_storeu_ps(out[i] + r0, _mm256_mul_ps(TreeHalves(acc), vscale));
    }
  }
}

// The 8-lane vectors f[r] of 8 rows reduced as ReduceAdd8Pairs does each
// (s_j = l_j + l_{j+4}, then (s0 + s1) + (s2 + s3)), the 8 sums in row
// order: the lanes of row pairs are first split across 128-bit halves, so
// that two horizontal adds finish every row at once.
inline __m256 ReducePairsOfRows(const __m256 (&f)[8]) {
  __m256 s[4];
  for (int p = 0; p < 4; ++p) {
    // Rows 2p (low half) and 2p + 1 (high half): s_0..s_3 each.
    s[p] = _mm256_add_ps(_mm256_permute2f128_ps(f[2 * p], f[2 * p + 1], 0x20),
                         _mm256_permute2f128_ps(f[2 * p], f[2 * p + 1], 0x31));
  }
  // Rows (0, 2, 4, 6 | 1, 3, 5, 7).
  const __m256 rows =
      _mm256_hadd_ps(_mm256_hadd_ps(s[0], s[1]), _mm256_hadd_ps(s[2], s[3]));
  return _mm256_permutevar8x32_ps(rows,
                                  _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// DotRowsQ's decoding order for 8 rows at a time (dim % 32 == 0): each row
// is converted once and meets the Q queries in registers, its 4
// accumulators folded per query as there, and ReducePairsOfRows finishes 8
// rows of a query at once. Rows past the last multiple of 8 are left to
// DotRowsQ.
template <int Q>
void DotRowsByEight(const float* const* q, const uint8_t* rows, size_t stride,
                    int n_rows, int dim, float scale, float* const* out) {
  const __m256 vscale = _mm256_set1_ps(scale);
  for (int r0 = 0; r0 + 8 <= n_rows; r0 += 8) {
    __m256 f[Q][8];
    for (int r = 0; r < 8; ++r) {
      const uint16_t* row =
          reinterpret_cast<const uint16_t*>(rows + (r0 + r) * stride);
      __m256 acc[Q][4];
      for (int i = 0; i < Q; ++i) {
        for (int j = 0; j < 4; ++j) acc[i][j] = _mm256_setzero_ps();
      }
      for (int d = 0; d < dim; d += 32) {
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
          const __m256 k = Load8(row + d + 8 * j);
#pragma GCC unroll 4
          for (int i = 0; i < Q; ++i) {
            acc[i][j] = _mm256_fmadd_ps(k, _mm256_loadu_ps(q[i] + d + 8 * j),
                                        acc[i][j]);
          }
        }
      }
      for (int i = 0; i < Q; ++i) {
        f[i][r] = _mm256_add_ps(_mm256_add_ps(acc[i][0], acc[i][2]),
                                _mm256_add_ps(acc[i][1], acc[i][3]));
      }
    }
    for (int i = 0; i < Q; ++i) {
      _mm256_storeu_ps(out[i] + r0,
                       _mm256_mul_ps(ReducePairsOfRows(f[i]), vscale));
    }
  }
}

// Calls run(Q, i) for runs of Q queries from i, Q = 4 where 4 are left
// (their accumulators fill the registers), Q a compile-time constant.
template <typename Run>
void InQuads(int n_q, Run run) {
  for (int i = 0; i < n_q; i += 4) {
    switch (n_q - i) {
      case 1:
        run(std::integral_constant<int, 1>{}, i);
        break;
      case 2:
        run(std::integral_constant<int, 2>{}, i);
        break;
      case 3:
        run(std::integral_constant<int, 3>{}, i);
        break;
      default:
        run(std::integral_constant<int, 4>{}, i);
        break;
    }
  }
}

template <bool kBatched>
void DotRowsQuads(int n_q, const float* const* q, const uint8_t* rows,
                  size_t stride, int n_rows, int dim, float scale,
                  float* const* out) {
  InQuads(n_q, [&](auto quad, int i) {
    DotRowsQ<decltype(quad)::value, kBatched>(q + i, rows, stride, n_rows, dim,
                                              scale, out + i);
  });
}

// Head sizes the transposed (prompt) dots take: every column of a query
// costs a broadcast, which longer rows amortize better in DotRowsQ's own
// reduction.
constexpr int kMaxTransposedDim = 128;

template <bool kBatched>
void DotRowsF16Multi(int n_q, const float* const* q, const uint8_t* rows,
                     size_t stride, int n_rows, int dim, float scale,
                     float* const* out) {
  if (dim % 8 != 0) {
    // The one-query prompt kernel takes the decoding order there.
    return DotRowsQuads<false>(n_q, q, rows, stride, n_rows, dim, scale, out);
  }
  if (n_rows < 8 || (kBatched && dim > kMaxTransposedDim) ||
      (!kBatched && dim % 32 != 0)) {
    return DotRowsQuads<kBatched>(n_q, q, rows, stride, n_rows, dim, scale,
                                  out);
  }
  if constexpr (kBatched) {
    DotRowsTransposed(n_q, q, rows, stride, n_rows, dim, scale, out);
  } else {
    InQuads(n_q, [&](auto quad, int i) {
      DotRowsByEight<decltype(quad)::value>(q + i, rows, stride, n_rows, dim,
                                            scale, out + i);
    });
  }
  const int done = n_rows & ~7;
  if (done == n_rows) return;
  float* rest[kMaxQueries];
  for (int i = 0; i < n_q; ++i) rest[i] = out[i] + done;
  DotRowsQuads<kBatched>(n_q, q, rows + done * stride, stride, n_rows - done,
                         dim, scale, rest);
}

// out[i] = sum_r w[i][r] row_r with the positions split into classes r mod
// (8 * kClasses) as WeightedSumF16Lanes8<kClasses, ...> of vec_ops_avx2.cc
// splits them: each class summed in order; the classes of lane l folded
// (0 + 2) + (1 + 3) when there are 4 (decoding); then the 8 lanes reduced
// per dim, in pairs when decoding (TreePairs), in halves for a prompt
// (TreeHalves).
//
// Walking one class at a time would jump kPeriod rows per load; instead
// the rows go in blocks of kBlockPeriods * kPeriod, each block's classes in
// turn, with the class sums kept in memory between blocks and the next
// block prefetched a slice per class: the same additions in the same order.
template <int Q, int kClasses>
void WeightedSumQ(const float* const* w, const uint8_t* rows, size_t stride,
                  int n_rows, int dim, float* const* out) {
  constexpr int kPeriod = 8 * kClasses;
  constexpr int kBlockPeriods = 8;
  constexpr int kBlock = kBlockPeriods * kPeriod;
  constexpr int kPassDims = 16;  // Q x 2 accumulators stay in registers
  constexpr int kNv = kPassDims / 8;
  for (int d0 = 0; d0 < dim; d0 += kPassDims) {
    const int nv = (dim - d0 >= kPassDims ? kPassDims : dim - d0) / 8;
    const size_t row_bytes = static_cast<size_t>(nv) * 16;
    alignas(32) __m256 sums[8][kClasses][Q][kNv];
    for (int l = 0; l < 8; ++l) {
      for (int c = 0; c < kClasses; ++c) {
        for (int i = 0; i < Q; ++i) {
          for (int v = 0; v < kNv; ++v) sums[l][c][i][v] = _mm256_setzero_ps();
        }
      }
    }
    for (int b0 = 0; b0 < n_rows; b0 += kBlock) {
      const int b_end = n_rows - b0 < kBlock ? n_rows : b0 + kBlock;
      const uint8_t* next = rows + static_cast<size_t>(b0 + kBlock) * stride +
                            static_cast<size_t>(d0) * 2;
      const int n_next = n_rows - (b0 + kBlock);
      for (int l = 0; l < 8; ++l) {
        for (int c = 0; c < kClasses; ++c) {
          // Prefetch this class's share of the next block's rows.
          const int slice = (l * kClasses + c) * kBlockPeriods;
          for (int r = slice; r < slice + kBlockPeriods && r < n_next; ++r) {
            const char* line = reinterpret_cast<const char*>(next + r * stride);
            for (size_t o = 0; o < row_bytes; o += 64) {
              _mm_prefetch(line + o, _MM_HINT_T0);
            }
          }
          __m256 acc[Q][kNv];
          for (int i = 0; i < Q; ++i) {
            for (int v = 0; v < kNv; ++v) acc[i][v] = sums[l][c][i][v];
          }
          for (int p = b0 + l + 8 * c; p < b_end; p += kPeriod) {
            const uint16_t* row =
                reinterpret_cast<const uint16_t*>(rows + p * stride) + d0;
            __m256 wp[Q];
            for (int i = 0; i < Q; ++i) wp[i] = _mm256_set1_ps(w[i][p]);
#pragma GCC unroll 2
            for (int v = 0; v < kNv; ++v) {
              if (v >= nv) break;
              const __m256 x = Load8(row + 8 * v);
#pragma GCC unroll 4
              for (int i = 0; i < Q; ++i) {
                acc[i][v] = _mm256_fmadd_ps(wp[i], x, acc[i][v]);
              }
            }
          }
          for (int i = 0; i < Q; ++i) {
            for (int v = 0; v < kNv; ++v) sums[l][c][i][v] = acc[i][v];
          }
        }
      }
    }
    for (int i = 0; i < Q; ++i) {
      for (int v = 0; v < nv; ++v) {
        __m256 f[8];
        for (int l = 0; l < 8; ++l) {
          f[l] = sums[l][0][i][v];
          if constexpr (kClasses == 4) {
            f[l] = _mm256_add_ps(
                _mm256_add_ps(sums[l][0][i][v], sums[l][2][i][v]),
                _mm256_add_ps(sums[l][1][i][v], sums[l][3][i][v]));
          }
        }
        _mm256_storeu_ps(out[i] + d0 + 8 * v,
                         kClasses == 4 ? TreePairs(f) : TreeHalves(f));
      }
    }
  }
}

template <int kClasses>
void WeightedSumF16Multi(int n_q, const float* const* w, const uint8_t* rows,
                         size_t stride, int n_rows, int dim,
                         float* const* out) {
  if (dim % 8 != 0 || dim > kMaxDim) {
    // The one-query kernels' plain order there.
    const VecOps& one = Avx2OrderVecOps();
    for (int i = 0; i < n_q; ++i) {
      (kClasses == 4 ? one.weighted_sum_f16 : one.weighted_sum_f16_batched)(
          w[i], rows, stride, n_rows, dim, out[i]);
    }
    return;
  }
  InQuads(n_q, [&](auto quad, int i) {
    WeightedSumQ<decltype(quad)::value, kClasses>(w + i, rows, stride, n_rows,
                                                  dim, out + i);
  });
}

}  // namespace

MultiQueryOps Avx2OrderMultiQueryOps() {
  return {.max_dim = kMaxDim,
          .dot_rows_f16 = DotRowsF16Multi<false>,
          .dot_rows_f16_batched = DotRowsF16Multi<true>,
          .weighted_sum_f16 = WeightedSumF16Multi<4>,
          .weighted_sum_f16_batched = WeightedSumF16Multi<1>};
}

}  // namespace ggufd::model
