// Activation conversion to q8_0 / q8_1 at AVX-512: the same bits as the
// scalar QuantizeActivationsQ8_0/Q8_1 (and ggml's AVX2 quantize_row_q8_0/q8_1):
// the scale from the block's largest magnitude, x * (127 / amax) rounded to
// nearest even, and for q8_1 the half-float d * sum(q). Compiled with the
// AVX-512 flags; reached only through type_traits.h after CPU detection.
#include <immintrin.h>

// GCC 12 reports the deliberately undefined pass-through operands inside
// its own AVX-512 reductions as uninitialized once they are inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstdint>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/simd_kernels.h"

namespace ggufd::tensor::avx512 {
namespace {

struct BlockStats {
  float d;      // before rounding to half
  int32_t sum;  // of the quants
};

// Quantizes 32 values.
inline BlockStats QuantizeBlock(const float* x, uint16_t* d_out, int8_t* qs) {
  const __m512 v0 = _mm512_loadu_ps(x);
  const __m512 v1 = _mm512_loadu_ps(x + 16);
  // A NaN magnitude counts as 0, as the scalar std::max(amax, |x|) skips it.
  const __m512 a0 = _mm512_abs_ps(v0);
  const __m512 a1 = _mm512_abs_ps(v1);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(
      _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a0, a0, _CMP_ORD_Q), a0),
      _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a1, a1, _CMP_ORD_Q), a1)));
  const float d = amax / 127.0f;
  const float id = amax != 0 ? 127.0f / amax : 0.0f;
  *d_out = static_cast<uint16_t>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
  const __m512 scale = _mm512_set1_ps(id);
  const __m512i lo = _mm512_set1_epi32(-128);
  const __m512i hi = _mm512_set1_epi32(127);
  const __m512i q0 = _mm512_min_epi32(
      _mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v0, scale)), lo), hi);
  const __m512i q1 = _mm512_min_epi32(
      _mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v1, scale)), lo), hi);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm512_cvtepi32_epi8(q0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 16),
                   _mm512_cvtepi32_epi8(q1));
  return {d, _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1))};
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

}  // namespace ggufd::tensor::avx512
