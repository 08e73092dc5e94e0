// The decode-panel kernels (decode_panels.h) of q4_0, q4_1, q5_0 and q8_0
// at AVX2 (compiled with -mavx2 -mfma -mf16c; reached only after CPU
// detection). A 256-bit load is half of a panel's 64-byte vector: for q8_0
// one 4-value group of 8 rows, for the q4 types two rows' 16 packed bytes
// (rows 2i, 2i + 1 in its 128-bit halves, each meeting the token's values
// 0-15 and 16-31 broadcast to both halves). The 16 rows' scales are one
// load, where the file layout's kernels (panel_avx2.cc, the tiles) convert
// or gather them row by row.
//
// q4_0 follows the repacked order llama.cpp gives it on these CPUs (its
// q4_0_8x8 gemv, panel_avx2.cc's order): per row, for each block in order,
//   acc = fma(d_w * d_a, float(isum), acc)
// with isum the block's exact integer sum of (q - 8) * a. The others keep
// vec_dot's 8 lanes per row (RunByHalves and the formats below).
//
// As in dot_avx2.cc, nothing here calls an inline function shared with other
// translation units (byte_sums_impl.h and dot256_ops.h give this one its
// own copies).
#define GGUFD_SIMD_NAMESPACE avx2
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/byte_sums_impl.h"
#include "runtime/tensor/decode_panels.h"
#include "runtime/tensor/dot256_ops.h"
#include "runtime/tensor/lanes_avx2_impl.h"
#include "runtime/tensor/simd_kernels.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor::avx2 {
namespace {

static_assert(kPanelRows == 16);
constexpr size_t kQ4QuantBytes = 256;  // a q4_0 block's quants in a panel
constexpr int kOffset = 8;

// Rows 0-7 of the 8 partial-sum vectors p (p[i]: row 2i in the low 128-bit
// lane, 4 partials; row 2i + 1 in the high one) summed, rows in order.
inline __m256i RowSums(__m256i p0, __m256i p1, __m256i p2, __m256i p3) {
  // Lanes: rows (0, 2, 4, 6 | 1, 3, 5, 7).
  const __m256i s =
      _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_hadd_epi32(p2, p3));
  return _mm256_permutevar8x32_epi32(s,
                                     _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Rows 2i and 2i + 1 of the 8 row scales d, each over its 128-bit half.
inline __m256 PairScale(__m256 d, int i) {
  return _mm256_permutevar8x32_ps(
      d, _mm256_setr_epi32(2 * i, 2 * i, 2 * i, 2 * i, 2 * i + 1, 2 * i + 1,
                           2 * i + 1, 2 * i + 1));
}

template <int T>
void RunWhole(int64_t n, const uint8_t* panel, int n_rows, const uint8_t* a,
              size_t as, float* y, size_t ys) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[T][2];
  for (int t = 0; t < T; ++t) {
    acc[t][0] = _mm256_setzero_ps();
    acc[t][1] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < n / kQK; ++b) {
    const uint8_t* q = panel + PairedQuantsAt(b, kQ4QuantBytes);
    const uint8_t* d = panel + PairedScalesAt(b, kQ4QuantBytes);
    // The block's quants and the line after them (the pair's scales after
    // an odd block).
    PrefetchAhead(q, kQ4QuantBytes + 64);
    __m256i lo[8], hi[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      const __m256i v =
          _mm256_load_si256(reinterpret_cast<const __m256i*>(q + 32 * i));
      lo[i] = _mm256_and_si256(v, low4);
      hi[i] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    }
    const __m256 dw[2] = {
        _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(d))),
        _mm256_cvtph_ps(
            _mm_load_si128(reinterpret_cast<const __m128i*>(d + 16)))};
#pragma GCC unroll 2
    for (int t = 0; t < T; ++t) {
      const BlockQ8_0* ab =
          reinterpret_cast<const BlockQ8_0*>(a + static_cast<size_t>(t) * as) +
          b;
      const __m256i a_lo = _mm256_broadcastsi128_si256(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(ab->qs)));
      const __m256i a_hi = _mm256_broadcastsi128_si256(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(ab->qs + 16)));
      // Each int16 pair sum is at most 2 x 2 x 15 x 128, far from 2^15.
      __m256i p[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        p[i] = _mm256_madd_epi16(
            _mm256_add_epi16(_mm256_maddubs_epi16(lo[i], a_lo),
                             _mm256_maddubs_epi16(hi[i], a_hi)),
            ones);
      }
      const __m256i offset = _mm256_set1_epi32(-kOffset * SumBytes(ab->qs));
      const __m256 da = _mm256_set1_ps(_cvtsh_ss(ab->d));
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const __m256i isum = _mm256_add_epi32(
            RowSums(p[4 * h], p[4 * h + 1], p[4 * h + 2], p[4 * h + 3]),
            offset);
        acc[t][h] = _mm256_fmadd_ps(_mm256_mul_ps(dw[h], da),
                                    _mm256_cvtepi32_ps(isum), acc[t][h]);
      }
    }
  }
  for (int h = 0; h < 2 && 8 * h < n_rows; ++h) {
    const __m256i mask = LaneMask(n_rows - 8 * h);
    for (int t = 0; t < T; ++t) {
      _mm256_maskstore_ps(y + static_cast<size_t>(t) * ys + 8 * h, mask,
                          acc[t][h]);
    }
  }
}

