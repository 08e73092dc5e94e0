// 256-bit kernels of the 256-value super-block types (q2_K ... q6_K, iq4_xs),
// all paired with q8_K activations. Compiled once per level; see
// dot256_ops.h.
//
// The approach is ggml's: a weight super-block is unpacked 32 values at a
// time to unsigned bytes, multiplied with the activation bytes pairwise
// (vpmaddubsw), and the pair sums are multiplied by the group scale as int16
// (vpmaddwd, or vpdpwssd with VNNI), so a whole super-block is one exact
// int32 sum before the single float scaling. Offsets (the q6_K -32, the
// q3_K -4) and group mins come in through the activation's 16-value sums
// (bsums) instead of being applied per value.
//
// A tile is one weight row by up to 4 activation columns: the unpacking,
// which costs as much as the products, is done once per row and super-block
// and shared by all columns.
#ifndef GGUFD_RUNTIME_TENSOR_DOT256_KQUANTS_IMPL_H_
#define GGUFD_RUNTIME_TENSOR_DOT256_KQUANTS_IMPL_H_

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/dot256_ops.h"
#include "runtime/tensor/simd_kernels.h"
#include "runtime/tensor/simd_tile.h"

namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE {
namespace {

inline uint32_t Word(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// The 6-bit scales (bytes 0-7) and mins (bytes 8-15) of the 8 groups of a
// q4_K / q5_K super-block. Groups 0-3 keep theirs in the low 6 bits of bytes
// 0-3 (scales) and 4-7 (mins); groups 4-7 have the low 4 bits in bytes 8-11
// and the top 2 bits in the spare top bits of bytes 0-7.
inline __m128i ScalesMinsK4(const uint8_t* s) {
  const uint32_t a = Word(s), b = Word(s + 4), c = Word(s + 8);
  const uint32_t scales_lo = a & 0x3f3f3f3f;
  const uint32_t mins_lo = b & 0x3f3f3f3f;
  const uint32_t scales_hi = (c & 0x0f0f0f0f) | ((a >> 2) & 0x30303030);
  const uint32_t mins_hi = ((c >> 4) & 0x0f0f0f0f) | ((b >> 2) & 0x30303030);
  return _mm_setr_epi32(static_cast<int>(scales_lo),
                        static_cast<int>(scales_hi), static_cast<int>(mins_lo),
                        static_cast<int>(mins_hi));
}

// The 16 signed 6-bit group scales (-32..31) of a q3_K super-block: low 4
// bits in the nibbles of bytes 0-7 (groups 0-7 low nibbles, 8-15 high), the
// top 2 bits in bytes 8-11, two bits per group, four groups a byte.
inline __m128i ScalesQ3K(const uint8_t* s) {
  const uint32_t a = Word(s), b = Word(s + 4), c = Word(s + 8);
  const __m128i biased = _mm_setr_epi32(
      static_cast<int>((a & 0x0f0f0f0f) | ((c << 4) & 0x30303030)),
      static_cast<int>((b & 0x0f0f0f0f) | ((c << 2) & 0x30303030)),
      static_cast<int>(((a >> 4) & 0x0f0f0f0f) | (c & 0x30303030)),
      static_cast<int>(((b >> 4) & 0x0f0f0f0f) | ((c >> 2) & 0x30303030)));
  return _mm_sub_epi8(biased, _mm_set1_epi8(32));
}

// 8 unsigned bytes as int16, each twice: lined up with the 16 bsums so one
// vpmaddwd gives value g * (bsums[2g] + bsums[2g+1]) per group of 32.
inline __m256i DuplicatePairs16(__m128i bytes8) {
  const __m128i v = _mm_cvtepu8_epi16(bytes8);
  return _mm256_set_m128i(_mm_unpackhi_epi16(v, v), _mm_unpacklo_epi16(v, v));
}

inline __m256i LowNibbles(__m256i q) {
  return _mm256_and_si256(q, _mm256_set1_epi8(0x0f));
}
inline __m256i HighNibbles(__m256i q) {
  return _mm256_and_si256(_mm256_srli_epi16(q, 4), _mm256_set1_epi8(0x0f));
}

// acc[c] += scale * d_w * d_a[c] * sumi[c] for each column.
template <int C>
inline void ScaleInto(float dw, const BlockQ8_K* const* y, const __m256i* sumi,
                      __m256* acc) {
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) {
    acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * y[c]->d),
                             _mm256_cvtepi32_ps(sumi[c]), acc[c]);
  }
}

