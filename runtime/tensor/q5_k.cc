// Q5_K: as q4_K with a fifth bit per value in qh; activations are quantized
// to q8_K.
#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/k4_scalar.h"
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
    Unpack(x[b], q);
    DequantizeK4Groups(Fp16ToFp32(x[b].d), Fp16ToFp32(x[b].dmin), x[b].scales,
                       q, dst);
  }
}

float DotQ5_KQ8_K(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_K*>(w);
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
