// Activation conversion to q8_0 / q8_1 at AVX2: the same bits as the scalar
// QuantizeActivationsQ8_0/Q8_1 (ggml's AVX2 quantize_row_q8_0/q8_1): the
// scale from the block's largest magnitude, x * (127 / amax) rounded to
// nearest even, and for q8_1 the half-float d * sum(q). The scalar version
// rounds each value through lrintf, which cost a tenth of a prompt's time.
// Compiled with the AVX2 flags; reached only through type_traits.h after CPU
// detection.
#include <immintrin.h>

#include <cstdint>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/simd_kernels.h"

namespace ggufd::tensor::avx2 {
namespace {

struct BlockStats {
  float d;      // before rounding to half
  int32_t sum;  // of the quants
};

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
  const __m256i bytes = _mm256_permutevar8x32_epi32(
      _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]),
                         _mm256_packs_epi32(q[2], q[3])),
      _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), bytes);
  const __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]),
                                     _mm256_add_epi32(q[2], q[3]));
  __m128i t =
      _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  t = _mm_add_epi32(t, _mm_unpackhi_epi64(t, t));
  t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 1));
  return {d, _mm_cvtsi128_si32(t)};
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

}  // namespace ggufd::tensor::avx2
