// Lane and stream helpers of the AVX2 panel kernels (panel_avx2.cc,
// decode_panel_avx2.cc, decode_panel_kquants_avx2.cc). Compiled into the
// including translation unit's level namespace with internal linkage, as
// byte_sums_impl.h is; GGUFD_SIMD_NAMESPACE must be defined first.
#ifndef GGUFD_RUNTIME_TENSOR_LANES_AVX2_IMPL_H_
#define GGUFD_RUNTIME_TENSOR_LANES_AVX2_IMPL_H_

#ifndef GGUFD_SIMD_NAMESPACE
#error "define GGUFD_SIMD_NAMESPACE before including lanes_avx2_impl.h"
#endif

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE {
namespace {

// Lanes [0, n) of 8 set.
inline __m256i LaneMask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// ggml's hsum of 8 lanes, ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 +
// l7)), for 8 rows at once (l[k]: lane k of each row).
inline __m256 HsumLanes(const __m256 (&l)[8]) {
  return _mm256_add_ps(
      _mm256_add_ps(_mm256_add_ps(l[0], l[4]), _mm256_add_ps(l[2], l[6])),
      _mm256_add_ps(_mm256_add_ps(l[1], l[5]), _mm256_add_ps(l[3], l[7])));
}

// Keeps a running sum in its register. Without it GCC reassociates a
// kernel's int16 sums over a chunk into a tree, holding every product on
// the stack until the tree's end (a third of the q4_K gemm's instructions
// were spills; TinyLlama-shaped Q4_K_M pp128 57 -> 69 tok/s).
inline void KeepInRegister(__m256i& v) { __asm__("" : "+x"(v)); }

// How far ahead the decode panels' stream is prefetched (as the AVX-512
// kernels do), unless a kernel says otherwise.
constexpr size_t kPrefetchBytes = 4096;

// Prefetches share `step` of `steps` of the lines of [p, p + bytes),
// `ahead` bytes ahead. A kernel that reads a block in several passes (a
// panel's halves, its pieces) takes one share per step: prefetches sent in
// one burst per block leave the memory idle while the later passes compute
// from L1. Decoding, 1 thread: TinyLlama-shaped Q8_0 14.0-14.5 -> 16.8-17.4
// tok/s, Q4_K_M 21.7-22.7 -> 23.8-26.6, Gemma 3 57-59 -> 61-62.
inline void PrefetchShare(const uint8_t* p, size_t bytes, int step, int steps,
                          size_t ahead = kPrefetchBytes) {
  const size_t lines = (bytes + 63) / 64;
  const size_t from = lines * static_cast<size_t>(step) / steps;
  const size_t to = lines * static_cast<size_t>(step + 1) / steps;
  for (size_t line = from; line < to; ++line) {
    _mm_prefetch(reinterpret_cast<const char*>(p + ahead + 64 * line),
                 _MM_HINT_T0);
  }
}

// Prefetches the lines of [p, p + bytes) `ahead` bytes ahead.
inline void PrefetchAhead(const uint8_t* p, size_t bytes,
                          size_t ahead = kPrefetchBytes) {
  PrefetchShare(p, bytes, 0, 1, ahead);
}

}  // namespace
}  // namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE

#endif  // GGUFD_RUNTIME_TENSOR_LANES_AVX2_IMPL_H_
