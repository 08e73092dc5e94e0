// Decode-panel kernels (decode_panels.h) at the AVX-512 levels, compiled by
// decode_panel_avx512.cc and decode_panel_avx512_vnni.cc, each defining
// GGUFD_SIMD_NAMESPACE first.
//
// Per block, every vector of the panel meets the token's activation block
// broadcast to its four 128-bit lanes (q4: values 0-15 for the low nibbles,
// 16-31 for the high ones) or two 256-bit halves (q8_0). One vpdpbusd then
// leaves in each 32-bit lane the exact integer sum of one 4-value group of
// one row, which is scaled by that row's d times the token's d and added to
// the group's own accumulator: ggml's vec_dot order,
//   acc_g = fma(d_w * d_a, float(isum_g), acc_g)   [and m = fma(m_w, s_a, m)]
// summed at the end as ((acc_0 + acc_4) + (acc_2 + acc_6)) + ((acc_1 +
// acc_5) + (acc_3 + acc_7)) [+ m], so the outputs are the bits of the file
// layout's kernels (panel_avx512_impl.h) and of llama.cpp's vec_dot.
#ifndef GGUFD_RUNTIME_TENSOR_DECODE_PANEL_AVX512_IMPL_H_
#define GGUFD_RUNTIME_TENSOR_DECODE_PANEL_AVX512_IMPL_H_

#ifndef GGUFD_SIMD_NAMESPACE
#error "define GGUFD_SIMD_NAMESPACE before including decode_panel_avx512_impl.h"
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "runtime/tensor/avx512_common_impl.h"
#include "runtime/tensor/blocks.h"
#include "runtime/tensor/decode_panels.h"
#include "runtime/tensor/simd_kernels.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE {
namespace {

// How far ahead the next blocks are prefetched: a thread's panels are one
// sequential stream, and 4 KiB ahead covers the memory latency (measured
// against 1-8 KiB and none on SmolLM2 and Gemma 3 decoding).
constexpr int kPrefetchBytes = 4096;

struct Q4_0Format {
  using ABlock = BlockQ8_0;
  static constexpr bool kNibbles = true;
  static constexpr bool kMin = false;
  static constexpr int kOffset = 8;  // q - 8: removed through the group sums
  static constexpr bool kPaired = true;
  static constexpr size_t kQuantBytes = 256;
  static constexpr bool kFloatScales = false;
  static constexpr bool kWhole = false;
};
// q4_0 in the order of ggml's repacked gemv (DotQ4_0Q8_0Whole): one exact
// integer sum per block and row, scaled and fused into one running sum.
struct Q4_0WholeFormat : Q4_0Format {
  static constexpr bool kWhole = true;
};
struct Q5_0Format {
  using ABlock = BlockQ8_0;
  static constexpr bool kNibbles = true;
  static constexpr bool kMin = false;
  static constexpr int kOffset = 16;  // q - 16, q = nibble + 16 * high bit
  // Its prompts run these kernels too (it has no row-panel kernel), where
  // converting half scales for every two tokens cost 12%: floats, alone.
  static constexpr bool kPaired = false;
  static constexpr size_t kQuantBytes = 320;  // with the high-bit masks
  static constexpr bool kFloatScales = true;
  static constexpr bool kWhole = false;
};
struct Q4_1Format {
  using ABlock = BlockQ8_1;
  static constexpr bool kNibbles = true;
  static constexpr bool kMin = true;
  static constexpr int kOffset = 0;
  static constexpr bool kPaired = false;
  static constexpr size_t kQuantBytes = 256;  // then d and m as halves
  static constexpr bool kFloatScales = false;
  static constexpr bool kWhole = false;
};
struct Q8_0Format {
  using ABlock = BlockQ8_0;
  static constexpr bool kNibbles = false;
  static constexpr bool kMin = false;
  static constexpr int kOffset = 128;  // stored biased
  static constexpr bool kPaired = true;
  static constexpr size_t kQuantBytes = 512;
  static constexpr bool kFloatScales = false;
  static constexpr bool kWhole = false;
};

// The 4 lanes of each row of q4 vectors v[0..3] (lanes 4i..4i+3 of v[j]:
// row 4j + i) summed, rows in order.
inline __m512i RowTotals(const __m512i (&v)[4]) {
  const __m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[0], v[1]),
                                       _mm512_unpackhi_epi32(v[0], v[1]));
  const __m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2], v[3]),
                                       _mm512_unpackhi_epi32(v[2], v[3]));
  // Lane 4k + j: row 4j + k.
  const __m512i tot = _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23),
                                       _mm512_unpackhi_epi64(s01, s23));
  return _mm512_permutexvar_epi32(
      _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15),
      tot);
}

