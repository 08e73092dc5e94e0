// Byte helpers the panel kernels share at every level from AVX2 up
// (panel_avx2.cc, and the AVX-512 ones through avx512_common_impl.h). Like
// that header, it is compiled into the including translation unit's level
// namespace with internal linkage, so no inline function compiled with one
// level's flags is shared with another's; GGUFD_SIMD_NAMESPACE must be
// defined first.
#ifndef GGUFD_RUNTIME_TENSOR_BYTE_SUMS_IMPL_H_
#define GGUFD_RUNTIME_TENSOR_BYTE_SUMS_IMPL_H_

#ifndef GGUFD_SIMD_NAMESPACE
#error "define GGUFD_SIMD_NAMESPACE before including byte_sums_impl.h"
#endif

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE {
namespace {

inline int32_t Dword(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// The sum of each 4 adjacent of the 32 bytes qs.
inline __m256i GroupSumVector(const int8_t* qs) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs));
  return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), v),
                           _mm256_set1_epi16(1));
}

// The sum of the 32 bytes qs.
inline int SumBytes(const int8_t* qs) {
  const __m256i s = GroupSumVector(qs);
  __m128i t =
      _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4e));
  t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1));
  return _mm_cvtsi128_si32(t);
}

}  // namespace
}  // namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE

#endif  // GGUFD_RUNTIME_TENSOR_BYTE_SUMS_IMPL_H_
