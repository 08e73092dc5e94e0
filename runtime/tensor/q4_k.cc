// Q4_K: 256-value super-blocks of 8 groups of 32, 4-bit quants with 6-bit
// scales and mins; activations are quantized to q8_K.
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

}  // namespace

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
