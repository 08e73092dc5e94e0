// Q5_K: as q4_K with a fifth bit per value in qh; activations are quantized
// to q8_K.
#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {
namespace {

// The 256 quants (0..31) in value order; group g's high bits are bit g of
// qh[l].
void Unpack(const BlockQ5_K& block, int8_t* q) {
  for (int v = 0; v < kQKK; ++v) {
    const int l = v % 32, g = v / 32;
    const uint8_t byte = block.qs[(v / 64) * 32 + l];
    const int low = (v % 64) < 32 ? byte & 0xf : byte >> 4;
    q[v] = static_cast<int8_t>(low | (((block.qh[l] >> g) & 1) << 4));
  }
}

}  // namespace

void DequantizeRowQ5_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ5_K*>(src);
  int8_t q[kQKK];
  for (int64_t b = 0; b < n / kQKK; ++b, dst += kQKK) {
    const float d = Fp16ToFp32(x[b].d);
    const float dmin = Fp16ToFp32(x[b].dmin);
    Unpack(x[b], q);
    for (int g = 0; g < 8; ++g) {
      uint8_t sc, m;
      UnpackScaleMinK4(g, x[b].scales, &sc, &m);
      const float dl = d * sc;
      const float ml = dmin * m;
      for (int l = 0; l < 32; ++l) {
        dst[g * 32 + l] = dl * static_cast<float>(q[g * 32 + l]) - ml;
      }
    }
  }
}

float DotQ5_KQ8_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  int8_t q[kQKK];
  float sum = 0;
  for (int64_t b = 0; b < n / kQKK; ++b) {
    Unpack(x[b], q);
    int isum = 0;
    int msum = 0;
    for (int g = 0; g < 8; ++g) {
      uint8_t sc, m;
      UnpackScaleMinK4(g, x[b].scales, &sc, &m);
      int gsum = 0;
      for (int l = 0; l < 32; ++l) gsum += q[g * 32 + l] * y[b].qs[g * 32 + l];
      isum += sc * gsum;
      msum += m * (y[b].bsums[2 * g] + y[b].bsums[2 * g + 1]);
    }
    sum += y[b].d * Fp16ToFp32(x[b].d) * static_cast<float>(isum) -
           y[b].d * Fp16ToFp32(x[b].dmin) * static_cast<float>(msum);
  }
  return sum;
}

}  // namespace ggufd::tensor
