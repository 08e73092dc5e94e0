// Reference quantizers of the K-quant super-blocks (ggml's
// quantize_row_q{2,3,4,5,6}_K_ref, the path ggml takes without an importance
// matrix): each group of 16 or 32 values gets its own scale (and min) from a
// search in quantize_search.cc; the group scales are then quantized against
// one fp16 super-block scale, and every value is re-quantized with the scale
// the dequantizer will actually see.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/quantize_rows.h"
#include "runtime/tensor/quantize_search.h"

namespace ggufd::tensor::quant {
namespace {

// Packs 256 2-bit values: byte l of each 32-byte run holds values l, l+32,
// l+64, l+96 of its 128-value half.
void Pack2Bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQKK; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] =
          static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) |
                               (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
    }
  }
}

// The 6-bit scale/min packing of q4_K and q5_K (inverse of UnpackScaleMinK4).
void PackScaleMinK4(int j, uint8_t ls, uint8_t lm, uint8_t* scales) {
  if (j < 4) {
    scales[j] = ls;
    scales[j + 4] = lm;
  } else {
    scales[j + 4] = static_cast<uint8_t>((ls & 0xf) | ((lm & 0xf) << 4));
    scales[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
    scales[j] |= static_cast<uint8_t>((lm >> 4) << 6);
  }
}

// Shared by q4_K and q5_K: per group of 32 a (scale, min) fit weighted by
// rms + |x|, then 6-bit group scales and mins against fp16 maxima, then the
// final levels 0..nmax. Fills L, d, dmin and scales.
void QuantizeScaleMinK(const float* x, int nmax, float rmin, float rdelta,
                       int nstep, uint8_t* L, uint16_t* d_out,
                       uint16_t* dmin_out, uint8_t* packed_scales) {
  float scales[kQKK / 32];
  float mins[kQKK / 32];
  float weights[32];
  uint8_t Laux[32];
  float max_scale = 0;  // scales are positive once the min is deducted
  float max_min = 0;
  for (int j = 0; j < kQKK / 32; ++j) {
    const float* xg = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xg[l] * xg[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xg[l]);
    scales[j] = MakeQkx2Quants(32, nmax, xg, weights, L + 32 * j, &mins[j],
                               Laux, rmin, rdelta, nstep, /*use_mad=*/false);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < kQKK / 32; ++j) {
    const auto ls = static_cast<uint8_t>(NearestInt(inv_scale * scales[j]));
    const auto lm = static_cast<uint8_t>(NearestInt(inv_min * mins[j]));
    PackScaleMinK4(j, std::min<uint8_t>(63, ls), std::min<uint8_t>(63, lm),
                   packed_scales);
  }
  *d_out = Fp32ToFp16(max_scale / 63.f);
  *dmin_out = Fp32ToFp16(max_min / 63.f);
  const float d_all = Fp16ToFp32(*d_out);
  const float dmin_all = Fp16ToFp32(*dmin_out);
  for (int j = 0; j < kQKK / 32; ++j) {
    uint8_t sc, m;
    UnpackScaleMinK4(j, packed_scales, &sc, &m);
    const float d = d_all * sc;
    if (d == 0) continue;
    const float dm = dmin_all * m;
    for (int l = 0; l < 32; ++l) {
      const int q = NearestInt((x[32 * j + l] + dm) / d);
      L[32 * j + l] = static_cast<uint8_t>(std::clamp(q, 0, nmax));
    }
  }
}

}  // namespace

