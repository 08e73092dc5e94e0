// Attention kernels for AVX2 + FMA + F16C. This file alone is compiled with
// those -m flags; it is only called when the CPU has them. It includes no
// inline functions shared with baseline code (such as tensor/fp16.h): the
// linker could keep this file's AVX2 copy for every caller.
#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "runtime/model/vec_ops.h"
#include "runtime/model/vec_ops_avx2_impl.h"

namespace ggufd::model {
namespace {

// Head sizes up to this take the reference-ordered V sums (a stack buffer
// of 16 rows); larger ones keep the plain order.
constexpr int kMaxOrderedDim = 256;

__m256 Load8(const float* p) { return _mm256_loadu_ps(p); }
float Load1(const float* p) { return *p; }
float Load1(const uint16_t* p) { return _cvtsh_ss(*p); }

template <typename T>
void DotRows(const float* q, const uint8_t* rows, size_t stride, int n_rows,
             int dim, float scale, float* out) {
  for (int r = 0; r < n_rows; ++r) {
    const T* row = reinterpret_cast<const T*>(rows + r * stride);
    __m256 acc0 = _mm256_setzero_ps();
    __m256 acc1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= dim; i += 16) {
      acc0 = _mm256_fmadd_ps(Load8(q + i), Load8(row + i), acc0);
      acc1 = _mm256_fmadd_ps(Load8(q + i + 8), Load8(row + i + 8), acc1);
    }
    for (; i + 8 <= dim; i += 8) {
      acc0 = _mm256_fmadd_ps(Load8(q + i), Load8(row + i), acc0);
    }
    float s = HorizontalSum(_mm256_add_ps(acc0, acc1));
    for (; i < dim; ++i) s += q[i] * Load1(row + i);
    out[r] = s * scale;
  }
}

// Sums rows into `kBlocks` accumulators of 8 values held in registers, for
// the dims [i0, i0 + 8 * kBlocks).
template <typename T, int kBlocks>
void WeightedSumBlock(const float* w, const uint8_t* rows, size_t stride,
                      int n_rows, int i0, float* out) {
  __m256 acc[kBlocks];
  for (int b = 0; b < kBlocks; ++b) acc[b] = _mm256_setzero_ps();
  for (int r = 0; r < n_rows; ++r) {
    const T* row = reinterpret_cast<const T*>(rows + r * stride) + i0;
    const __m256 wr = _mm256_set1_ps(w[r]);
    for (int b = 0; b < kBlocks; ++b) {
      acc[b] = _mm256_fmadd_ps(wr, Load8(row + 8 * b), acc[b]);
    }
  }
  for (int b = 0; b < kBlocks; ++b) _mm256_storeu_ps(out + i0 + 8 * b, acc[b]);
}

template <typename T>
void WeightedSum(const float* w, const uint8_t* rows, size_t stride, int n_rows,
                 int dim, float* out) {
  int i = 0;
  for (; i + 64 <= dim; i += 64) {
    WeightedSumBlock<T, 8>(w, rows, stride, n_rows, i, out);
  }
  for (; i + 8 <= dim; i += 8) {
    WeightedSumBlock<T, 1>(w, rows, stride, n_rows, i, out);
  }
  for (; i < dim; ++i) {
    float s = 0;
    for (int r = 0; r < n_rows; ++r) {
      s += w[r] * Load1(reinterpret_cast<const T*>(rows + r * stride) + i);
    }
    out[i] = s;
  }
}

void ToF16(const float* x, uint16_t* y, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(
        reinterpret_cast<__m128i*>(y + i),
        _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; ++i) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

void RoundF16(float* x, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(
        x + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i),
                                               _MM_FROUND_TO_NEAREST_INT)));
  }
  for (; i < n; ++i)
    x[i] = _cvtsh_ss(_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT));
}

