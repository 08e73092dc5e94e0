// IQ4_XS: 256-value super-blocks of 8 groups of 32, iq4_nl grid indices with
// 6-bit group scales; activations are quantized to q8_K.
#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {
namespace {

// Scale of group g (-32..31): low 4 bits from scales_l, high 2 from scales_h.
int GroupScale(const BlockIQ4_XS& block, int g) {
  const int low = (block.scales_l[g / 2] >> (4 * (g % 2))) & 0xf;
  const int high = (block.scales_h >> (2 * g)) & 3;
  return (low | (high << 4)) - 32;
}

// Grid value of element l (0..31) of group g.
int Value(const BlockIQ4_XS& block, int g, int l) {
  const uint8_t byte = block.qs[g * 16 + l % 16];
  return kIq4nlValues[l < 16 ? byte & 0xf : byte >> 4];
}

}  // namespace

void DequantizeRowIQ4_XS(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockIQ4_XS*>(src);
  for (int64_t b = 0; b < n / kQKK; ++b) {
    const float d = Fp16ToFp32(x[b].d);
    for (int g = 0; g < 8; ++g, dst += 32) {
      const float dl = d * static_cast<float>(GroupScale(x[b], g));
      for (int l = 0; l < 32; ++l) {
        dst[l] = dl * static_cast<float>(Value(x[b], g, l));
      }
    }
  }
}

float DotIQ4_XSQ8_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockIQ4_XS*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float sum = 0;
  for (int64_t b = 0; b < n / kQKK; ++b) {
    int isum = 0;
    for (int g = 0; g < 8; ++g) {
      int gsum = 0;
      for (int l = 0; l < 32; ++l) {
        gsum += Value(x[b], g, l) * y[b].qs[g * 32 + l];
      }
      isum += GroupScale(x[b], g) * gsum;
    }
    sum += y[b].d * Fp16ToFp32(x[b].d) * static_cast<float>(isum);
  }
  return sum;
}

}  // namespace ggufd::tensor