void QuantizeRowQ2_K(const float* src, int64_t n, void* dst) {
  auto* y = static_cast<BlockQ2_K*>(dst);
  uint8_t L[kQKK];
  uint8_t Laux[16];
  float weights[16];
  float mins[kQKK / 16];
  float scales[kQKK / 16];
  const float q4scale = 15.f;
  for (int64_t b = 0; b < n / kQKK; ++b, src += kQKK) {
    float max_scale = 0;
    float max_min = 0;
    for (int j = 0; j < kQKK / 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(src[16 * j + l]);
      scales[j] = MakeQkx2Quants(16, 3, src + 16 * j, weights, L + 16 * j,
                                 &mins[j], Laux, -0.5f, 0.1f, 15,
                                 /*use_mad=*/true);
      max_scale = std::max(max_scale, scales[j]);
      max_min = std::max(max_min, mins[j]);
    }
    if (max_scale > 0) {
      const float iscale = q4scale / max_scale;
      for (int j = 0; j < kQKK / 16; ++j) {
        y[b].scales[j] = static_cast<uint8_t>(NearestInt(iscale * scales[j]));
      }
      y[b].d = Fp32ToFp16(max_scale / q4scale);
    } else {
      std::memset(y[b].scales, 0, sizeof(y[b].scales));
      y[b].d = Fp32ToFp16(0.f);
    }
    if (max_min > 0) {
      const float iscale = q4scale / max_min;
      for (int j = 0; j < kQKK / 16; ++j) {
        y[b].scales[j] |=
            static_cast<uint8_t>(NearestInt(iscale * mins[j]) << 4);
      }
      y[b].dmin = Fp32ToFp16(max_min / q4scale);
    } else {
      y[b].dmin = Fp32ToFp16(0.f);
    }
    const float d_all = Fp16ToFp32(y[b].d);
    const float dmin_all = Fp16ToFp32(y[b].dmin);
    for (int j = 0; j < kQKK / 16; ++j) {
      const float d = d_all * (y[b].scales[j] & 0xf);
      if (d == 0) continue;
      const float dm = dmin_all * (y[b].scales[j] >> 4);
      for (int l = 0; l < 16; ++l) {
        const int q = NearestInt((src[16 * j + l] + dm) / d);
        L[16 * j + l] = static_cast<uint8_t>(std::clamp(q, 0, 3));
      }
    }
    Pack2Bit(L, y[b].qs);
  }
}

void QuantizeRowQ3_K(const float* src, int64_t n, void* dst) {
  auto* y = static_cast<BlockQ3_K*>(dst);
  int8_t L[kQKK];
  float scales[kQKK / 16];
  for (int64_t b = 0; b < n / kQKK; ++b, src += kQKK) {
    float max_scale = 0;
    float amax = 0;
    for (int j = 0; j < kQKK / 16; ++j) {
      scales[j] = MakeQ3Quants(16, 4, src + 16 * j, L + 16 * j,
                               /*do_rmse=*/true);
      const float scale = std::fabs(scales[j]);
      if (scale > amax) {
        amax = scale;
        max_scale = scales[j];
      }
    }
    // 16 six-bit scales biased by 32: low nibbles in bytes 0..7, the two
    // high bits of scale j in byte 8 + j % 4 at bit 2 * (j / 4).
    std::memset(y[b].scales, 0, sizeof(y[b].scales));
    if (max_scale != 0) {
      const float iscale = -32.f / max_scale;
      for (int j = 0; j < kQKK / 16; ++j) {
        const int l = std::clamp(NearestInt(iscale * scales[j]), -32, 31) + 32;
        if (j < 8) {
          y[b].scales[j] = static_cast<uint8_t>(l & 0xf);
        } else {
          y[b].scales[j - 8] |= static_cast<uint8_t>((l & 0xf) << 4);
        }
        y[b].scales[j % 4 + 8] |=
            static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
      }
      y[b].d = Fp32ToFp16(1 / iscale);
    } else {
      y[b].d = Fp32ToFp16(0.f);
    }
    const float d_all = Fp16ToFp32(y[b].d);
    for (int j = 0; j < kQKK / 16; ++j) {
      const int lo = j < 8 ? y[b].scales[j] & 0xf : y[b].scales[j - 8] >> 4;
      const int hi = (y[b].scales[8 + j % 4] >> (2 * (j / 4))) & 3;
      const float d = d_all * static_cast<float>((lo | (hi << 4)) - 32);
      if (d == 0) continue;
      for (int l = 0; l < 16; ++l) {
        const int q = NearestInt(src[16 * j + l] / d);
        L[16 * j + l] = static_cast<int8_t>(std::clamp(q, -4, 3) + 4);
      }
    }
    // The high bit of value j goes to bit j / 32 of hmask[j % 32].
    std::memset(y[b].hmask, 0, sizeof(y[b].hmask));
    uint8_t low[kQKK];
    for (int j = 0; j < kQKK; ++j) {
      low[j] = static_cast<uint8_t>(L[j]);
      if (L[j] > 3) {
        y[b].hmask[j % 32] |= static_cast<uint8_t>(1 << (j / 32));
        low[j] = static_cast<uint8_t>(L[j] - 4);
      }
    }
    Pack2Bit(low, y[b].qs);
  }
}