// exp(x), computed the way llama.cpp's CPU backend does on AVX-512: x =
// n ln2 + b with n = round(x / ln2) (ln2 split in two for an exact
// remainder), exp(b) by a degree-5 polynomial, times 2^n in one rounding;
// |n| > 192 saturates to 0 or infinity.
__m256 Exp(__m256 x) {
  const __m256 shift = _mm256_set1_ps(0x1.8p23f);
  const __m256 n = _mm256_sub_ps(
      _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shift), shift);
  const __m256 b =
      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                       _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
  const __m256 b2 = _mm256_mul_ps(b, b);
  const __m256 p = _mm256_fmadd_ps(
      _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b,
                                      _mm256_set1_ps(0x1.573e2ep-5f)),
                      b2,
                      _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b,
                                      _mm256_set1_ps(0x1.fffdb6p-2f))),
      b2,
      _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1)));
  // p * 2^n as p * 2^h * 2^(n - h): the first product is exact (|h| <= 96
  // keeps it normal), so only the second rounds, like a single scaling.
  const __m256 h = _mm256_floor_ps(_mm256_mul_ps(n, _mm256_set1_ps(0.5f)));
  auto pow2 = [](__m256 k) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(
        _mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23));
  };
  const __m256 big = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), n),
                                   _mm256_set1_ps(192), _CMP_GT_OQ);
  const __m256 safe_h = _mm256_andnot_ps(big, h);
  const __m256 safe_n = _mm256_andnot_ps(big, n);
  const __m256 r = _mm256_mul_ps(_mm256_mul_ps(p, pow2(safe_h)),
                                 pow2(_mm256_sub_ps(safe_n, safe_h)));
  const __m256 saturated =
      _mm256_and_ps(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_GT_OQ),
                    _mm256_set1_ps(__builtin_inff()));
  return _mm256_blendv_ps(r, saturated, big);
}

void SiluMul(float* gate, const float* up, int n) {
  // The reference runs 16 lanes at a time and its tail through libm.
  const int vector_end = n - n % 16;
  int i = 0;
  for (; i < vector_end; i += 8) {
    const __m256 x = _mm256_loadu_ps(gate + i);
    const __m256 e = Exp(_mm256_sub_ps(_mm256_setzero_ps(), x));
    const __m256 silu = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1), e));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  // ::expf, not the inline std::exp, per the note at the top.
  for (; i < n; ++i) gate[i] = gate[i] / (1.0f + ::expf(-gate[i])) * up[i];
}

