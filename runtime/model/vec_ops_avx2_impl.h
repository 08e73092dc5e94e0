// Lane helpers of the AVX2 attention kernels (vec_ops_avx2.cc,
// vec_ops_multi_avx2.cc): llama.cpp's two AVX2 reductions of 8 lanes and the
// F16 load. Compiled into each including translation unit with internal
// linkage, so no inline function built with the AVX2 flags is shared with
// baseline code; include only from files compiled with those flags.
#ifndef GGUFD_RUNTIME_MODEL_VEC_OPS_AVX2_IMPL_H_
#define GGUFD_RUNTIME_MODEL_VEC_OPS_AVX2_IMPL_H_

#include <immintrin.h>

#include <cstdint>

namespace ggufd::model {
namespace {

// The 8 lanes summed as the tiled matmul's hsum does: halves (l + l+4),
// then (0 + 2) + (1 + 3).
inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256 Load8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// The 8 lanes summed as ggml's F32 vector reduction does on AVX: halves,
// then neighbours by two horizontal adds, (0 + 1) + (2 + 3).
inline float ReduceAdd8Pairs(__m256 v) {
  const __m128 t0 =
      _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t1 = _mm_hadd_ps(t0, t0);
  return _mm_cvtss_f32(_mm_hadd_ps(t1, t1));
}

}  // namespace
}  // namespace ggufd::model

#endif  // GGUFD_RUNTIME_MODEL_VEC_OPS_AVX2_IMPL_H_
