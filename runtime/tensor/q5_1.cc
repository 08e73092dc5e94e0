// Q5_1: 32 values per block, 5-bit quants with a half scale and offset;
// activations are quantized to q8_1 (see q4_1.cc for why).
#include <cstring>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {
namespace {

// The 32 quants of a block in [0, 31], in value order.
void Unpack(const BlockQ5_1& block, int* q) {
  uint32_t qh;
  std::memcpy(&qh, block.qh, sizeof(qh));
  for (int j = 0; j < kQK / 2; ++j) {
    q[j] = (block.qs[j] & 0xf) | static_cast<int>(((qh >> j) & 1) << 4);
    q[j + kQK / 2] =
        (block.qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
  }
}

}  // namespace

void DequantizeRowQ5_1(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ5_1*>(src);
  int q[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const float d = Fp16ToFp32(x[b].d);
    const float m = Fp16ToFp32(x[b].m);
    Unpack(x[b], q);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(q[j]) * d + m;
  }
}

float DotQ5_1Q8_1(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_1*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  int q[kQK];
  float sum = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    Unpack(x[b], q);
    int sumi = 0;
    for (int j = 0; j < kQK; ++j) sumi += q[j] * y[b].qs[j];
    sum +=
        static_cast<float>(sumi) * (Fp16ToFp32(x[b].d) * Fp16ToFp32(y[b].d)) +
        Fp16ToFp32(x[b].m) * Fp16ToFp32(y[b].s);
  }
  return sum;
}

}  // namespace ggufd::tensor
