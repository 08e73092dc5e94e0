// Q5_0: 32 values per block, 5-bit quants (high bits packed in qh) with one
// half scale; activations are quantized to q8_0.
#include <cstring>

#include "runtime/tensor/blocks.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {
namespace {

// The 32 quants of a block in [0, 31], in value order.
void Unpack(const BlockQ5_0& block, int* q) {
  uint32_t qh;
  std::memcpy(&qh, block.qh, sizeof(qh));
  for (int j = 0; j < kQK / 2; ++j) {
    q[j] = (block.qs[j] & 0xf) | static_cast<int>(((qh >> j) & 1) << 4);
    q[j + kQK / 2] =
        (block.qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
  }
}

}  // namespace

void DequantizeRowQ5_0(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ5_0*>(src);
  int q[kQK];
  for (int64_t b = 0; b < n / kQK; ++b, dst += kQK) {
    const float d = Fp16ToFp32(x[b].d);
    Unpack(x[b], q);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(q[j] - 16) * d;
  }
}

float DotQ5_0Q8_0(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const BlockQ5_0*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  int q[kQK];
  float sum = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    Unpack(x[b], q);
    int sumi = 0;
    for (int j = 0; j < kQK; ++j) sumi += (q[j] - 16) * y[b].qs[j];
    sum += static_cast<float>(sumi) * (Fp16ToFp32(x[b].d) * Fp16ToFp32(y[b].d));
  }
  return sum;
}

}  // namespace ggufd::tensor
