// F16 (IEEE half): weights pair with half activations, as in ggml, so the
// SIMD kernels can multiply two converted halves.
#include <cstdint>

#include "runtime/tensor/fp16.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {

void DequantizeRowF16(const void* src, float* dst, int64_t n) {
  const uint16_t* x = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = Fp16ToFp32(x[i]);
}

void FromFloatF16(const float* src, void* dst, int64_t n) {
  uint16_t* y = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) y[i] = Fp32ToFp16(src[i]);
}

// Products of halves are exact in double; the sum is accumulated in double.
float DotF16(int64_t n, const void* w, const void* a) {
  const uint16_t* x = static_cast<const uint16_t*>(w);
  const uint16_t* y = static_cast<const uint16_t*>(a);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    sum += static_cast<double>(Fp16ToFp32(x[i])) * Fp16ToFp32(y[i]);
  }
  return static_cast<float>(sum);
}

}  // namespace ggufd::tensor
