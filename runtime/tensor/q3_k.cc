// Q3_K: 256-value super-blocks of 16 groups, 3-bit quants (2 low bits in qs,
// the high bit in hmask) with signed 6-bit group scales; activations are
// quantized to q8_K.
#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {
namespace {

// The 256 quants (-4..3) in value order. A clear hmask bit means "minus 4".
void Unpack(const BlockQ3_K& block, int8_t* q) {
  for (int v = 0; v < kQKK; ++v) {
    const int half = v / 128, j = (v % 128) / 32, l = v % 32;
    const int low = (block.qs[half * 32 + l] >> (2 * j)) & 3;
    const bool high = block.hmask[l] & (1 << (half * 4 + j));
    q[v] = static_cast<int8_t>(low - (high ? 0 : 4));
  }
}

// The 16 group scales (-32..31): low nibbles in bytes 0..7 (groups 0..7 low
// half, 8..15 high half), the top two bits in bytes 8..11.
void UnpackScales(const BlockQ3_K& block, int* sc) {
  for (int g = 0; g < 16; ++g) {
    const int low = g < 8 ? block.scales[g] & 0xf : block.scales[g - 8] >> 4;
    const int high = (block.scales[8 + g % 4] >> (2 * (g / 4))) & 3;
    sc[g] = (low | (high << 4)) - 32;
  }
}

}  // namespace

void DequantizeRowQ3_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ3_K*>(src);
  int8_t q[kQKK];
  int sc[16];
  for (int64_t b = 0; b < n / kQKK; ++b, dst += kQKK) {
    const float d = Fp16ToFp32(x[b].d);
    Unpack(x[b], q);
    UnpackScales(x[b], sc);
    for (int g = 0; g < 16; ++g) {
      const float dl = d * static_cast<float>(sc[g]);
      for (int l = 0; l < 16; ++l) {
        dst[g * 16 + l] = dl * static_cast<float>(q[g * 16 + l]);
      }
    }
  }
}

float DotQ3_KQ8_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ3_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  int8_t q[kQKK];
  int sc[16];
  float sum = 0;
  for (int64_t b = 0; b < n / kQKK; ++b) {
    Unpack(x[b], q);
    UnpackScales(x[b], sc);
    int isum = 0;
    for (int g = 0; g < 16; ++g) {
      int gsum = 0;
      for (int l = 0; l < 16; ++l) gsum += q[g * 16 + l] * y[b].qs[g * 16 + l];
      isum += sc[g] * gsum;
    }
    sum += y[b].d * Fp16ToFp32(x[b].d) * static_cast<float>(isum);
  }
  return sum;
}

}  // namespace ggufd::tensor
