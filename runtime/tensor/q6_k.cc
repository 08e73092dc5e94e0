// Q6_K: 256-value super-blocks of 16 groups, 6-bit quants (4 low bits in ql,
// 2 high bits in qh) with signed 8-bit group scales; activations are
// quantized to q8_K.
#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {
namespace {

// The 256 quants (-32..31) in value order. Each 128-value half uses 64
// bytes of ql and 32 of qh; quarter k of a half takes the low (k < 2) or
// high nibble of ql[l + 32 * (k % 2)] and bits 2k..2k+1 of qh[l].
void Unpack(const BlockQ6_K& block, int8_t* q) {
  for (int v = 0; v < kQKK; ++v) {
    const int half = v / 128, k = (v % 128) / 32, l = v % 32;
    const uint8_t lbyte = block.ql[half * 64 + l + 32 * (k % 2)];
    const int low = k < 2 ? lbyte & 0xf : lbyte >> 4;
    const int high = (block.qh[half * 32 + l] >> (2 * k)) & 3;
    q[v] = static_cast<int8_t>((low | (high << 4)) - 32);
  }
}

}  // namespace

void DequantizeRowQ6_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ6_K*>(src);
  int8_t q[kQKK];
  for (int64_t b = 0; b < n / kQKK; ++b, dst += kQKK) {
    const float d = Fp16ToFp32(x[b].d);
    Unpack(x[b], q);
    for (int g = 0; g < 16; ++g) {
      const float dl = d * static_cast<float>(x[b].scales[g]);
      for (int l = 0; l < 16; ++l) {
        dst[g * 16 + l] = dl * static_cast<float>(q[g * 16 + l]);
      }
    }
  }
}

float DotQ6_KQ8_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ6_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  int8_t q[kQKK];
  float sum = 0;
  for (int64_t b = 0; b < n / kQKK; ++b) {
    Unpack(x[b], q);
    int isum = 0;
    for (int g = 0; g < 16; ++g) {
      int gsum = 0;
      for (int l = 0; l < 16; ++l) gsum += q[g * 16 + l] * y[b].qs[g * 16 + l];
      isum += x[b].scales[g] * gsum;
    }
    sum += y[b].d * Fp16ToFp32(x[b].d) * static_cast<float>(isum);
  }
  return sum;
}

}  // namespace ggufd::tensor