// The 8-lane formats below split the work on one half (rows 0-7 or 8-15)
// of a panel block: UnpackPiece turns piece i of its quants into the
// vectors the products take, Scales reads its row scales, Prepare meets
// those with one token's activation block, and AccumulatePiece adds piece
// i's products to that token's accumulators. Each half keeps its own
// accumulators, summed into row totals by RowTotals.
//
// Decoding (a few tokens) takes a panel's halves in turns over runs of
// kChunkBlocks blocks, unpacking each block for each token as it goes: one
// half fills the registers, and the second reads the run again from L1, so
// the memory stream stays one forward stream. 8 blocks: 4.3 KiB of q8_0.
// A prompt unpacks a run once for kGroupTokens tokens, which then take it
// from L1 one after another, each with its accumulators in registers.
constexpr int64_t kChunkBlocks = 8;
constexpr int kFewTokens = 2;
constexpr int kGroupTokens = 16;

// G, the prompts' format, may trade unpacking work (done once per group)
// for work per token; it shares F's activation blocks and accumulators.
template <typename F, typename G = F>
void RunByHalves(int64_t n, const uint8_t* panel, int n_rows, const uint8_t* a,
                 size_t as, int n_tokens, float* y, size_t ys) {
  using ABlock = typename F::ABlock;
  static_assert(std::is_same_v<ABlock, typename G::ABlock>);
  const int halves = n_rows > 8 ? 2 : 1;
  const int64_t nb = n / kQK;
  auto blocks_of = [&](int t) {
    return reinterpret_cast<const ABlock*>(a + static_cast<size_t>(t) * as);
  };
  auto store = [&](int t, int h, __m256 row_totals) {
    _mm256_maskstore_ps(y + static_cast<size_t>(t) * ys + 8 * h,
                        LaneMask(n_rows - 8 * h), row_totals);
  };
  if (n_tokens <= kFewTokens) {
    for (int t = 0; t < n_tokens; ++t) {
      const ABlock* ab = blocks_of(t);
      typename F::Acc acc[2] = {};
      for (int64_t b0 = 0; b0 < nb; b0 += kChunkBlocks) {
        const int64_t b1 = std::min(nb, b0 + kChunkBlocks);
        for (int h = 0; h < halves; ++h) {
          typename F::Acc run = acc[h];
          for (int64_t b = b0; b < b1; ++b) {
            // Piece by piece: a whole unpacked block would not fit the
            // registers beside the accumulators. Where the stream is
            // memory-bound each piece prefetches its share of a block ahead,
            // so the stream does not wait while the second half computes
            // from L1; a compute-bound format sends all at its first piece.
            const auto prep = F::Prepare(F::Scales(panel, b, h), ab[b]);
#pragma GCC unroll 8
            for (int i = 0; i < F::kPieces; ++i) {
              if constexpr (F::kSharedPrefetch) {
                PrefetchShare(F::Stream(panel, b), F::kStreamBytes,
                              F::kPieces * h + i, 2 * F::kPieces);
              } else if (h == 0 && i == 0) {
                PrefetchAhead(F::Stream(panel, b), F::kStreamBytes);
              }
              F::AccumulatePiece(F::UnpackPiece(panel, b, h, i), prep, i, run);
            }
          }
          acc[h] = run;
        }
      }
      for (int h = 0; h < halves; ++h) store(t, h, F::RowTotals(acc[h]));
    }
    return;
  }
  struct Unpacked {
    typename G::Piece piece[G::kPieces];
    typename G::BlockScales scales;
  } u[kChunkBlocks];
  for (int t0 = 0; t0 < n_tokens; t0 += kGroupTokens) {
    const int nt = std::min(kGroupTokens, n_tokens - t0);
    typename G::Acc acc[kGroupTokens][2] = {};
    for (int64_t b0 = 0; b0 < nb; b0 += kChunkBlocks) {
      const int64_t b1 = std::min(nb, b0 + kChunkBlocks);
      for (int h = 0; h < halves; ++h) {
        for (int64_t b = b0; b < b1; ++b) {
          // A whole block ahead at once: the tokens' work between two
          // unpackings is long enough to cover it.
          if (h == 0) PrefetchAhead(G::Stream(panel, b), G::kStreamBytes);
          for (int i = 0; i < G::kPieces; ++i) {
            u[b - b0].piece[i] = G::UnpackPiece(panel, b, h, i);
          }
          u[b - b0].scales = G::Scales(panel, b, h);
        }
        for (int t = 0; t < nt; ++t) {
          const ABlock* ab = blocks_of(t0 + t);
          typename G::Acc run = acc[t][h];
          for (int64_t b = b0; b < b1; ++b) {
            const auto prep = G::Prepare(u[b - b0].scales, ab[b]);
#pragma GCC unroll 8
            for (int i = 0; i < G::kPieces; ++i) {
              G::AccumulatePiece(u[b - b0].piece[i], prep, i, run);
            }
          }
          acc[t][h] = run;
        }
      }
    }
    for (int t = 0; t < nt; ++t) {
      for (int h = 0; h < halves; ++h) {
        store(t0 + t, h, G::RowTotals(acc[t][h]));
      }
    }
  }
}

