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

}  // namespace
}  // namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE

#endif  // GGUFD_RUNTIME_TENSOR_BYTE_SUMS_IMPL_H_
