// Q8_K: the activation format paired with the K-quants and iq4_xs: 256
// values with a float scale and the sum of every 16 quants, which the
// kernels use to apply the weight groups' mins.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {

void DequantizeRowQ8_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ8_K*>(src);
  for (int64_t b = 0; b < n / kQKK; ++b, dst += kQKK) {
    for (int j = 0; j < kQKK; ++j) dst[j] = x[b].d * x[b].qs[j];
  }
}

namespace {

// The value of largest magnitude maps to -127 (so the scale carries its
// sign), quants round half to even. Which value counts as "largest" when +m
// and -m tie is the one place ggml's two quantizers differ: the row
// quantizer takes the first, the 4-row one (prefer_positive) takes +m.
void QuantizeRowQ8_KImpl(const float* src, void* dst, int64_t n,
                         bool prefer_positive) {
  auto* y = static_cast<BlockQ8_K*>(dst);
  for (int64_t b = 0; b < n / kQKK; ++b, src += kQKK) {
    float max = 0;
    float amax = 0;
    for (int j = 0; j < kQKK; ++j) {
      if (std::fabs(src[j]) > amax) {
        amax = std::fabs(src[j]);
        max = src[j];
      }
    }
    if (amax == 0) {
      std::memset(&y[b], 0, sizeof(y[b]));
      continue;
    }
    if (prefer_positive && max < 0 &&
        std::find(src, src + kQKK, amax) != src + kQKK) {
      max = amax;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < kQKK; ++j) {
      const long q = std::lrint(iscale * src[j]);
      y[b].qs[j] = static_cast<int8_t>(std::clamp(q, -128L, 127L));
    }
    for (int g = 0; g < kQKK / 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += y[b].qs[g * 16 + j];
      y[b].bsums[g] = static_cast<int16_t>(sum);
    }
    y[b].d = 1 / iscale;
  }
}

}  // namespace

// ggml's quantize_row_q8_K_ref (also its x86 CPU path).
void QuantizeActivationsQ8_K(const float* src, void* dst, int64_t n) {
  QuantizeRowQ8_KImpl(src, dst, n, /*prefer_positive=*/false);
}

// ggml's quantize_mat_q8_K_4x8 (x86), row by row: the rows its repacked
// gemm multiplies.
void QuantizeActivationsQ8_KGrouped(const float* src, void* dst, int64_t n) {
  QuantizeRowQ8_KImpl(src, dst, n, /*prefer_positive=*/true);
}

}  // namespace ggufd::tensor