// q8_0 in vec_dot's order (dot_avx2.cc's KQ8_0): lane g of a row's
// accumulator takes values 4g..4g+3 of each block, fma(d_w * d_a, their
// sum, lane), summed by HsumLanes. In the panel, vector k of a block holds
// values 4k..4k+3 of every row (rows 0-7 in its low 256 bits), so lane g
// of a row is accumulator k = g of 8 rows side by side. The products are
// |w| times the sign-moved activation, as ggml's vec_dot forms them
// without VNNI.
struct Q8_0Format {
  using ABlock = BlockQ8_0;
  static constexpr size_t kQuantBytes = 512;
  static constexpr int kPieces = 8;  // piece k: values 4k..4k+3
  struct Piece {
    __m256i w;    // signed (the panel stores them +128, for vpdpbusd)
    __m256i abs;  // |w|
  };
  using BlockScales = __m256;
  struct Prepared {
    __m256 scale;
    const int8_t* qs;
  };
  struct Acc {
    __m256 l[8];
  };
  // A block's bytes in the panel's stream: its quants and the line after
  // them (the pair's scales after an odd block).
  static constexpr size_t kStreamBytes = kQuantBytes + 64;
  static constexpr bool kSharedPrefetch = true;
  static const uint8_t* Stream(const uint8_t* panel, int64_t b) {
    return panel + PairedQuantsAt(b, kQuantBytes);
  }
  static Piece UnpackPiece(const uint8_t* panel, int64_t b, int h, int k) {
    const uint8_t* q = Stream(panel, b);
    const __m256i w = _mm256_xor_si256(
        _mm256_load_si256(
            reinterpret_cast<const __m256i*>(q + 64 * k + 32 * h)),
        _mm256_set1_epi8(static_cast<char>(0x80)));
    return {w, _mm256_sign_epi8(w, w)};
  }
  static __m256 Scales(const uint8_t* panel, int64_t b, int h) {
    return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(
        panel + PairedScalesAt(b, kQuantBytes) + 16 * h)));
  }
  static Prepared Prepare(__m256 d, const BlockQ8_0& ab) {
    return {_mm256_mul_ps(d, _mm256_set1_ps(_cvtsh_ss(ab.d))), ab.qs};
  }
  static void AccumulatePiece(const Piece& piece, const Prepared& a, int k,
                              Acc& acc) {
    const __m256i ak = _mm256_set1_epi32(Dword(a.qs + 4 * k));
    const __m256i p = _mm256_madd_epi16(
        _mm256_maddubs_epi16(piece.abs, _mm256_sign_epi8(ak, piece.w)),
        _mm256_set1_epi16(1));
    acc.l[k] = _mm256_fmadd_ps(a.scale, _mm256_cvtepi32_ps(p), acc.l[k]);
  }
  static __m256 RowTotals(const Acc& acc) { return HsumLanes(acc.l); }
};

