// Reference quantizers of the 32-value block formats (ggml's
// quantize_row_{q4_0,q4_1,q5_0,q5_1,q8_0}_ref): one scale per block from the
// block's extreme value, no search. Symmetric formats put the largest
// magnitude on the most negative level; q*_1 formats span [min, max].
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/quantize_rows.h"
#include "runtime/tensor/quantize_search.h"

namespace ggufd::tensor::quant {
namespace {

// The value of largest magnitude in a block, sign kept (first one on ties).
float SignedAbsMax(const float* x) {
  float amax = 0;
  float max = 0;
  for (int j = 0; j < kQK; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void MinMax(const float* x, float* min, float* max) {
  *min = std::numeric_limits<float>::max();
  *max = -std::numeric_limits<float>::max();
  for (int j = 0; j < kQK; ++j) {
    if (x[j] < *min) *min = x[j];
    if (x[j] > *max) *max = x[j];
  }
}

// Levels 0..levels-1 of value v (already scaled and offset) by truncation,
// as ggml's (int8_t)(v + bias) does.
uint8_t TruncLevel(float v, int levels) {
  return static_cast<uint8_t>(std::clamp(TruncToInt(v), 0, levels - 1));
}

}  // namespace

void QuantizeRowQ4_0(const float* src, int64_t n, void* dst) {
  auto* y = static_cast<BlockQ4_0*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    const float d = SignedAbsMax(src) / -8;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = Fp32ToFp16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const uint8_t lo = TruncLevel(src[j] * id + 8.5f, 16);
      const uint8_t hi = TruncLevel(src[j + kQK / 2] * id + 8.5f, 16);
      y[b].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void QuantizeRowQ4_1(const float* src, int64_t n, void* dst) {
  auto* y = static_cast<BlockQ4_1*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    float min, max;
    MinMax(src, &min, &max);
    const float d = (max - min) / 15;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = Fp32ToFp16(d);
    y[b].m = Fp32ToFp16(min);
    for (int j = 0; j < kQK / 2; ++j) {
      const uint8_t lo = TruncLevel((src[j] - min) * id + 0.5f, 16);
      const uint8_t hi = TruncLevel((src[j + kQK / 2] - min) * id + 0.5f, 16);
      y[b].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void QuantizeRowQ5_0(const float* src, int64_t n, void* dst) {
  auto* y = static_cast<BlockQ5_0*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    const float d = SignedAbsMax(src) / -16;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = Fp32ToFp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const uint8_t lo = TruncLevel(src[j] * id + 16.5f, 32);
      const uint8_t hi = TruncLevel(src[j + kQK / 2] * id + 16.5f, 32);
      y[b].qs[j] = static_cast<uint8_t>((lo & 0xf) | ((hi & 0xf) << 4));
      qh |= static_cast<uint32_t>(lo >> 4) << j;
      qh |= static_cast<uint32_t>(hi >> 4) << (j + kQK / 2);
    }
    std::memcpy(y[b].qh, &qh, sizeof(qh));
  }
}

void QuantizeRowQ5_1(const float* src, int64_t n, void* dst) {
  auto* y = static_cast<BlockQ5_1*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    float min, max;
    MinMax(src, &min, &max);
    const float d = (max - min) / 31;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = Fp32ToFp16(d);
    y[b].m = Fp32ToFp16(min);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const uint8_t lo = TruncLevel((src[j] - min) * id + 0.5f, 32);
      const uint8_t hi = TruncLevel((src[j + kQK / 2] - min) * id + 0.5f, 32);
      y[b].qs[j] = static_cast<uint8_t>((lo & 0xf) | ((hi & 0xf) << 4));
      qh |= static_cast<uint32_t>(lo >> 4) << j;
      qh |= static_cast<uint32_t>(hi >> 4) << (j + kQK / 2);
    }
    std::memcpy(y[b].qh, &qh, sizeof(qh));
  }
}

void QuantizeRowQ8_0(const float* src, int64_t n, void* dst) {
  auto* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    float amax = 0;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(src[j]));
    const float d = amax / 127;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = Fp32ToFp16(d);
    // roundf: halves away from zero (unlike NearestInt's ties-to-even).
    for (int j = 0; j < kQK; ++j) {
      y[b].qs[j] = static_cast<int8_t>(
          std::clamp(TruncToInt(std::round(src[j] * id)), -127, 127));
    }
  }
}

}  // namespace ggufd::tensor::quant
