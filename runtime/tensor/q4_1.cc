// Q4_1: 32 values per block, 4-bit quants with a half scale and offset;
// activations are quantized to q8_1, whose precomputed d * sum(q) turns the
// offset's contribution into one multiply per block.
#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {

void DequantizeRowQ4_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ4_1*>(src);
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const float d = Fp16ToFp32(x[b].d);
    const float m = Fp16ToFp32(x[b].m);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = static_cast<float>(x[b].qs[j] & 0xf) * d + m;
      dst[j + kQK / 2] = static_cast<float>(x[b].qs[j] >> 4) * d + m;
    }
  }
}

float DotQ4_1Q8_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int sumi = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      sumi += (x[b].qs[j] & 0xf) * y[b].qs[j];
      sumi += (x[b].qs[j] >> 4) * y[b].qs[j + kQK / 2];
    }
    sum +=
        static_cast<float>(sumi) * (Fp16ToFp32(x[b].d) * Fp16ToFp32(y[b].d)) +
        Fp16ToFp32(x[b].m) * Fp16ToFp32(y[b].s);
  }
  return sum;
}

}  // namespace ggufd::tensor