// Index vectors spreading the 16 row scales over the lanes of q4 vector j:
// lanes 4i..4i+3 belong to row 4j + i.
inline __m512i ScaleLanes(int j) {
  return _mm512_add_epi32(
      _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3),
      _mm512_set1_epi32(4 * j));
}

// -offset * (sum of each 4-byte group of a) in every lane of that group.
template <typename F>
inline __m512i OffsetBase(__m512i a) {
  if constexpr (F::kOffset == 0) {
    return _mm512_setzero_si512();
  } else {
    const __m512i sums =
        AddDot4(_mm512_setzero_si512(), _mm512_set1_epi8(1), a);
    constexpr int kShift = F::kOffset == 8 ? 3 : F::kOffset == 16 ? 4 : 7;
    return _mm512_sub_epi32(_mm512_setzero_si512(),
                            _mm512_slli_epi32(sums, kShift));
  }
}

// Lane g of each 4-lane group of q4 accumulators summed in ggml's hsum
// order (lo holds groups g, hi groups g + 4); the row sums land in lanes 0,
// 4, 8, 12.
inline __m512 RowSums(__m512 lo, __m512 hi) {
  __m512 s = _mm512_add_ps(lo, hi);  // g + (g + 4)
  s = _mm512_add_ps(s, _mm512_permute_ps(s, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm512_add_ps(s, _mm512_permute_ps(s, _MM_SHUFFLE(2, 3, 0, 1)));
}

// ggml's hsum of the 8 lanes of its 256-bit vec_dot, each row of the 16
// on its own: ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)).
inline __m512 HsumLanes(const __m512 (&l)[8]) {
  return _mm512_add_ps(
      _mm512_add_ps(_mm512_add_ps(l[0], l[4]), _mm512_add_ps(l[2], l[6])),
      _mm512_add_ps(_mm512_add_ps(l[1], l[5]), _mm512_add_ps(l[3], l[7])));
}

template <typename F, int T>
void Run(int64_t n, const uint8_t* panel, int n_rows, const uint8_t* a,
         size_t as, float* y, size_t ys) {
  using ABlock = typename F::ABlock;
  constexpr int kVectors = F::kNibbles ? 4 : 8;
  constexpr int kAcc = 8;  // q4: 2 per vector (low, high nibbles)
  const int64_t nb = n / kQK;
  __m512 acc[T][kAcc];
  __m512 ms[T];
  for (int t = 0; t < T; ++t) {
    for (int k = 0; k < kAcc; ++k) acc[t][k] = _mm512_setzero_ps();
    ms[t] = _mm512_setzero_ps();
  }
  const ABlock* act[T];
  for (int t = 0; t < T; ++t) {
    act[t] = reinterpret_cast<const ABlock*>(a + static_cast<size_t>(t) * as);
  }
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk;
    const uint8_t* scales;
    if constexpr (F::kPaired) {
      blk = panel + PairedQuantsAt(b, F::kQuantBytes);
      scales = panel + PairedScalesAt(b, F::kQuantBytes);
      // Each block's quants and the line after them (the pair's scales
      // after an odd block): every line of the pair, without a branch.
      for (size_t off = 0; off <= F::kQuantBytes; off += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(blk + kPrefetchBytes + off),
                     _MM_HINT_T0);
      }
    } else {
      constexpr size_t kBlockBytes = F::kQuantBytes + 64;
      blk = panel + static_cast<size_t>(b) * kBlockBytes;
      scales = blk + F::kQuantBytes;
      for (size_t off = 0; off < kBlockBytes; off += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(blk + kPrefetchBytes + off),
                     _MM_HINT_T0);
      }
    }
    __m512i wq[kAcc];
    if constexpr (F::kNibbles) {
      const __m512i low4 = _mm512_set1_epi8(0x0f);
#pragma GCC unroll 4
      for (int j = 0; j < kVectors; ++j) {
        const __m512i v = _mm512_load_si512(blk + 64 * j);
        wq[2 * j] = _mm512_and_si512(v, low4);
        wq[2 * j + 1] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
        if constexpr (F::kOffset == 16) {
          const uint64_t* masks =
              reinterpret_cast<const uint64_t*>(blk + 64 * kVectors);
          const __m512i sixteen = _mm512_set1_epi8(16);
          wq[2 * j] = _mm512_mask_add_epi8(
              wq[2 * j], _cvtu64_mask64(masks[2 * j]), wq[2 * j], sixteen);
          wq[2 * j + 1] = _mm512_mask_add_epi8(wq[2 * j + 1],
                                               _cvtu64_mask64(masks[2 * j + 1]),
                                               wq[2 * j + 1], sixteen);
        }
      }
    } else {
#pragma GCC unroll 8
      for (int j = 0; j < kVectors; ++j)
        wq[j] = _mm512_load_si512(blk + 64 * j);
    }
    __m512 dw;
    if constexpr (F::kFloatScales) {
      dw = _mm512_load_ps(reinterpret_cast<const float*>(scales));
    } else {
      dw = _mm512_cvtph_ps(
          _mm256_load_si256(reinterpret_cast<const __m256i*>(scales)));
    }
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const ABlock& ab = act[t][b];
      const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(Half(ab.d)));
      if constexpr (F::kNibbles) {
        const __m512i alo = _mm512_broadcast_i32x4(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(ab.qs)));
        const __m512i ahi = _mm512_broadcast_i32x4(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(ab.qs + 16)));
        const __m512i blo = OffsetBase<F>(alo);
        const __m512i bhi = OffsetBase<F>(ahi);
        if constexpr (F::kWhole) {
          const __m512i base = _mm512_add_epi32(blo, bhi);
          __m512i parts[kVectors];
#pragma GCC unroll 4
          for (int j = 0; j < kVectors; ++j) {
            parts[j] =
                AddDot4(AddDot4(base, wq[2 * j], alo), wq[2 * j + 1], ahi);
          }
          acc[t][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(RowTotals(parts)),
                                      scale, acc[t][0]);
          continue;
        }