void GeluMul(const float* table, float* gate, const float* up, int n) {
  const __m256 lo = _mm256_set1_ps(-10.0f);
  const __m256 hi = _mm256_set1_ps(10.0f);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256i index = _mm256_cvtepu16_epi32(
        _mm256_cvtps_ph(g, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256 gelu = _mm256_i32gather_ps(table, index, 4);
    gelu = _mm256_blendv_ps(gelu, _mm256_setzero_ps(),
                            _mm256_cmp_ps(g, lo, _CMP_LE_OQ));
    gelu = _mm256_blendv_ps(gelu, g, _mm256_cmp_ps(g, hi, _CMP_GE_OQ));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(gelu, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) {
    const float g = gate[i];
    const float gelu = g <= -10.0f  ? 0.0f
                       : g >= 10.0f ? g
                                    : table[static_cast<uint16_t>(_cvtss_sh(
                                          g, _MM_FROUND_TO_NEAREST_INT))];
    gate[i] = gelu * up[i];
  }
}

// The 16 lanes lo (0-7), hi (8-15) summed in the order of GCC's
// _mm512_reduce_add_ps, which ends llama.cpp's AVX-512 F16 dot products:
// halves, then quarters, then (0 + 2) + (1 + 3).
float ReduceAdd16(__m256 lo, __m256 hi) {
  const __m256 a = _mm256_add_ps(lo, hi);
  __m128 b = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  b = _mm_add_ps(b, _mm_movehl_ps(b, b));
  b = _mm_add_ss(b, _mm_movehdup_ps(b));
  return _mm_cvtss_f32(b);
}

// ReduceAdd16 lane by lane over 16 rows of `dim` floats: out[d] = the
// reduction of x[0..15][d].
void ReduceAdd16Rows(const float (*x)[kMaxOrderedDim], int dim, float* out) {
  for (int d = 0; d < dim; d += 8) {
    __m256 a[8];
    for (int i = 0; i < 8; ++i) {
      a[i] =
          _mm256_add_ps(_mm256_load_ps(x[i] + d), _mm256_load_ps(x[i + 8] + d));
    }
    const __m256 r = _mm256_add_ps(
        _mm256_add_ps(_mm256_add_ps(a[0], a[4]), _mm256_add_ps(a[2], a[6])),
        _mm256_add_ps(_mm256_add_ps(a[1], a[5]), _mm256_add_ps(a[3], a[7])));
    _mm256_storeu_ps(out + d, r);
  }
}

// q . k over F16 K rows as ggml_vec_dot_f16 at AVX-512 (decoding): 4
// accumulators of 16 lanes over steps of 64 values, folded (0 + 2) + (1 +
// 3), reduced, and any remainder added in double.
void DotRowsF16(const float* q, const uint8_t* rows, size_t stride, int n_rows,
                int dim, float scale, float* out) {
  const int np = dim & ~63;
  for (int r = 0; r < n_rows; ++r) {
    const uint16_t* row = reinterpret_cast<const uint16_t*>(rows + r * stride);
    __m256 s[4][2];
    for (int j = 0; j < 4; ++j) s[j][0] = s[j][1] = _mm256_setzero_ps();
    for (int i = 0; i < np; i += 64) {
      for (int j = 0; j < 4; ++j) {
        for (int h = 0; h < 2; ++h) {
          const int at = i + 16 * j + 8 * h;
          s[j][h] = _mm256_fmadd_ps(Load8(row + at), Load8(q + at), s[j][h]);
        }
      }
    }
    __m256 f[2];
    for (int h = 0; h < 2; ++h) {
      f[h] = _mm256_add_ps(_mm256_add_ps(s[0][h], s[2][h]),
                           _mm256_add_ps(s[1][h], s[3][h]));
    }
    double sum = ReduceAdd16(f[0], f[1]);
    for (int i = np; i < dim; ++i) {
      sum += static_cast<double>(Load1(row + i) * q[i]);
    }
    out[r] = static_cast<float>(sum) * scale;
  }
}

// q . k as llama.cpp's tiled matmul (tinyBLAS, prompt batches) sums it: one
// 16-lane accumulator over steps of 16 values, then reduced.
void DotRowsF16Tiled(const float* q, const uint8_t* rows, size_t stride,
                     int n_rows, int dim, float scale, float* out) {
  if (dim % 16 != 0)
    return DotRowsF16(q, rows, stride, n_rows, dim, scale, out);
  for (int r = 0; r < n_rows; ++r) {
    const uint16_t* row = reinterpret_cast<const uint16_t*>(rows + r * stride);
    __m256 lo = _mm256_setzero_ps();
    __m256 hi = _mm256_setzero_ps();
    for (int i = 0; i < dim; i += 16) {
      lo = _mm256_fmadd_ps(Load8(row + i), Load8(q + i), lo);
      hi = _mm256_fmadd_ps(Load8(row + i + 8), Load8(q + i + 8), hi);
    }
    out[r] = ReduceAdd16(lo, hi) * scale;
  }
}

// Class sums of the V rows: x[l][d] = sum over positions p with p mod
// kLanes == l of w[p] v_p[d], the positions of lane l split further into
// classes by (p / kLanes) mod kClasses as the reference's accumulators split
// them (each class summed in order), the classes folded (0 + 2) + (1 + 3)
// when there are 4. The caller reduces the lanes as its reference does.
template <int kLanes, int kClasses>
void ClassSumsF16(const float* w, const uint8_t* rows, size_t stride,
                  int n_rows, int dim, float (*x)[kMaxOrderedDim]) {
  constexpr int kPeriod = kLanes * kClasses;
  for (int l = 0; l < kLanes; ++l) {
    for (int d0 = 0; d0 < dim; d0 += 32) {
      const int nv = dim - d0 >= 32 ? 4 : (dim - d0) / 8;
      __m256 acc[kClasses][4];
      for (int j = 0; j < kClasses; ++j) {
        for (int v = 0; v < 4; ++v) acc[j][v] = _mm256_setzero_ps();
        for (int p = l + kLanes * j; p < n_rows; p += kPeriod) {
          const __m256 wp = _mm256_set1_ps(w[p]);
          const uint16_t* row =
              reinterpret_cast<const uint16_t*>(rows + p * stride) + d0;
          for (int v = 0; v < nv; ++v) {
            acc[j][v] = _mm256_fmadd_ps(wp, Load8(row + 8 * v), acc[j][v]);
          }
        }
      }
      for (int v = 0; v < nv; ++v) {
        __m256 f = acc[0][v];
        if constexpr (kClasses == 4) {
          f = _mm256_add_ps(_mm256_add_ps(acc[0][v], acc[2][v]),
                            _mm256_add_ps(acc[1][v], acc[3][v]));
        }
        _mm256_store_ps(x[l] + d0 + 8 * v, f);
      }
    }
  }
}

// sum_r w[r] v_r in the order of the AVX-512 reference's 16 lanes (4
// classes: ggml's dot with 4 accumulators; 1: the tiled matmul), the lanes
// reduced as _mm512_reduce_add_ps does.
template <int kClasses>
void WeightedSumF16Lanes(const float* w, const uint8_t* rows, size_t stride,
                         int n_rows, int dim, float* out) {
  alignas(32) float x[16][kMaxOrderedDim];
  ClassSumsF16<16, kClasses>(w, rows, stride, n_rows, dim, x);
  ReduceAdd16Rows(x, dim, out);
}

// Probabilities times F16 V as ggml_vec_dot_f16 over positions (decoding).
void WeightedSumF16(const float* w, const uint8_t* rows, size_t stride,
                    int n_rows, int dim, float* out) {
  if (dim % 8 != 0 || dim > kMaxOrderedDim) {
    return WeightedSum<uint16_t>(w, rows, stride, n_rows, dim, out);
  }
  WeightedSumF16Lanes<4>(w, rows, stride, n_rows, dim, out);
}

// The same as the tiled matmul orders it (prompt batches).
void WeightedSumF16Tiled(const float* w, const uint8_t* rows, size_t stride,
                         int n_rows, int dim, float* out) {
  if (dim % 8 != 0 || dim > kMaxOrderedDim) {
    return WeightedSum<uint16_t>(w, rows, stride, n_rows, dim, out);
  }
  WeightedSumF16Lanes<1>(w, rows, stride, n_rows, dim, out);
}

// exp(x - max) with Exp in groups of 16 (the reference's masked padding
// fills the last group with zeros), their reductions summed in double.
void Softmax(float* x, int n) {
  float max = x[0];
  for (int i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
  const __m256 vmax = _mm256_set1_ps(max);
  double sum = 0;
  for (int i = 0; i < n; i += 16) {
    alignas(32) float group[16];
    const int count = n - i >= 16 ? 16 : n - i;
    for (int k = 0; k < 16; ++k)
      group[k] = k < count ? x[i + k] : -__builtin_inff();
    const __m256 lo = Exp(_mm256_sub_ps(_mm256_load_ps(group), vmax));
    const __m256 hi = Exp(_mm256_sub_ps(_mm256_load_ps(group + 8), vmax));
    _mm256_store_ps(group, lo);
    _mm256_store_ps(group + 8, hi);
    sum += static_cast<double>(ReduceAdd16(lo, hi));
    for (int k = 0; k < count; ++k) x[i + k] = group[k];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int i = 0; i < n; ++i) x[i] *= inv;
}

// --- llama.cpp's own AVX2 orders (8 lanes), which its CPU backend takes on
// a CPU without AVX-512 -------------------------------------------------

// exp(x) as llama.cpp computes it with AVX2 (an approximation within about
// 1.5 ulp): n = round(x / ln2), exp(b) of the remainder by a polynomial
// without its constant term, then 1 + that scaled by 2^n through the
// exponent bits; where |n| > 126 the scaling goes in two factors so it
// neither overflows nor flushes early, and past |n| > 192 it saturates.
__m256 Exp8(__m256 x) {
  const __m256 shift = _mm256_set1_ps(0x1.8p23f);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shift);
  const __m256 n = _mm256_sub_ps(z, shift);
  const __m256 b =
      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                       _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
  // z's low bits hold n: shifted into the exponent field, plus 1.0's bits,
  // they make 2^n.
  const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
  const __m256 scale = _mm256_castsi256_ps(
      _mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1))));
  const __m256 abs_n = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
  const __m256 b2 = _mm256_mul_ps(b, b);
  const __m256 poly = _mm256_fmadd_ps(
      _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b,
                                      _mm256_set1_ps(0x1.573e2ep-5f)),
                      b2,
                      _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b,
                                      _mm256_set1_ps(0x1.fffdb6p-2f))),
      b2, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
  const __m256 wide = _mm256_cmp_ps(abs_n, _mm256_set1_ps(126), _CMP_GT_OQ);
  const __m256 plain = _mm256_fmadd_ps(poly, scale, scale);
  if (_mm256_movemask_ps(wide) == 0) return plain;
  // 2^n = s1 * s2 with s1 = 2^127 or 2^-125 by n's sign.
  const __m256i sign_bias = _mm256_and_si256(
      _mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
      _mm256_set1_epi32(static_cast<int>(0x82000000u)));
  const __m256 s1 = _mm256_castsi256_ps(
      _mm256_add_epi32(sign_bias, _mm256_set1_epi32(0x7f000000)));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, sign_bias));
  const __m256 split = _mm256_mul_ps(_mm256_fmadd_ps(s2, poly, s2), s1);
  const __m256 saturated =
      _mm256_cmp_ps(abs_n, _mm256_set1_ps(192), _CMP_GT_OQ);
  return _mm256_blendv_ps(_mm256_blendv_ps(plain, split, wide),
                          _mm256_mul_ps(s1, s1), saturated);
}