// Rows 0-7's sums of 8 lanes each in ggml's order, from accumulators
// holding two rows per 256 bits (lo[i]: lanes 0-3 of rows 2i, 2i + 1 in its
// 128-bit halves; hi[i]: lanes 4-7), rows in order.
inline __m256 PairRowSums(const __m256 (&lo)[4], const __m256 (&hi)[4]) {
  // Per 128 bits (one row): (l0 + l4, l1 + l5, l2 + l6, l3 + l7), then
  // the pairs, then the two: the row's sum in element 0.
  __m256 u[4];
  for (int i = 0; i < 4; ++i) {
    const __m256 s = _mm256_add_ps(lo[i], hi[i]);
    const __m256 t =
        _mm256_add_ps(s, _mm256_permute_ps(s, _MM_SHUFFLE(1, 0, 3, 2)));
    u[i] = _mm256_add_ps(t, _mm256_permute_ps(t, _MM_SHUFFLE(2, 3, 0, 1)));
  }
  // Rows (0, 2, 4, 6 | 1, 3, 5, 7), then in order.
  const __m256 rows = _mm256_shuffle_ps(_mm256_unpacklo_ps(u[0], u[1]),
                                        _mm256_unpacklo_ps(u[2], u[3]),
                                        _MM_SHUFFLE(1, 0, 1, 0));
  return _mm256_permutevar8x32_ps(rows,
                                  _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Piece i of a block of the q4_1 / q5_0 formats: a 256-bit load of the
// panel holds two rows' 16 packed bytes (rows 2i, 2i + 1), so its low
// nibbles give lanes 0-3 of both rows (values 0-15), its high nibbles
// lanes 4-7: accumulators lo[i] and hi[i] hold a row's lanes per 128 bits.
struct PairPiece {
  __m256i lo, hi;
};
struct PairAcc {
  __m256 lo[4], hi[4];
};

// Values 0-15 (lo) and 16-31 (hi) of an activation block, each in both
// 128-bit halves, to meet a pair piece's two rows.
inline PairPiece BroadcastHalves(const int8_t* qs) {
  return {_mm256_broadcastsi128_si256(
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs))),
          _mm256_broadcastsi128_si256(
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs + 16)))};
}

// Adds piece i's lane sums (plo, phi), scaled, to a PairAcc.
inline void AddPairPiece(__m256 d, int i, __m256i plo, __m256i phi,
                         PairAcc& acc) {
  const __m256 scale = PairScale(d, i);
  acc.lo[i] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(plo), acc.lo[i]);
  acc.hi[i] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(phi), acc.hi[i]);
}