#pragma GCC unroll 4
        for (int j = 0; j < kVectors; ++j) {
          const __m512 sj = _mm512_permutexvar_ps(ScaleLanes(j), scale);
          acc[t][2 * j] = _mm512_fmadd_ps(
              sj, _mm512_cvtepi32_ps(AddDot4(blo, wq[2 * j], alo)),
              acc[t][2 * j]);
          acc[t][2 * j + 1] = _mm512_fmadd_ps(
              sj, _mm512_cvtepi32_ps(AddDot4(bhi, wq[2 * j + 1], ahi)),
              acc[t][2 * j + 1]);
        }
      } else {
        // Vector k is group k of every row: each lane's integer sum is one
        // row's group, scaled by that row's scale where it lies.
        alignas(32) int32_t base[8];
        OffsetGroupSums(ab.qs, F::kOffset, base);
#pragma GCC unroll 8
        for (int k = 0; k < kVectors; ++k) {
          const __m512i isum = AddDot4(_mm512_set1_epi32(base[k]), wq[k],
                                       _mm512_set1_epi32(Dword(ab.qs + 4 * k)));
          acc[t][k] =
              _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(isum), acc[t][k]);
        }
      }
      if constexpr (F::kMin) {
        const __m512 mw = _mm512_cvtph_ps(
            _mm256_load_si256(reinterpret_cast<const __m256i*>(scales + 32)));
        ms[t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(Half(ab.s)), ms[t]);
      }
    }
  }
  const __mmask16 mask = static_cast<__mmask16>((1u << n_rows) - 1);
  for (int t = 0; t < T; ++t) {
    if constexpr (F::kWhole) {
      _mm512_mask_storeu_ps(y + static_cast<size_t>(t) * ys, mask, acc[t][0]);
      continue;
    }
    if constexpr (!F::kNibbles) {
      _mm512_mask_storeu_ps(y + static_cast<size_t>(t) * ys, mask,
                            HsumLanes(acc[t]));
      continue;
    }
    alignas(64) float lanes[kAcc][16];
    alignas(64) float rows[16];
    for (int j = 0; j < kVectors; ++j) {
      _mm512_store_ps(lanes[j], RowSums(acc[t][2 * j], acc[t][2 * j + 1]));
      for (int i = 0; i < 4; ++i) rows[4 * j + i] = lanes[j][4 * i];
    }
    __m512 sum = _mm512_load_ps(rows);
    if constexpr (F::kMin) sum = _mm512_add_ps(sum, ms[t]);
    _mm512_mask_storeu_ps(y + static_cast<size_t>(t) * ys, mask, sum);
  }
}