// q . k over F16 K rows as ggml_vec_dot_f16 with AVX2 (decoding): 4
// accumulators of 8 lanes over steps of 32 values, folded (0 + 2) + (1 +
// 3), reduced, and any remainder added in double.
void DotRowsF16x8(const float* q, const uint8_t* rows, size_t stride,
                  int n_rows, int dim, float scale, float* out) {
  const int np = dim & ~31;
  for (int r = 0; r < n_rows; ++r) {
    const uint16_t* row = reinterpret_cast<const uint16_t*>(rows + r * stride);
    __m256 s[4];
    for (int j = 0; j < 4; ++j) s[j] = _mm256_setzero_ps();
    for (int i = 0; i < np; i += 32) {
      for (int j = 0; j < 4; ++j) {
        s[j] =
            _mm256_fmadd_ps(Load8(row + i + 8 * j), Load8(q + i + 8 * j), s[j]);
      }
    }
    double sum = ReduceAdd8Pairs(
        _mm256_add_ps(_mm256_add_ps(s[0], s[2]), _mm256_add_ps(s[1], s[3])));
    for (int i = np; i < dim; ++i) {
      sum += static_cast<double>(Load1(row + i) * q[i]);
    }
    out[r] = static_cast<float>(sum) * scale;
  }
}

