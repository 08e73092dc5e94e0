// Q8_1: the activation format paired with q4_1 and q5_1 weights: q8_0 plus
// s = d * sum(q), so a weight block's offset m adds m * s to its dot product.
#include <algorithm>
#include <cmath>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {

void DequantizeRowQ8_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ8_1*>(src);
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const float d = Fp16ToFp32(x[b].d);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(x[b].qs[j]) * d;
  }
}

// Follows ggml's AVX2 quantize_row_q8_1 (see QuantizeActivationsQ8_0 in
// q8_0.cc).
void QuantizeActivationsQ8_1(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_1*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    float amax = 0;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(src[j]));
    const float d = amax / 127.0f;
    const float id = amax != 0 ? 127.0f / amax : 0.0f;
    y[b].d = Fp32ToFp16(d);
    int sum = 0;
    for (int j = 0; j < kQK; ++j) {
      const long q = std::lrint(src[j] * id);
      y[b].qs[j] = static_cast<int8_t>(std::clamp(q, -128L, 127L));
      sum += y[b].qs[j];
    }
    y[b].s = Fp32ToFp16(d * static_cast<float>(sum));
  }
}

}  // namespace ggufd::tensor