// Tokens go two at a time: their accumulators and the block's weight
// vectors fill the 32 registers.
template <typename F>
void Decode(int64_t n, const uint8_t* panel, int n_rows, const uint8_t* a,
            size_t as, int n_tokens, float* y, size_t ys) {
  int t = 0;
  for (; t + 2 <= n_tokens; t += 2) {
    Run<F, 2>(n, panel, n_rows, a + static_cast<size_t>(t) * as, as,
              y + static_cast<size_t>(t) * ys, ys);
  }
  if (t < n_tokens) {
    Run<F, 1>(n, panel, n_rows, a + static_cast<size_t>(t) * as, as,
              y + static_cast<size_t>(t) * ys, ys);
  }
}

// q4_K panels (decode_panels.h) in ggml's repacked orders, the scalar
// DotQ4_KQ8_KGemv (kSpan 256) and DotQ4_KQ8_KGemm (kSpan 64): per span, the
// exact integer sums of scale * (q . a) and of min * bsums, each fused into
// its own float accumulator with d_w * d_a or dmin_w * d_a; the output is
// their difference. Vector 8c + k of a block holds bytes 4k..4k+3 of chunk
// c (64 values) of the 16 rows: low nibbles meet activation values
// 64c + 4k.., high nibbles 64c + 32 + 4k...
constexpr size_t kQ4KBlockBytes = 2368;

template <int kSpan, int T>
void RunQ4K(int64_t n, const uint8_t* panel, int n_rows, const uint8_t* a,
            size_t as, float* y, size_t ys) {
  const int64_t nb = n / kQKK;
  const BlockQ8_K* act[T];
  __m512 acc[T], acc_min[T];
  for (int t = 0; t < T; ++t) {
    act[t] =
        reinterpret_cast<const BlockQ8_K*>(a + static_cast<size_t>(t) * as);
    acc[t] = _mm512_setzero_ps();
    acc_min[t] = _mm512_setzero_ps();
  }
  const __m512i low4 = _mm512_set1_epi8(0x0f);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = panel + static_cast<size_t>(b) * kQ4KBlockBytes;
    for (size_t off = 0; off < kQ4KBlockBytes; off += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(blk + kPrefetchBytes + off),
                   _MM_HINT_T0);
    }
    const __m512 dw = _mm512_cvtph_ps(
        _mm256_load_si256(reinterpret_cast<const __m256i*>(blk + 2048)));
    const __m512 dminw = _mm512_cvtph_ps(
        _mm256_load_si256(reinterpret_cast<const __m256i*>(blk + 2080)));
    __m512i isum[T], msum[T];
    for (int t = 0; t < T; ++t) {
      isum[t] = _mm512_setzero_si512();
      msum[t] = _mm512_setzero_si512();
    }
    for (int c = 0; c < 4; ++c) {
      __m512i glo[T], ghi[T];
      for (int t = 0; t < T; ++t) {
        glo[t] = _mm512_setzero_si512();
        ghi[t] = _mm512_setzero_si512();
      }
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        const __m512i v = _mm512_load_si512(blk + 64 * (8 * c + k));
        const __m512i lo = _mm512_and_si512(v, low4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
          int32_t alo, ahi;
          std::memcpy(&alo, act[t][b].qs + 64 * c + 4 * k, 4);
          std::memcpy(&ahi, act[t][b].qs + 64 * c + 32 + 4 * k, 4);
          glo[t] = AddDot4(glo[t], lo, _mm512_set1_epi32(alo));
          ghi[t] = AddDot4(ghi[t], hi, _mm512_set1_epi32(ahi));
        }
      }
      const __m512i sc_lo = _mm512_cvtepu8_epi32(_mm_load_si128(
          reinterpret_cast<const __m128i*>(blk + 2112 + 32 * c)));
      const __m512i sc_hi = _mm512_cvtepu8_epi32(_mm_load_si128(
          reinterpret_cast<const __m128i*>(blk + 2112 + 32 * c + 16)));
      const __m512i mins = _mm512_cvtepu8_epi16(_mm256_load_si256(
          reinterpret_cast<const __m256i*>(blk + 2240 + 32 * c)));
      for (int t = 0; t < T; ++t) {
        isum[t] = _mm512_add_epi32(
            isum[t], _mm512_add_epi32(_mm512_mullo_epi32(glo[t], sc_lo),
                                      _mm512_mullo_epi32(ghi[t], sc_hi)));
        const int16_t* bs = act[t][b].bsums + 4 * c;
        const uint32_t pair =
            static_cast<uint16_t>(bs[0] + bs[1]) |
            static_cast<uint32_t>(static_cast<uint16_t>(bs[2] + bs[3])) << 16;
        msum[t] = _mm512_add_epi32(
            msum[t],
            _mm512_madd_epi16(mins, _mm512_set1_epi32(static_cast<int>(pair))));
        if ((c + 1) * 64 % kSpan != 0) continue;
        const __m512 da = _mm512_set1_ps(act[t][b].d);
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]),
                                 _mm512_mul_ps(dw, da), acc[t]);
        acc_min[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(msum[t]),
                                     _mm512_mul_ps(dminw, da), acc_min[t]);
        isum[t] = _mm512_setzero_si512();
        msum[t] = _mm512_setzero_si512();
      }
    }
  }
  const __mmask16 mask = static_cast<__mmask16>((1u << n_rows) - 1);
  for (int t = 0; t < T; ++t) {
    _mm512_mask_storeu_ps(y + static_cast<size_t>(t) * ys, mask,
                          _mm512_sub_ps(acc[t], acc_min[t]));
  }
}

