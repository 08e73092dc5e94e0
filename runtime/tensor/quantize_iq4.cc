// Reference quantizers of the non-linear 4-bit formats (ggml's
// quantize_iq4_nl / quantize_iq4_xs without an importance matrix): values
// map to the nearest of 16 fixed levels (kIq4nlValues); each block of 32
// searches 15 trial scales for the best x^2-weighted least-squares fit.
// iq4_xs then quantizes the eight block scales to 6 bits against one fp16
// super-block scale and re-maps the values with the stored scale.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/quantize_rows.h"
#include "runtime/tensor/quantize_search.h"

namespace ggufd::tensor::quant {
namespace {

constexpr int kLevels = 16;
// Trial scales on each side of the block's first guess (ggml's ntry = 7).
constexpr int kTries = 7;

// Index of the level nearest to v (levels ascending); on an exact tie the
// upper level wins, with the distances computed as ggml computes them.
int NearestLevel(float v) {
  const int8_t* val = kIq4nlValues;
  if (v <= val[0]) return 0;
  if (v >= val[kLevels - 1]) return kLevels - 1;
  int lo = 0;
  int hi = kLevels - 1;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (v < val[mid]) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return v - val[hi - 1] < val[hi] - v ? hi - 1 : hi;
}

// Best scale of one 32-value block (0 for an all-zero block); fills L with
// the level indices of that block's first guess.
float BlockScale(const float* xb, uint8_t* L) {
  float weight[kQK];
  for (int j = 0; j < kQK; ++j) weight[j] = xb[j] * xb[j];
  float amax = 0, max = 0;
  for (int j = 0; j < kQK; ++j) {
    const float ax = std::fabs(xb[j]);
    if (ax > amax) {
      amax = ax;
      max = xb[j];
    }
  }
  if (amax < kGroupMaxEps) {
    std::memset(L, 0, kQK);
    return 0;
  }
  const float v0 = static_cast<float>(kIq4nlValues[0]);
  float d = -max / v0;
  float id = 1 / d;
  float sumqx = 0, sumq2 = 0;
  for (int j = 0; j < kQK; ++j) {
    const int l = NearestLevel(id * xb[j]);
    L[j] = static_cast<uint8_t>(l);
    const float q = kIq4nlValues[l];
    sumqx += weight[j] * q * xb[j];
    sumq2 += weight[j] * q * q;
  }
  d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
  float best = d * sumqx;
  for (int itry = -kTries; itry <= kTries; ++itry) {
    id = static_cast<float>(itry + kIq4nlValues[0]) / max;
    sumqx = 0;
    sumq2 = 0;
    for (int j = 0; j < kQK; ++j) {
      const float q = kIq4nlValues[NearestLevel(id * xb[j])];
      sumqx += weight[j] * q * xb[j];
      sumq2 += weight[j] * q * q;
    }
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

// 32 level indices into 16 bytes: value j in the low nibble of byte j,
// value j + 16 in its high nibble.
void PackNibbles(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQK / 2; ++j) {
    qs[j] = static_cast<uint8_t>(L[j] | (L[j + kQK / 2] << 4));
  }
}

}  // namespace

void QuantizeRowIQ4_NL(const float* src, int64_t n, void* dst) {
  auto* y = static_cast<BlockIQ4_NL*>(dst);
  uint8_t L[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    const float d = BlockScale(src, L);
    y[b].d = Fp32ToFp16(d);
    // Re-map with the chosen scale (the search only kept its score).
    const float id = d != 0 ? 1 / d : 0;
    for (int j = 0; j < kQK; ++j)
      L[j] = static_cast<uint8_t>(NearestLevel(id * src[j]));
    PackNibbles(L, y[b].qs);
  }
}

void QuantizeRowIQ4_XS(const float* src, int64_t n, void* dst) {
  auto* y = static_cast<BlockIQ4_XS*>(dst);
  constexpr int kBlocks = kQKK / kQK;
  uint8_t L[kQKK];
  float scales[kBlocks];
  for (int64_t b = 0; b < n / kQKK; ++b, src += kQKK) {
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < kBlocks; ++ib) {
      scales[ib] = BlockScale(src + kQK * ib, L + kQK * ib);
      const float abs_d = std::fabs(scales[ib]);
      if (abs_d > amax_scale) {
        amax_scale = abs_d;
        max_scale = scales[ib];
      }
    }
    // Six-bit block scales biased by 32: low nibbles in scales_l (two per
    // byte), high two bits in scales_h.
    const float d = -max_scale / 32;
    y[b].d = Fp32ToFp16(d);
    y[b].scales_h = 0;
    const float id = d != 0 ? 1 / d : 0.f;
    for (int ib = 0; ib < kBlocks; ++ib) {
      const int l = std::clamp(NearestInt(id * scales[ib]), -32, 31);
      const float dl = d * static_cast<float>(l);
      const float idl = dl != 0 ? 1 / dl : 0.f;
      const float* xb = src + kQK * ib;
      for (int j = 0; j < kQK; ++j) {
        L[kQK * ib + j] = static_cast<uint8_t>(NearestLevel(idl * xb[j]));
      }
      const int biased = l + 32;
      if (ib % 2 == 0) {
        y[b].scales_l[ib / 2] = static_cast<uint8_t>(biased & 0xf);
      } else {
        y[b].scales_l[ib / 2] |= static_cast<uint8_t>((biased & 0xf) << 4);
      }
      y[b].scales_h |= static_cast<uint16_t>((biased >> 4) << (2 * ib));
    }
    for (int ib = 0; ib < kBlocks; ++ib) {
      PackNibbles(L + kQK * ib, y[b].qs + (kQK / 2) * ib);
    }
  }
}

}  // namespace ggufd::tensor::quant
