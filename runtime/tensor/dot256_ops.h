// Building blocks of the 256-bit integer kernels (dot256_legacy_impl.h,
// dot256_kquants_impl.h). Those kernels are compiled once per instruction-set
// level by dot256_avx2.cc, dot256_avx512.cc and dot256_avx512_vnni.cc, each
// defining GGUFD_SIMD_NAMESPACE first. At the AVX-512 levels the same source
// gains 32 vector registers (EVEX) and, with VNNI, fused multiply-adds of
// bytes (vpdpbusd) and of 16-bit pairs (vpdpwssd).
//
// Everything here has internal linkage: code compiled with one level's flags
// must never be merged by the linker into code another level runs.
#ifndef GGUFD_RUNTIME_TENSOR_DOT256_OPS_H_
#define GGUFD_RUNTIME_TENSOR_DOT256_OPS_H_

#ifndef GGUFD_SIMD_NAMESPACE
#error "define GGUFD_SIMD_NAMESPACE before including dot256_ops.h"
#endif

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE {
namespace {

// Tile width of the kernels whose accumulators are one register per output:
// AVX-512 has twice the registers to hold them.
#if defined(__AVX512VL__)
inline constexpr int kWideCols = 4;
#else
inline constexpr int kWideCols = 2;
#endif

inline float Half(uint16_t h) { return _cvtsh_ss(h); }

inline float Hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256i Load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
inline __m128i Load128(const void* p) {
  return _mm_loadu_si128(static_cast<const __m128i*>(p));
}

template <typename Block>
inline const Block* BlockAt(const uint8_t* row, size_t stride, int i,
                            int64_t b) {
  return reinterpret_cast<const Block*>(row + static_cast<size_t>(i) * stride) +
         b;
}

// acc + the sums of 4 adjacent products of unsigned u and signed s bytes.
// Without VNNI the pairs' sums pass through int16 (vpmaddubsw saturates), so
// callers keep |u * s| pair sums below 2^15.
inline __m256i AddDotU8S8(__m256i acc, __m256i u, __m256i s) {
#if defined(__AVX512VNNI__)
  return _mm256_dpbusd_epi32(acc, u, s);
#else
  return _mm256_add_epi32(
      acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

// acc + sums of adjacent pair products of u and s, each pair times the
// int16 in the same position of scale16: how the K-quants apply per-group
// scales without leaving integers. Same range rule as AddDotU8S8.
inline __m256i AddScaledDotU8S8(__m256i acc, __m256i u, __m256i s,
                                __m256i scale16) {
  const __m256i pairs = _mm256_maddubs_epi16(u, s);
#if defined(__AVX512VNNI__)
  return _mm256_dpwssd_epi32(acc, pairs, scale16);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, scale16));
#endif
}

// The 32 nibbles of 16 packed bytes as bytes 0..15: low nibbles first, then
// high nibbles (the value order of q4_0, q5_0, iq4_nl blocks).
inline __m256i Nibbles(const uint8_t* qs) {
  const __m128i packed = Load128(qs);
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

// Byte i is `value` where bit i of the 4 little-endian bytes at p is set,
// zero elsewhere (the fifth bit of q5_0 / q5_1 values).
inline __m256i BitsToBytes(const uint8_t* p, uint8_t value) {
  uint32_t bits;
  std::memcpy(&bits, p, sizeof(bits));
  // Byte i takes source byte i / 8, then tests bit i % 8 of it.
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                        0x0101010101010101, 0x0000000000000000));
  const __m256i bit =
      _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(static_cast<char>(value)));
}

// Broadcasts 16-bit element g (0..7) of each 128-bit lane of v to the
// whole lane.
inline __m256i Broadcast16(__m256i v, int g) {
  return _mm256_shuffle_epi8(
      v, _mm256_set1_epi16(static_cast<int16_t>(0x0100 + 0x0202 * g)));
}

// Group scales for 32 values in two groups of 16: scales8 holds 16 signed
// bytes; the result is byte g as int16 in the low lane, byte g + 1 in the
// high lane.
inline __m256i PairScales(__m128i scales8, int g) {
  const __m128i pick = _mm_set_epi64x(
      static_cast<int64_t>(0x0101010101010101ull *
                           static_cast<uint64_t>(g + 1)),
      static_cast<int64_t>(0x0101010101010101ull * static_cast<uint64_t>(g)));
  return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales8, pick));
}

}  // namespace
}  // namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE

#endif  // GGUFD_RUNTIME_TENSOR_DOT256_OPS_H_