// Tokens four at a time: the activations of four tokens meet each weight
// vector while it is in a register.
template <int kSpan>
void DecodeQ4K(int64_t n, const uint8_t* panel, int n_rows, const uint8_t* a,
               size_t as, int n_tokens, float* y, size_t ys) {
  int t = 0;
  for (; t + 4 <= n_tokens; t += 4) {
    RunQ4K<kSpan, 4>(n, panel, n_rows, a + static_cast<size_t>(t) * as, as,
                     y + static_cast<size_t>(t) * ys, ys);
  }
  const uint8_t* at = a + static_cast<size_t>(t) * as;
  float* yt = y + static_cast<size_t>(t) * ys;
  switch (n_tokens - t) {
    case 3:
      return RunQ4K<kSpan, 3>(n, panel, n_rows, at, as, yt, ys);
    case 2:
      return RunQ4K<kSpan, 2>(n, panel, n_rows, at, as, yt, ys);
    case 1:
      return RunQ4K<kSpan, 1>(n, panel, n_rows, at, as, yt, ys);
    default:
      return;
  }
}

// q6_K panels (decode_panels.h) in the order of the file layout's kernels
// (dot256_kquants_impl.h, Q6K) and of ggml's vec_dot: per block, 8 exact
// int32 sums per row, lane k being -32 * (bsums[2k] * s[2k] + bsums[2k + 1] *
// s[2k + 1]) plus, over the 8 chunks c of 32 values, values 32c + 4k..+3
// times the activations times their group's scale s[2c + k / 4]; each fused
// with d_w * d_a into its own float accumulator, the 8 summed as ggml's hsum
// sums them. Here every 32-bit lane is one row's share of one lane k, so the
// integers are the same and no lane is shuffled. A block's lanes go in two
// halves (k < 4, k >= 4): a half's 4 lanes share one group scale per chunk
// and keep only 4 accumulators per token live.
constexpr size_t kQ6KQuantBytes = 3328;  // 16 units of 3 vectors, the scales
constexpr size_t kQ6KScalesAt = 3072;
// Its blocks are larger than the others' and the stream faster: 4 KiB ahead
// (kPrefetchBytes, 1.2 blocks) left the output projection at ~36 GB/s, 8
// KiB reached ~40 (32000 x 2048 streamed from memory, 1 thread; 6 and 10 KiB
// ~39, 12-16 KiB ~35, hint T1 ~36), with the prefetches spread over the
// block's units rather than issued at its start (~37).
constexpr size_t kQ6KPrefetchBytes = 8192;

