// Q4_K: 256-value super-blocks of 8 groups of 32, 4-bit quants with 6-bit
// scales and mins; activations are quantized to q8_K.
#include <cmath>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/k4_scalar.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {
namespace {

// The 256 quants (0..15) in value order: each 32 bytes of qs hold 64 values,
// low nibbles first.
void Unpack(const BlockQ4_K& block, int8_t* q) {
  for (int v = 0; v < kQKK; ++v) {
    const uint8_t byte = block.qs[(v / 64) * 32 + v % 32];
    q[v] = static_cast<int8_t>((v % 64) < 32 ? byte & 0xf : byte >> 4);
  }
}

// ggml's order once it has repacked a q4_K weight (repack.cpp, q4_K_8x8 on
// x86): the exact integer sums of every `span` values (its gemv: 256, its
// gemm: 64), scales and mins apart, each fused into its own float
// accumulator with d_w * d_a or dmin_w * d_a; one subtraction at the end.
float DotRepacked(int64_t n, const void* w, const void* a, int span) {
  const auto* x = static_cast<const BlockQ4_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  int8_t q[kQKK];
  float acc = 0;
  float acc_min = 0;
  for (int64_t b = 0; b < n / kQKK; ++b) {
    Unpack(x[b], q);
    const float d = Fp16ToFp32(x[b].d) * y[b].d;
    const float dmin = Fp16ToFp32(x[b].dmin) * y[b].d;
    int isum = 0;
    int msum = 0;
    for (int g = 0; g < 8; ++g) {
      uint8_t sc, m;
      UnpackScaleMinK4(g, x[b].scales, &sc, &m);
      int gsum = 0;
      for (int l = 0; l < 32; ++l) gsum += q[g * 32 + l] * y[b].qs[g * 32 + l];
      isum += sc * gsum;
      msum += m * (y[b].bsums[2 * g] + y[b].bsums[2 * g + 1]);
      if ((g + 1) * 32 % span == 0) {
        acc = std::fma(static_cast<float>(isum), d, acc);
        acc_min = std::fma(static_cast<float>(msum), dmin, acc_min);
        isum = 0;
        msum = 0;
      }
    }
  }
  return acc - acc_min;
}

}  // namespace

float DotQ4_KQ8_KGemv(int64_t n, const void* w, const void* a) {
  return DotRepacked(n, w, a, kQKK);
}

float DotQ4_KQ8_KGemm(int64_t n, const void* w, const void* a) {
  return DotRepacked(n, w, a, 64);
}

void DequantizeRowQ4_K(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ4_K*>(src);
  int8_t q[kQKK];
  for (int64_t b = 0; b < n / kQKK; ++b, dst += kQKK) {
    Unpack(x[b], q);
    DequantizeK4Groups(Fp16ToFp32(x[b].d), Fp16ToFp32(x[b].dmin), x[b].scales,
                       q, dst);
  }
}

float DotQ4_KQ8_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ4_K*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  int8_t q[kQKK];
  float sum = 0;
  for (int64_t b = 0; b < n / kQKK; ++b) {
    Unpack(x[b], q);
    sum += DotK4Groups(Fp16ToFp32(x[b].d), Fp16ToFp32(x[b].dmin), x[b].scales,
                       q, y[b]);
  }
  return sum;
}

}  // namespace ggufd::tensor