// acc[c] -= dmin_w * d_a[c] * (group mins . bsums of column c).
template <int C>
inline void SubtractMins(float dmin, __m256i mins16, const BlockQ8_K* const* y,
                         __m256* acc) {
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) {
    const __m256i m = _mm256_madd_epi16(Load256(y[c]->bsums), mins16);
    acc[c] = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * y[c]->d),
                              _mm256_cvtepi32_ps(m), acc[c]);
  }
}

// Initial sums -offset * sum over groups of 16 of scale * bsum, for the
// types whose unsigned quants carry a constant offset.
template <int C, int kShift>
inline void InitOffsets(__m128i scales8, const BlockQ8_K* const* y,
                        __m256i* sumi) {
  const __m256i scales16 = _mm256_cvtepi8_epi16(scales8);
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) {
    const __m256i off = _mm256_madd_epi16(Load256(y[c]->bsums), scales16);
    sumi[c] = _mm256_sub_epi32(_mm256_setzero_si256(),
                               _mm256_slli_epi32(off, kShift));
  }
}

// Adds 32 unpacked weight values (two groups of 16 or one of 32, per
// scale16) times the activation bytes at offset `at` of every column.
template <int C>
inline void Accumulate32(__m256i q, __m256i scale16, const BlockQ8_K* const* y,
                         int at, __m256i* sumi) {
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) {
    sumi[c] = AddScaledDotU8S8(sumi[c], q, Load256(y[c]->qs + at), scale16);
  }
}

// q4_K: 8 groups of 32, 6-bit scales and mins. qs byte l of 32-byte chunk j
// holds value l of group 2j (low nibble) and of group 2j+1 (high nibble).
struct Q4K {
  using Block = BlockQ4_K;
  template <int C>
  static void Accumulate(const BlockQ4_K& x, const BlockQ8_K* const* y,
                         __m256* acc) {
    const __m128i sm = ScalesMinsK4(x.scales);
    const __m256i scales16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
    __m256i sumi[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) sumi[c] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const __m256i q = Load256(x.qs + 32 * j);
      Accumulate32<C>(LowNibbles(q), Broadcast16(scales16, 2 * j), y, 64 * j,
                      sumi);
      Accumulate32<C>(HighNibbles(q), Broadcast16(scales16, 2 * j + 1), y,
                      64 * j + 32, sumi);
    }
    ScaleInto<C>(Half(x.d), y, sumi, acc);
    SubtractMins<C>(Half(x.dmin), DuplicatePairs16(_mm_srli_si128(sm, 8)), y,
                    acc);
  }
};

// q5_K: q4_K plus a fifth bit: bit g of qh[l] for value l of group g.
struct Q5K {
  using Block = BlockQ5_K;
  template <int C>
  static void Accumulate(const BlockQ5_K& x, const BlockQ8_K* const* y,
                         __m256* acc) {
    const __m128i sm = ScalesMinsK4(x.scales);
    const __m256i scales16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
    const __m256i bit4 = _mm256_set1_epi8(0x10);
    // Shifted right by 2 per chunk, so bits 0 and 1 of each byte are the
    // current groups' (16-bit shifts: no bit reaches bit 0/1 of another byte).
    __m256i qh = Load256(x.qh);
    __m256i sumi[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) sumi[c] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const __m256i q = Load256(x.qs + 32 * j);
      const __m256i lo = _mm256_or_si256(
          LowNibbles(q), _mm256_and_si256(_mm256_slli_epi16(qh, 4), bit4));
      const __m256i hi = _mm256_or_si256(
          HighNibbles(q), _mm256_and_si256(_mm256_slli_epi16(qh, 3), bit4));
      qh = _mm256_srli_epi16(qh, 2);
      Accumulate32<C>(lo, Broadcast16(scales16, 2 * j), y, 64 * j, sumi);
      Accumulate32<C>(hi, Broadcast16(scales16, 2 * j + 1), y, 64 * j + 32,
                      sumi);
    }
    ScaleInto<C>(Half(x.d), y, sumi, acc);
    SubtractMins<C>(Half(x.dmin), DuplicatePairs16(_mm_srli_si128(sm, 8)), y,
                    acc);
  }
};