// q4_1 in vec_dot's order (dot256_legacy_impl.h's KQ4_1): q8_0's lanes, and
// m_w * s_a summed apart per row, added after the lanes, as KQ4_1 does.
struct Q4_1Format {
  using ABlock = BlockQ8_1;
  static constexpr size_t kBlockBytes = 320;  // 256 of quants, d, m
  static constexpr int kPieces = 4;
  using Piece = PairPiece;
  struct BlockScales {
    __m256 d, m;
  };
  struct Prepared {
    __m256 d, m, s;
    __m256i a_lo, a_hi;
  };
  struct Acc : PairAcc {
    __m256 ms;
  };
  static constexpr size_t kStreamBytes = kBlockBytes;
  // Compute-bound too: spread, its prefetches cost ~4% of SmolLM2's q4_1
  // decode products.
  static constexpr bool kSharedPrefetch = false;
  static const uint8_t* Stream(const uint8_t* panel, int64_t b) {
    return panel + static_cast<size_t>(b) * kBlockBytes;
  }
  static Piece UnpackPiece(const uint8_t* panel, int64_t b, int h, int i) {
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const uint8_t* blk = Stream(panel, b);
    const __m256i v = _mm256_load_si256(
        reinterpret_cast<const __m256i*>(blk + 128 * h + 32 * i));
    return {_mm256_and_si256(v, low4),
            _mm256_and_si256(_mm256_srli_epi16(v, 4), low4)};
  }
  static BlockScales Scales(const uint8_t* panel, int64_t b, int h) {
    const uint8_t* dm = panel + static_cast<size_t>(b) * kBlockBytes + 256;
    return {_mm256_cvtph_ps(
                _mm_load_si128(reinterpret_cast<const __m128i*>(dm + 16 * h))),
            _mm256_cvtph_ps(_mm_load_si128(
                reinterpret_cast<const __m128i*>(dm + 32 + 16 * h)))};
  }
  static Prepared Prepare(const BlockScales& s, const BlockQ8_1& ab) {
    const PairPiece a = BroadcastHalves(ab.qs);
    return {_mm256_mul_ps(s.d, _mm256_set1_ps(_cvtsh_ss(ab.d))), s.m,
            _mm256_set1_ps(_cvtsh_ss(ab.s)), a.lo, a.hi};
  }
  static void AccumulatePiece(const Piece& piece, const Prepared& a, int i,
                              Acc& acc) {
    const __m256i ones = _mm256_set1_epi16(1);
    // The block's m_w * s_a, once per block and token.
    if (i == 0) acc.ms = _mm256_fmadd_ps(a.m, a.s, acc.ms);
    AddPairPiece(
        a.d, i, _mm256_madd_epi16(_mm256_maddubs_epi16(piece.lo, a.a_lo), ones),
        _mm256_madd_epi16(_mm256_maddubs_epi16(piece.hi, a.a_hi), ones), acc);
  }
  static __m256 RowTotals(const Acc& acc) {
    return _mm256_add_ps(PairRowSums(acc.lo, acc.hi), acc.ms);
  }
};
// q5_0 in vec_dot's order (dot256_legacy_impl.h's KOffsetQ): q4_1's lanes,
// the quants 0..31 (the nibble plus 16 for a set high bit) and the offset
// 16 entering each lane as -16 times its activations' sum, no m. The high
// bits of a load's two rows are 32 consecutive bits of the panel's masks.
struct Q5_0Format {
  using ABlock = BlockQ8_0;
  static constexpr size_t kBlockBytes = 384;  // quants, masks, float d
  static constexpr int kPieces = 4;
  using Piece = PairPiece;
  using BlockScales = __m256;
  struct Prepared {
    __m256 d;
    __m256i a_lo, a_hi, off_lo, off_hi;
  };
  using Acc = PairAcc;
  static constexpr size_t kStreamBytes = kBlockBytes;
  // Compute-bound (BitsToBytes): spreading its prefetches cost 12% of a
  // Gemma 3 q5_0 decode product (2.8 -> 3.2 ms per token).
  static constexpr bool kSharedPrefetch = false;
  static const uint8_t* Stream(const uint8_t* panel, int64_t b) {
    return panel + static_cast<size_t>(b) * kBlockBytes;
  }
  static Piece UnpackPiece(const uint8_t* panel, int64_t b, int h, int i) {
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const uint8_t* blk = Stream(panel, b);
    const uint8_t* masks = blk + 256;
    const int load = 4 * h + i;  // rows 2 * load, 2 * load + 1
    const __m256i v =
        _mm256_load_si256(reinterpret_cast<const __m256i*>(blk + 32 * load));
    const int word = 4 * (load / 2) + load % 2;
    return {_mm256_or_si256(_mm256_and_si256(v, low4),
                            BitsToBytes(masks + 4 * word, 0x10)),
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4),
                            BitsToBytes(masks + 4 * (word + 2), 0x10))};
  }
  static __m256 Scales(const uint8_t* panel, int64_t b, int h) {
    return _mm256_load_ps(
        reinterpret_cast<const float*>(
            panel + static_cast<size_t>(b) * kBlockBytes + 320) +
        8 * h);
  }
  static Prepared Prepare(__m256 d, const BlockQ8_0& ab) {
    const __m256i qa = Load256(ab.qs);
    // -16 * (sum of each 4 values of a): lanes 0-3 for values 0-15 in
    // both 128-bit halves, then lanes 4-7 for values 16-31.
    const __m256i offset = _mm256_sub_epi32(
        _mm256_setzero_si256(),
        _mm256_slli_epi32(
            AddDotU8S8(_mm256_setzero_si256(), _mm256_set1_epi8(1), qa), 4));
    return {_mm256_mul_ps(d, _mm256_set1_ps(_cvtsh_ss(ab.d))),
            _mm256_permute2x128_si256(qa, qa, 0x00),
            _mm256_permute2x128_si256(qa, qa, 0x11),
            _mm256_permute2x128_si256(offset, offset, 0x00),
            _mm256_permute2x128_si256(offset, offset, 0x11)};
  }
  static void AccumulatePiece(const Piece& piece, const Prepared& a, int i,
                              Acc& acc) {
    AddPairPiece(a.d, i, AddDotU8S8(a.off_lo, piece.lo, a.a_lo),
                 AddDotU8S8(a.off_hi, piece.hi, a.a_hi), acc);
  }
  static __m256 RowTotals(const Acc& acc) {
    return PairRowSums(acc.lo, acc.hi);
  }
};

