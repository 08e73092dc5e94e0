// What the AVX-512 row-panel kernels share (panel_avx512_impl.h,
// decode_panel_avx512_impl.h), compiled into the including translation
// unit's level namespace; GGUFD_SIMD_NAMESPACE must be defined first.
#ifndef GGUFD_RUNTIME_TENSOR_AVX512_COMMON_IMPL_H_
#define GGUFD_RUNTIME_TENSOR_AVX512_COMMON_IMPL_H_

#ifndef GGUFD_SIMD_NAMESPACE
#error "define GGUFD_SIMD_NAMESPACE before including avx512_common_impl.h"
#endif

#include <immintrin.h>

#include <cstdint>
#include <cstring>

// GCC 12 reports the deliberately undefined pass-through operands inside
// its own AVX-512 intrinsics (_mm512_set1_ps and friends) as uninitialized
// once they are inlined at -O3.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstdint>

#include "runtime/tensor/byte_sums_impl.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE {
namespace {

static_assert(kPanelRows == 16);

inline float Half(uint16_t h) { return _cvtsh_ss(h); }

// acc + the sums of 4 adjacent products of unsigned u and signed s bytes;
// without VNNI, valid for u <= 31 (vpmaddubsw pairs stay in int16).
inline __m512i AddDot4(__m512i acc, __m512i u, __m512i s) {
#if defined(__AVX512VNNI__)
  return _mm512_dpbusd_epi32(acc, u, s);
#else
  return _mm512_add_epi32(
      acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1)));
#endif
}

inline void GroupSums(const int8_t* qs, int32_t (&out)[8]) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), GroupSumVector(qs));
}

// -offset * GroupSums: where the integer dot of each group starts when the
// weights are stored biased by `offset`.
inline void OffsetGroupSums(const int8_t* qs, int offset, int32_t (&out)[8]) {
  _mm256_storeu_si256(
      reinterpret_cast<__m256i*>(out),
      _mm256_mullo_epi32(GroupSumVector(qs), _mm256_set1_epi32(-offset)));
}

}  // namespace
}  // namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE

#endif  // GGUFD_RUNTIME_TENSOR_AVX512_COMMON_IMPL_H_
