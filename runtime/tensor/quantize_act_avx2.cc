// Activation conversion to q8_0 / q8_1 / q8_K at AVX2: the same bits as the
// scalar QuantizeActivationsQ8_0/Q8_1 (ggml's AVX2 quantize_row_q8_0/q8_1):
// the scale from the block's largest magnitude, x * (127 / amax) rounded to
// nearest even, and for q8_1 the half-float d * sum(q); and as the scalar
// QuantizeActivationsQ8_K(Grouped). The scalar versions round each value
// through lrintf, which cost a tenth of a prompt's time.
// Compiled with the AVX2 flags; reached only through type_traits.h after CPU
// detection.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/simd_kernels.h"

namespace ggufd::tensor::avx2 {
namespace {

struct BlockStats {
  float d;      // before rounding to half
  int32_t sum;  // of the quants
};

// 32 int32 quants (clamped to int8) as bytes, in order.
inline void StoreBytes(const __m256i (&q)[4], int8_t* out) {
  // The packs interleave 128-bit lanes; the permute puts values in order.
  const __m256i bytes = _mm256_permutevar8x32_epi32(
      _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]),
                         _mm256_packs_epi32(q[2], q[3])),
      _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), bytes);
}

// Quantizes 32 values.
inline BlockStats QuantizeBlock(const float* x, uint16_t* d_out, int8_t* qs) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 v[4];
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_loadu_ps(x + 8 * i);
    // A NaN loses to m, as in the scalar std::max(amax, |x|).
    m = _mm256_max_ps(_mm256_andnot_ps(sign, v[i]), m);
  }
  // The largest magnitude (max is exact in any order).
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  const float amax = _mm_cvtss_f32(h);
  const float d = amax / 127.0f;
  const float id = amax != 0 ? 127.0f / amax : 0.0f;
  *d_out = static_cast<uint16_t>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
  const __m256 scale = _mm256_set1_ps(id);
  const __m256i lo = _mm256_set1_epi32(-128);
  const __m256i hi = _mm256_set1_epi32(127);
  __m256i q[4];
  for (int i = 0; i < 4; ++i) {
    q[i] = _mm256_min_epi32(
        _mm256_max_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(v[i], scale)), lo),
        hi);
  }
  // The packs interleave 128-bit lanes; the permute puts values in order.
  StoreBytes(q, qs);
  const __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]),
                                     _mm256_add_epi32(q[2], q[3]));
  __m128i t =
      _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  t = _mm_add_epi32(t, _mm_unpackhi_epi64(t, t));
  t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 1));
  return {d, _mm_cvtsi128_si32(t)};
}

// The sums of the 8 lanes of each of s[0..3], in order.
inline __m128i LaneSums4(const __m256i (&s)[4]) {
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(s[0], s[1]),
                                      _mm256_hadd_epi32(s[2], s[3]));
  return _mm_add_epi32(_mm256_castsi256_si128(h),
                       _mm256_extracti128_si256(h, 1));
}

// One q8_K block of 256 values (QuantizeRowQ8_KImpl of q8_k.cc): the value
// of largest magnitude, the first one in order (or +amax when
// prefer_positive and it is there), maps to -127.
void QuantizeBlockQ8_K(const float* x, BlockQ8_K& y, bool prefer_positive) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < 32; ++i) {
    // A NaN loses to m, as the scalar comparison skips it.
    m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * i)), m);
  }
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  const float amax = _mm_cvtss_f32(h);
  if (amax == 0) {
    std::memset(&y, 0, sizeof(y));
    return;
  }
  const __m256 vamax = _mm256_set1_ps(amax);
  float max = amax;
  bool has_positive = false;
  for (int i = 0; i < 32; ++i) {
    const __m256 v = _mm256_loadu_ps(x + 8 * i);
    const int at = _mm256_movemask_ps(
        _mm256_cmp_ps(_mm256_andnot_ps(sign, v), vamax, _CMP_EQ_OQ));
    if (at != 0) {
      max = x[8 * i + __builtin_ctz(static_cast<unsigned>(at))];
      break;
    }
  }
  if (prefer_positive && max < 0) {
    for (int i = 0; i < 32 && !has_positive; ++i) {
      has_positive = _mm256_movemask_ps(_mm256_cmp_ps(
                         _mm256_loadu_ps(x + 8 * i), vamax, _CMP_EQ_OQ)) != 0;
    }
    if (has_positive) max = amax;
  }
  const float iscale = -127.0f / max;
  const __m256 scale = _mm256_set1_ps(iscale);
  const __m256i lo = _mm256_set1_epi32(-128);
  const __m256i hi = _mm256_set1_epi32(127);
  for (int c = 0; c < 4; ++c) {  // 64 values: groups 4c..4c+3
    __m256i q[8];
    for (int i = 0; i < 8; ++i) {
      q[i] = _mm256_min_epi32(
          _mm256_max_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(
                               scale, _mm256_loadu_ps(x + 64 * c + 8 * i))),
                           lo),
          hi);
    }
    StoreBytes({q[0], q[1], q[2], q[3]}, y.qs + 64 * c);
    StoreBytes({q[4], q[5], q[6], q[7]}, y.qs + 64 * c + 32);
    const __m256i g[4] = {
        _mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]),
        _mm256_add_epi32(q[4], q[5]), _mm256_add_epi32(q[6], q[7])};
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y.bsums + 4 * c),
                     _mm_packs_epi32(LaneSums4(g), _mm_setzero_si128()));
  }
  y.d = 1 / iscale;
}

}  // namespace

void QuantizeActivationsQ8_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    QuantizeBlock(src, &y[b].d, y[b].qs);
  }
}

void QuantizeActivationsQ8_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_1*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    const BlockStats st = QuantizeBlock(src, &y[b].d, y[b].qs);
    y[b].s = static_cast<uint16_t>(_cvtss_sh(st.d * static_cast<float>(st.sum),
                                             _MM_FROUND_TO_NEAREST_INT));
  }
}

void QuantizeActivationsQ8_K(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(dst);
  for (int64_t b = 0; b < n / kQKK; ++b) {
    QuantizeBlockQ8_K(src + b * kQKK, y[b], /*prefer_positive=*/false);
  }
}

void QuantizeActivationsQ8_KGrouped(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(dst);
  for (int64_t b = 0; b < n / kQKK; ++b) {
    QuantizeBlockQ8_K(src + b * kQKK, y[b], /*prefer_positive=*/true);
  }
}

}  // namespace ggufd::tensor::avx2