inline void PrefetchQ6K(const uint8_t* at, size_t bytes) {
  for (size_t off = 0; off < bytes; off += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(at + kQ6KPrefetchBytes + off),
                 _MM_HINT_T0);
  }
}

// The scales of groups 2p, 2p + 1 as int16 pairs, one row per 32-bit lane.
inline __m512i Q6KScalePairs(const uint8_t* blk, int p) {
  return _mm512_cvtepi8_epi16(_mm256_load_si256(
      reinterpret_cast<const __m256i*>(blk + kQ6KScalesAt + 32 * p)));
}

template <int T>
void RunQ6K(int64_t n, const uint8_t* panel, int n_rows, const uint8_t* a,
            size_t as, float* y, size_t ys) {
  const int64_t nb = n / kQKK;
  const BlockQ8_K* act[T];
  __m512 acc[T][8];
  for (int t = 0; t < T; ++t) {
    act[t] =
        reinterpret_cast<const BlockQ8_K*>(a + static_cast<size_t>(t) * as);
    for (int k = 0; k < 8; ++k) acc[t][k] = _mm512_setzero_ps();
  }
  const __m512i low6 = _mm512_set1_epi8(0x3f);
  const __m512i top2 = _mm512_set1_epi8(static_cast<char>(0xc0));
  // Byte indices (within each 128-bit lane) copying int16 h of every
  // 32-bit lane into both of its halves.
  const __m512i pick[2] = {
      _mm512_broadcast_i32x4(
          _mm_setr_epi32(0x01000100, 0x05040504, 0x09080908, 0x0d0c0d0c)),
      _mm512_broadcast_i32x4(
          _mm_setr_epi32(0x03020302, 0x07060706, 0x0b0a0b0a, 0x0f0e0f0e))};
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = panel + PairedQuantsAt(b, kQ6KQuantBytes);
    // The scales and the line after them (the pair's d after an odd block).
    PrefetchQ6K(blk + kQ6KScalesAt, kQ6KQuantBytes + 64 - kQ6KScalesAt);
    const __m512 dw =
        _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(
            panel + PairedScalesAt(b, kQ6KQuantBytes))));
    for (int h = 0; h < 2; ++h) {
      __m512i isum[T][4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const int k = 4 * h + j;
        // -32 * scale, exact in int16 (|scale| <= 128).
        const __m512i offset = _mm512_slli_epi16(
            _mm512_sub_epi16(_mm512_setzero_si512(), Q6KScalePairs(blk, k)), 5);
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
          int32_t bsums;
          std::memcpy(&bsums, act[t][b].bsums + 2 * k, 4);
          isum[t][j] = _mm512_madd_epi16(offset, _mm512_set1_epi32(bsums));
        }
      }
      for (int c = 0; c < 8; ++c) {
        const uint8_t* unit = blk + 192 * (8 * h + c);
        PrefetchQ6K(unit, 192);
        const __m512i x0 = _mm512_load_si512(unit);
        const __m512i x1 = _mm512_load_si512(unit + 64);
        const __m512i x2 = _mm512_load_si512(unit + 128);
        // Lanes j < 3 are the low 6 bits of x_j; lane 3 gathers the top 2
        // bits of x0, x1, x2 into bits 0-1, 2-3, 4-5 (16-bit shifts of bits
        // masked first move nothing across bytes).
        __m512i top = _mm512_srli_epi16(_mm512_and_si512(x0, top2), 2);
        top = _mm512_srli_epi16(
            _mm512_or_si512(top, _mm512_and_si512(x1, top2)), 2);
        top = _mm512_srli_epi16(
            _mm512_or_si512(top, _mm512_and_si512(x2, top2)), 2);
        const __m512i u[4] = {_mm512_and_si512(x0, low6),
                              _mm512_and_si512(x1, low6),
                              _mm512_and_si512(x2, low6), top};
        const __m512i scale =
            _mm512_shuffle_epi8(Q6KScalePairs(blk, c), pick[h]);
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
          const int8_t* qa = act[t][b].qs + 32 * c + 16 * h;
#pragma GCC unroll 4
          for (int j = 0; j < 4; ++j) {
            const __m512i pairs = _mm512_maddubs_epi16(
                u[j], _mm512_set1_epi32(Dword(qa + 4 * j)));
#if defined(__AVX512VNNI__)
            isum[t][j] = _mm512_dpwssd_epi32(isum[t][j], pairs, scale);
#else
            isum[t][j] =
                _mm512_add_epi32(isum[t][j], _mm512_madd_epi16(pairs, scale));
#endif
          }
        }
      }
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(act[t][b].d));
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
          acc[t][4 * h + j] = _mm512_fmadd_ps(
              scale, _mm512_cvtepi32_ps(isum[t][j]), acc[t][4 * h + j]);
        }
      }
    }
  }
  const __mmask16 mask = static_cast<__mmask16>((1u << n_rows) - 1);
  for (int t = 0; t < T; ++t) {
    _mm512_mask_storeu_ps(y + static_cast<size_t>(t) * ys, mask,
                          HsumLanes(acc[t]));
  }
}