// q6_K: 16 groups of 16, signed 8-bit scales, quants 0..63 with offset -32.
// In each 128-value half, value l of quarter k has its low 4 bits in the
// low (k < 2) or high nibble of ql[l + 32 * (k % 2)] and its top 2 bits in
// bits 2k, 2k+1 of qh[l].
struct Q6K {
  using Block = BlockQ6_K;
  template <int C>
  static void Accumulate(const BlockQ6_K& x, const BlockQ8_K* const* y,
                         __m256* acc) {
    const __m128i scales8 = Load128(x.scales);
    const __m256i top2 = _mm256_set1_epi8(0x30);
    __m256i sumi[C];
    InitOffsets<C, /*kShift=*/5>(scales8, y, sumi);
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = Load256(x.ql + 64 * h);
      const __m256i ql1 = Load256(x.ql + 64 * h + 32);
      const __m256i qh = Load256(x.qh + 32 * h);
      const __m256i q[4] = {
          _mm256_or_si256(LowNibbles(ql0),
                          _mm256_and_si256(_mm256_slli_epi16(qh, 4), top2)),
          _mm256_or_si256(LowNibbles(ql1),
                          _mm256_and_si256(_mm256_slli_epi16(qh, 2), top2)),
          _mm256_or_si256(HighNibbles(ql0), _mm256_and_si256(qh, top2)),
          _mm256_or_si256(HighNibbles(ql1),
                          _mm256_and_si256(_mm256_srli_epi16(qh, 2), top2))};
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        Accumulate32<C>(q[k], PairScales(scales8, 8 * h + 2 * k), y,
                        128 * h + 32 * k, sumi);
      }
    }
    ScaleInto<C>(Half(x.d), y, sumi, acc);
  }
};

// q3_K: 16 groups of 16, signed 6-bit scales, quants 0..7 with offset -4.
// Value l of quarter j of half h: bits 2j, 2j+1 of qs[32h + l] and bit
// 4h + j of hmask[l].
struct Q3K {
  using Block = BlockQ3_K;
  template <int C>
  static void Accumulate(const BlockQ3_K& x, const BlockQ8_K* const* y,
                         __m256* acc) {
    const __m128i scales8 = ScalesQ3K(x.scales);
    const __m256i two_bits = _mm256_set1_epi8(3);
    const __m256i bit2 = _mm256_set1_epi8(4);
    __m256i hmask = Load256(x.hmask);  // shifted right 1 per quarter
    __m256i sumi[C];
    InitOffsets<C, /*kShift=*/2>(scales8, y, sumi);
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      __m256i qs = Load256(x.qs + 32 * h);  // shifted right 2 per quarter
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const __m256i q = _mm256_or_si256(
            _mm256_and_si256(qs, two_bits),
            _mm256_and_si256(_mm256_slli_epi16(hmask, 2), bit2));
        qs = _mm256_srli_epi16(qs, 2);
        hmask = _mm256_srli_epi16(hmask, 1);
        Accumulate32<C>(q, PairScales(scales8, 8 * h + 2 * j), y,
                        128 * h + 32 * j, sumi);
      }
    }
    ScaleInto<C>(Half(x.d), y, sumi, acc);
  }
};

// q2_K: 16 groups of 16, 4-bit scales and mins, quants 0..3 laid out as in
// q3_K's qs.
struct Q2K {
  using Block = BlockQ2_K;
  template <int C>
  static void Accumulate(const BlockQ2_K& x, const BlockQ8_K* const* y,
                         __m256* acc) {
    const __m128i packed = Load128(x.scales);
    const __m128i nibble = _mm_set1_epi8(0x0f);
    const __m128i scales8 = _mm_and_si128(packed, nibble);
    const __m128i mins8 = _mm_and_si128(_mm_srli_epi16(packed, 4), nibble);
    const __m256i two_bits = _mm256_set1_epi8(3);
    __m256i sumi[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) sumi[c] = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      __m256i qs = Load256(x.qs + 32 * h);  // shifted right 2 per quarter
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const __m256i q = _mm256_and_si256(qs, two_bits);
        qs = _mm256_srli_epi16(qs, 2);
        Accumulate32<C>(q, PairScales(scales8, 8 * h + 2 * j), y,
                        128 * h + 32 * j, sumi);
      }
    }
    ScaleInto<C>(Half(x.d), y, sumi, acc);
    SubtractMins<C>(Half(x.dmin), _mm256_cvtepu8_epi16(mins8), y, acc);
  }
};

