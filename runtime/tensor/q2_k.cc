// Q2_K: 256-value super-blocks of 16 groups, 2-bit quants with a 4-bit scale
// and 4-bit min per group; activations are quantized to q8_K.
#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {
namespace {

// The 256 quants (0..3) in value order: each 32-byte half of qs holds 128
// values, two bits per value, shift 2*j for values 32*j .. 32*j+31.
void Unpack(const BlockQ2_K& block, int8_t* q) {
  for (int v = 0; v < kQKK; ++v) {
    const int half = v / 128, j = (v % 128) / 32, l = v % 32;
    q[v] = static_cast<int8_t>((block.qs[half * 32 + l] >> (2 * j)) & 3);
  }
}

}  // namespace

void DequantizeRowQ2_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ2_K*>(src);
  int8_t q[kQKK];
  for (int64_t b = 0; b < n / kQKK; ++b, dst += kQKK) {
    const float d = Fp16ToFp32(x[b].d);
    const float dmin = Fp16ToFp32(x[b].dmin);
    Unpack(x[b], q);
    for (int g = 0; g < kQKK / 16; ++g) {
      const float dl = d * static_cast<float>(x[b].scales[g] & 0xf);
      const float ml = dmin * static_cast<float>(x[b].scales[g] >> 4);
      for (int l = 0; l < 16; ++l) {
        dst[g * 16 + l] = dl * static_cast<float>(q[g * 16 + l]) - ml;
      }
    }
  }
}

float DotQ2_KQ8_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ2_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  int8_t q[kQKK];
  float sum = 0;
  for (int64_t b = 0; b < n / kQKK; ++b) {
    Unpack(x[b], q);
    int isum = 0;
    int msum = 0;
    for (int g = 0; g < kQKK / 16; ++g) {
      int gsum = 0;
      for (int l = 0; l < 16; ++l) gsum += q[g * 16 + l] * y[b].qs[g * 16 + l];
      isum += (x[b].scales[g] & 0xf) * gsum;
      msum += (x[b].scales[g] >> 4) * y[b].bsums[g];
    }
    sum += y[b].d * Fp16ToFp32(x[b].d) * static_cast<float>(isum) -
           y[b].d * Fp16ToFp32(x[b].dmin) * static_cast<float>(msum);
  }
  return sum;
}

}  // namespace ggufd::tensor