// Tokens four at a time, as DecodeQ4K.
void DecodeQ6K(int64_t n, const uint8_t* panel, int n_rows, const uint8_t* a,
               size_t as, int n_tokens, float* y, size_t ys) {
  int t = 0;
  for (; t + 4 <= n_tokens; t += 4) {
    RunQ6K<4>(n, panel, n_rows, a + static_cast<size_t>(t) * as, as,
              y + static_cast<size_t>(t) * ys, ys);
  }
  const uint8_t* at = a + static_cast<size_t>(t) * as;
  float* yt = y + static_cast<size_t>(t) * ys;
  switch (n_tokens - t) {
    case 3:
      return RunQ6K<3>(n, panel, n_rows, at, as, yt, ys);
    case 2:
      return RunQ6K<2>(n, panel, n_rows, at, as, yt, ys);
    case 1:
      return RunQ6K<1>(n, panel, n_rows, at, as, yt, ys);
    default:
      return;
  }
}

}  // namespace

void DecodeQ4_0Q8_0(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t as, int n_tokens, float* y,
                    size_t ys) {
  Decode<Q4_0Format>(n, panel, n_rows, a, as, n_tokens, y, ys);
}
void DecodeQ4_0Q8_0Whole(int64_t n, const uint8_t* panel, int n_rows,
                         const uint8_t* a, size_t as, int n_tokens, float* y,
                         size_t ys) {
  Decode<Q4_0WholeFormat>(n, panel, n_rows, a, as, n_tokens, y, ys);
}
void DecodeQ5_0Q8_0(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t as, int n_tokens, float* y,
                    size_t ys) {
  Decode<Q5_0Format>(n, panel, n_rows, a, as, n_tokens, y, ys);
}
void DecodeQ4_KQ8_KGemv(int64_t n, const uint8_t* panel, int n_rows,
                        const uint8_t* a, size_t as, int n_tokens, float* y,
                        size_t ys) {
  DecodeQ4K<kQKK>(n, panel, n_rows, a, as, n_tokens, y, ys);
}
void DecodeQ4_KQ8_KGemm(int64_t n, const uint8_t* panel, int n_rows,
                        const uint8_t* a, size_t as, int n_tokens, float* y,
                        size_t ys) {
  DecodeQ4K<64>(n, panel, n_rows, a, as, n_tokens, y, ys);
}
void DecodeQ4_1Q8_1(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t as, int n_tokens, float* y,
                    size_t ys) {
  Decode<Q4_1Format>(n, panel, n_rows, a, as, n_tokens, y, ys);
}
void DecodeQ6_KQ8_K(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t as, int n_tokens, float* y,
                    size_t ys) {
  DecodeQ6K(n, panel, n_rows, a, as, n_tokens, y, ys);
}
#if defined(__AVX512VNNI__)
// Biased q8_0 weights (up to 255) overflow vpmaddubsw's pairs.
void DecodeQ8_0Q8_0(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t as, int n_tokens, float* y,
                    size_t ys) {
  Decode<Q8_0Format>(n, panel, n_rows, a, as, n_tokens, y, ys);
}
#endif

}  // namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE

#endif  // GGUFD_RUNTIME_TENSOR_DECODE_PANEL_AVX512_IMPL_H_