// iq4_xs: 8 groups of 32 grid indices with signed 6-bit scales. Group g's
// 16 bytes hold values 0..15 in the low nibbles, 16..31 in the high ones.
// The grid values are signed, so the products are |w| times
// sign-transferred activations.
struct IQ4XS {
  using Block = BlockIQ4_XS;
  template <int C>
  static void Accumulate(const BlockIQ4_XS& x, const BlockQ8_K* const* y,
                         __m256* acc) {
    int16_t ls[8];
    for (int g = 0; g < 8; ++g) {
      const int low = (x.scales_l[g / 2] >> (4 * (g % 2))) & 0xf;
      const int high = (x.scales_h >> (2 * g)) & 3;
      ls[g] = static_cast<int16_t>((low | (high << 4)) - 32);
    }
    const __m256i scales16 = _mm256_broadcastsi128_si256(Load128(ls));
    const __m256i table = _mm256_broadcastsi128_si256(Load128(kIq4nlValues));
    __m256i sumi[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) sumi[c] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      // Groups 2j and 2j+1, each as its 32 indices in value order.
      const __m256i q = Load256(x.qs + 32 * j);
      const __m256i lo = LowNibbles(q), hi = HighNibbles(q);
      const __m256i w0 =
          _mm256_shuffle_epi8(table, _mm256_permute2x128_si256(lo, hi, 0x20));
      const __m256i w1 =
          _mm256_shuffle_epi8(table, _mm256_permute2x128_si256(lo, hi, 0x31));
      const __m256i aw0 = _mm256_sign_epi8(w0, w0);
      const __m256i aw1 = _mm256_sign_epi8(w1, w1);
      const __m256i s0 = Broadcast16(scales16, 2 * j);
      const __m256i s1 = Broadcast16(scales16, 2 * j + 1);
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) {
        const int8_t* qa = y[c]->qs + 64 * j;
        sumi[c] = AddScaledDotU8S8(sumi[c], aw0,
                                   _mm256_sign_epi8(Load256(qa), w0), s0);
        sumi[c] = AddScaledDotU8S8(sumi[c], aw1,
                                   _mm256_sign_epi8(Load256(qa + 32), w1), s1);
      }
    }
    ScaleInto<C>(Half(x.d), y, sumi, acc);
  }
};

// Runs Type::Accumulate over the super-blocks of one weight row and up to 4
// activation columns.
template <typename Type>
struct SuperBlockKernel {
  template <int R, int C>
  struct K {
    static constexpr int kMaxRows = 1;
    static constexpr int kMaxCols = 4;
    static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* a,
                    size_t as, float* y, size_t ys) {
      __m256 acc[R][C];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
      }
      for (int64_t b = 0; b < n / kQKK; ++b) {
        const BlockQ8_K* act[C];
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) act[c] = BlockAt<BlockQ8_K>(a, as, c, b);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          Type::template Accumulate<C>(
              *BlockAt<typename Type::Block>(w, ws, r, b), act, acc[r]);
        }
      }
      for (int r = 0; r < R; ++r) {
        for (int c = 0; c < C; ++c) {
          y[static_cast<size_t>(c) * ys + r] = Hsum(acc[r][c]);
        }
      }
    }
  };
};

template <int R, int C>
using KQ2_K = SuperBlockKernel<Q2K>::K<R, C>;
template <int R, int C>
using KQ3_K = SuperBlockKernel<Q3K>::K<R, C>;
template <int R, int C>
using KQ4_K = SuperBlockKernel<Q4K>::K<R, C>;
template <int R, int C>
using KQ5_K = SuperBlockKernel<Q5K>::K<R, C>;
template <int R, int C>
using KQ6_K = SuperBlockKernel<Q6K>::K<R, C>;
template <int R, int C>
using KIQ4_XS = SuperBlockKernel<IQ4XS>::K<R, C>;

}  // namespace

#define GGUFD_DEFINE_KQUANT_KERNELS(Name, Kernel)                             \
  float Dot##Name(int64_t n, const void* w, const void* a) {                  \
    return RunDot<Kernel>(n, w, a);                                           \
  }                                                                           \
  void Tile##Name(int64_t n, const uint8_t* w, size_t ws, int nr,             \
                  const uint8_t* a, size_t as, int nc, float* y, size_t ys) { \
    RunTile<Kernel>(n, w, ws, nr, a, as, nc, y, ys);                          \
  }
GGUFD_DEFINE_KQUANT_KERNELS(Q2_KQ8_K, KQ2_K)
GGUFD_DEFINE_KQUANT_KERNELS(Q3_KQ8_K, KQ3_K)
GGUFD_DEFINE_KQUANT_KERNELS(Q4_KQ8_K, KQ4_K)
GGUFD_DEFINE_KQUANT_KERNELS(Q5_KQ8_K, KQ5_K)
GGUFD_DEFINE_KQUANT_KERNELS(Q6_KQ8_K, KQ6_K)
GGUFD_DEFINE_KQUANT_KERNELS(IQ4_XSQ8_K, KIQ4_XS)
#undef GGUFD_DEFINE_KQUANT_KERNELS

}  // namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE

#endif  // GGUFD_RUNTIME_TENSOR_DOT256_KQUANTS_IMPL_H_