// q . k as the tiled matmul sums it with AVX2 (prompt batches): one 8-lane
// accumulator over steps of 8 values, reduced as HorizontalSum does.
void DotRowsF16Tiledx8(const float* q, const uint8_t* rows, size_t stride,
                       int n_rows, int dim, float scale, float* out) {
  if (dim % 8 != 0) {
    return DotRowsF16x8(q, rows, stride, n_rows, dim, scale, out);
  }
  for (int r = 0; r < n_rows; ++r) {
    const uint16_t* row = reinterpret_cast<const uint16_t*>(rows + r * stride);
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < dim; i += 8) {
      acc = _mm256_fmadd_ps(Load8(row + i), Load8(q + i), acc);
    }
    out[r] = HorizontalSum(acc) * scale;
  }
}

// sum_r w[r] v_r in the order of the AVX2 reference's 8 lanes, reduced in
// pairs (ReduceAdd8Pairs) when `kPairs`, in halves (HorizontalSum) if not.
template <int kClasses, bool kPairs>
void WeightedSumF16Lanes8(const float* w, const uint8_t* rows, size_t stride,
                          int n_rows, int dim, float* out) {
  alignas(32) float x[8][kMaxOrderedDim];
  ClassSumsF16<8, kClasses>(w, rows, stride, n_rows, dim, x);
  // Lane l of every dim at once: halves (l + l+4), then the pairs.
  for (int d = 0; d < dim; d += 8) {
    __m256 h[4];
    for (int k = 0; k < 4; ++k) {
      h[k] =
          _mm256_add_ps(_mm256_load_ps(x[k] + d), _mm256_load_ps(x[k + 4] + d));
    }
    const __m256 r = kPairs ? _mm256_add_ps(_mm256_add_ps(h[0], h[1]),
                                            _mm256_add_ps(h[2], h[3]))
                            : _mm256_add_ps(_mm256_add_ps(h[0], h[2]),
                                            _mm256_add_ps(h[1], h[3]));
    _mm256_storeu_ps(out + d, r);
  }
}