void QuantizeRowQ4_K(const float* src, int64_t n, void* dst) {
  auto* y = static_cast<BlockQ4_K*>(dst);
  uint8_t L[kQKK];
  for (int64_t b = 0; b < n / kQKK; ++b, src += kQKK) {
    QuantizeScaleMinK(src, /*nmax=*/15, /*rmin=*/-1.f, /*rdelta=*/0.1f,
                      /*nstep=*/20, L, &y[b].d, &y[b].dmin, y[b].scales);
    // Each 32-byte run holds 64 values: low nibbles first.
    uint8_t* q = y[b].qs;
    for (int j = 0; j < kQKK; j += 64, q += 32) {
      for (int l = 0; l < 32; ++l) {
        q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
      }
    }
  }
}

void QuantizeRowQ5_K(const float* src, int64_t n, void* dst) {
  auto* y = static_cast<BlockQ5_K*>(dst);
  uint8_t L[kQKK];
  for (int64_t b = 0; b < n / kQKK; ++b, src += kQKK) {
    QuantizeScaleMinK(src, /*nmax=*/31, /*rmin=*/-0.5f, /*rdelta=*/0.1f,
                      /*nstep=*/15, L, &y[b].d, &y[b].dmin, y[b].scales);
    // As q4_K, plus bit 4 of value (64 * k + l) in qh[l] bit 2k, of value
    // (64 * k + 32 + l) in bit 2k + 1.
    std::memset(y[b].qh, 0, sizeof(y[b].qh));
    uint8_t* ql = y[b].qs;
    for (int k = 0; k < kQKK / 64; ++k, ql += 32) {
      for (int l = 0; l < 32; ++l) {
        const int v1 = L[64 * k + l];
        const int v2 = L[64 * k + l + 32];
        y[b].qh[l] |= static_cast<uint8_t>(((v1 >> 4) << (2 * k)) |
                                           ((v2 >> 4) << (2 * k + 1)));
        ql[l] = static_cast<uint8_t>((v1 & 0xf) | ((v2 & 0xf) << 4));
      }
    }
  }
}

void QuantizeRowQ6_K(const float* src, int64_t n, void* dst) {
  auto* y = static_cast<BlockQ6_K*>(dst);
  int8_t L[kQKK];
  float scales[kQKK / 16];
  for (int64_t b = 0; b < n / kQKK; ++b, src += kQKK) {
    float max_scale = 0;
    float max_abs_scale = 0;
    for (int g = 0; g < kQKK / 16; ++g) {
      scales[g] = MakeQxQuants(16, 32, src + 16 * g, L + 16 * g,
                               /*rmse_type=*/1, /*qw=*/nullptr);
      const float abs_scale = std::fabs(scales[g]);
      if (abs_scale > max_abs_scale) {
        max_abs_scale = abs_scale;
        max_scale = scales[g];
      }
    }
    if (max_abs_scale < kGroupMaxEps) {
      std::memset(&y[b], 0, sizeof(y[b]));
      continue;
    }
    const float iscale = -128.f / max_scale;
    y[b].d = Fp32ToFp16(1 / iscale);
    for (int g = 0; g < kQKK / 16; ++g) {
      y[b].scales[g] =
          static_cast<int8_t>(std::min(127, NearestInt(iscale * scales[g])));
    }
    const float d_all = Fp16ToFp32(y[b].d);
    for (int g = 0; g < kQKK / 16; ++g) {
      const float d = d_all * y[b].scales[g];
      if (d == 0) continue;
      for (int l = 0; l < 16; ++l) {
        const int q = NearestInt(src[16 * g + l] / d);
        L[16 * g + l] = static_cast<int8_t>(std::clamp(q, -32, 31) + 32);
      }
    }
    // Low nibbles: ql[64k + l] holds values 128k + l (low) and 128k + 64 + l
    // (high), ql[64k + 32 + l] values 128k + 32 + l and 128k + 96 + l; the two
    // high bits of the four values go to qh[32k + l].
    for (int k = 0; k < kQKK / 128; ++k) {
      const int8_t* Lk = L + 128 * k;
      uint8_t* ql = y[b].ql + 64 * k;
      uint8_t* qh = y[b].qh + 32 * k;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((Lk[l] & 0xf) | ((Lk[l + 64] & 0xf) << 4));
        ql[l + 32] = static_cast<uint8_t>((Lk[l + 32] & 0xf) |
                                          ((Lk[l + 96] & 0xf) << 4));
        qh[l] = static_cast<uint8_t>((Lk[l] >> 4) | ((Lk[l + 32] >> 4) << 2) |
                                     ((Lk[l + 64] >> 4) << 4) |
                                     ((Lk[l + 96] >> 4) << 6));
      }
    }
  }
}

}  // namespace ggufd::tensor::quant
