// Q4_0: 32 values per block, 4-bit quants with one half scale; activations
// are quantized to q8_0.
#include <cmath>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {

void DequantizeRowQ4_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ4_0*>(src);
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const float d = Fp16ToFp32(x[b].d);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = static_cast<float>((x[b].qs[j] & 0xf) - 8) * d;
      dst[j + kQK / 2] = static_cast<float>((x[b].qs[j] >> 4) - 8) * d;
    }
  }
}

namespace {

// The exact integer dot product of one block pair.
int BlockSum(const BlockQ4_0& x, const BlockQ8_0& y) {
  int sumi = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    sumi += ((x.qs[j] & 0xf) - 8) * y.qs[j];
    sumi += ((x.qs[j] >> 4) - 8) * y.qs[j + kQK / 2];
  }
  return sumi;
}

}  // namespace

float DotQ4_0Q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    sum += static_cast<float>(BlockSum(x[b], y[b])) *
           (Fp16ToFp32(x[b].d) * Fp16ToFp32(y[b].d));
  }
  return sum;
}

float DotQ4_0Q8_0Whole(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    sum = std::fma(static_cast<float>(BlockSum(x[b], y[b])),
                   Fp16ToFp32(x[b].d) * Fp16ToFp32(y[b].d), sum);
  }
  return sum;
}

}  // namespace ggufd::tensor