void WeightedSumF16x8(const float* w, const uint8_t* rows, size_t stride,
                      int n_rows, int dim, float* out) {
  if (dim % 8 != 0 || dim > kMaxOrderedDim) {
    return WeightedSum<uint16_t>(w, rows, stride, n_rows, dim, out);
  }
  WeightedSumF16Lanes8<4, true>(w, rows, stride, n_rows, dim, out);
}

void WeightedSumF16Tiledx8(const float* w, const uint8_t* rows, size_t stride,
                           int n_rows, int dim, float* out) {
  if (dim % 8 != 0 || dim > kMaxOrderedDim) {
    return WeightedSum<uint16_t>(w, rows, stride, n_rows, dim, out);
  }
  WeightedSumF16Lanes8<1, false>(w, rows, stride, n_rows, dim, out);
}

// exp(x - max) with Exp8 in groups of 8 (the masked padding fills the last
// group with zeros), each group reduced as HorizontalSum does, the group
// sums added in double. The max and the scaling run 8 lanes at a time (the
// same values: a max is exact in any order, and vmaxps keeps its second
// operand where x is NaN, as the scalar comparison keeps the running max).
void Softmaxx8(float* x, int n) {
  __m256 m = _mm256_set1_ps(x[0]);
  int i = 0;
  for (; i + 8 <= n; i += 8) m = _mm256_max_ps(_mm256_loadu_ps(x + i), m);
  __m128 h = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
  h = _mm_max_ps(_mm_movehl_ps(h, h), h);
  h = _mm_max_ss(_mm_movehdup_ps(h), h);
  float max = _mm_cvtss_f32(h);
  for (; i < n; ++i) max = x[i] > max ? x[i] : max;
  const __m256 vmax = _mm256_set1_ps(max);
  double sum = 0;
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 e = Exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    _mm256_storeu_ps(x + i, e);
    sum += static_cast<double>(HorizontalSum(e));
  }
  if (i < n) {
    alignas(32) float group[8];
    const int count = n - i;
    for (int k = 0; k < 8; ++k) {
      group[k] = k < count ? x[i + k] : -__builtin_inff();
    }
    const __m256 e = Exp8(_mm256_sub_ps(_mm256_load_ps(group), vmax));
    _mm256_store_ps(group, e);
    sum += static_cast<double>(HorizontalSum(e));
    for (int k = 0; k < count; ++k) x[i + k] = group[k];
  }
  const float inv = static_cast<float>(1.0 / sum);
  const __m256 vinv = _mm256_set1_ps(inv);
  for (i = 0; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
  }
  for (; i < n; ++i) x[i] *= inv;
}

void SiluMulx8(float* gate, const float* up, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(gate + i);
    const __m256 e = Exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
    const __m256 silu = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1), e));
    _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) gate[i] = gate[i] / (1.0f + ::expf(-gate[i])) * up[i];
}

}  // namespace

const VecOps& Avx2OrderVecOps() {
  static const VecOps kOps = {DotRows<float>,
                              DotRowsF16x8,
                              WeightedSum<float>,
                              WeightedSumF16x8,
                              ToF16,
                              RoundF16,
                              SiluMulx8,
                              DotRowsF16Tiledx8,
                              WeightedSumF16Tiledx8,
                              Softmaxx8,
                              Avx2OrderMultiQueryOps(),
                              GeluMul};
  return kOps;
}

const VecOps& Avx2VecOps() {
  static constexpr VecOps kOps = {DotRows<float>,
                                  DotRowsF16,
                                  WeightedSum<float>,
                                  WeightedSumF16,
                                  ToF16,
                                  RoundF16,
                                  SiluMul,
                                  DotRowsF16Tiled,
                                  WeightedSumF16Tiled,
                                  Softmax,
                                  {},
                                  GeluMul};
  return kOps;
}

}  // namespace ggufd::model