// q5_0 for prompts: the same lanes and integers, as sums of (q - 16) * a
// formed the way vec_dot forms them (|w| times the sign-moved activation)
// instead of q * a less 16 times the activations' sums. Unpacking costs two
// operations more per vector, paid once per group of tokens; each token
// then needs no offsets (7 of the 12 operations Q5_0Format::Prepare spends
// per block and half). |q - 16| * 127 * 2 stays far from 2^15.
struct Q5_0SignedFormat : Q5_0Format {
  struct Piece {
    __m256i lo, hi;          // q - 16
    __m256i abs_lo, abs_hi;  // |q - 16|
  };
  struct Prepared {
    __m256 d;
    __m256i a_lo, a_hi;
  };
  static Piece UnpackPiece(const uint8_t* panel, int64_t b, int h, int i) {
    const PairPiece q = Q5_0Format::UnpackPiece(panel, b, h, i);
    const __m256i offset = _mm256_set1_epi8(16);
    const __m256i lo = _mm256_sub_epi8(q.lo, offset);
    const __m256i hi = _mm256_sub_epi8(q.hi, offset);
    return {lo, hi, _mm256_sign_epi8(lo, lo), _mm256_sign_epi8(hi, hi)};
  }
  static Prepared Prepare(__m256 d, const BlockQ8_0& ab) {
    const PairPiece a = BroadcastHalves(ab.qs);
    return {_mm256_mul_ps(d, _mm256_set1_ps(_cvtsh_ss(ab.d))), a.lo, a.hi};
  }
  static void AccumulatePiece(const Piece& piece, const Prepared& a, int i,
                              Acc& acc) {
    const __m256i ones = _mm256_set1_epi16(1);
    AddPairPiece(
        a.d, i,
        _mm256_madd_epi16(_mm256_maddubs_epi16(
                              piece.abs_lo, _mm256_sign_epi8(a.a_lo, piece.lo)),
                          ones),
        _mm256_madd_epi16(_mm256_maddubs_epi16(
                              piece.abs_hi, _mm256_sign_epi8(a.a_hi, piece.hi)),
                          ones),
        acc);
  }
};

}  // namespace

void DecodeQ8_0Q8_0(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t as, int n_tokens, float* y,
                    size_t ys) {
  RunByHalves<Q8_0Format>(n, panel, n_rows, a, as, n_tokens, y, ys);
}

void DecodeQ5_0Q8_0(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t as, int n_tokens, float* y,
                    size_t ys) {
  RunByHalves<Q5_0Format, Q5_0SignedFormat>(n, panel, n_rows, a, as, n_tokens,
                                            y, ys);
}

void DecodeQ4_1Q8_1(int64_t n, const uint8_t* panel, int n_rows,
                    const uint8_t* a, size_t as, int n_tokens, float* y,
                    size_t ys) {
  RunByHalves<Q4_1Format>(n, panel, n_rows, a, as, n_tokens, y, ys);
}

void DecodeQ4_0Q8_0Whole(int64_t n, const uint8_t* panel, int n_rows,
                         const uint8_t* a, size_t as, int n_tokens, float* y,
                         size_t ys) {
  for (int t = 0; t < n_tokens; t += 2) {
    const uint8_t* at = a + static_cast<size_t>(t) * as;
    float* yt = y + static_cast<size_t>(t) * ys;
    if (n_tokens - t >= 2) {
      RunWhole<2>(n, panel, n_rows, at, as, yt, ys);
    } else {
      RunWhole<1>(n, panel, n_rows, at, as, yt, ys);
    }
  }
}

}  // namespace ggufd::tensor::avx2
