// Q8_0: 32 values per block, 8-bit quants with one half scale. It is both a
// weight type and the activation format paired with q4_0, q5_0, q8_0 and
// iq4_nl weights.
#include <algorithm>
#include <cmath>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {

void DequantizeRowQ8_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ8_0*>(src);
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const float d = Fp16ToFp32(x[b].d);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(x[b].qs[j]) * d;
  }
}

// Follows ggml's AVX2 quantize_row_q8_0 (what llama.cpp runs on x86), not
// its scalar reference: the inverse scale is 127 / amax rather than 1 / d,
// and quants round half to even rather than away from zero.
void QuantizeActivationsQ8_0(const float* src, void* dst, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / kQK; ++b, src += kQK) {
    float amax = 0;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(src[j]));
    const float d = amax / 127.0f;
    const float id = amax != 0 ? 127.0f / amax : 0.0f;
    y[b].d = Fp32ToFp16(d);
    for (int j = 0; j < kQK; ++j) {
      const long q = std::lrint(src[j] * id);
      y[b].qs[j] = static_cast<int8_t>(std::clamp(q, -128L, 127L));
    }
  }
}

float DotQ8_0Q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ8_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int sumi = 0;
    for (int j = 0; j < kQK; ++j) sumi += x[b].qs[j] * y[b].qs[j];
    sum += static_cast<float>(sumi) * (Fp16ToFp32(x[b].d) * Fp16ToFp32(y[b].d));
  }
  return sum;
}

}  // namespace ggufd::tensor
