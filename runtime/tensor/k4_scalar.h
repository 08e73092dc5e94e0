// The scalar (oracle) arithmetic Q4_K and Q5_K share once their quants are
// unpacked to small integers: 8 groups of 32 with a 6-bit scale and min
// each (UnpackScaleMinK4). Only how the quants are stored differs.
#ifndef GGUFD_RUNTIME_TENSOR_K4_SCALAR_H_
#define GGUFD_RUNTIME_TENSOR_K4_SCALAR_H_

#include <cstdint>

#include "runtime/tensor/blocks.h"

namespace ggufd::tensor {

// dst[i] = d * scale(g) * q[i] - dmin * min(g) for the 256 values of one
// super-block.
inline void DequantizeK4Groups(float d, float dmin, const uint8_t* scales,
                               const int8_t* q, float* dst) {
  for (int g = 0; g < 8; ++g) {
    uint8_t sc, m;
    UnpackScaleMinK4(g, scales, &sc, &m);
    const float dl = d * sc;
    const float ml = dmin * m;
    for (int l = 0; l < 32; ++l) {
      dst[g * 32 + l] = dl * static_cast<float>(q[g * 32 + l]) - ml;
    }
  }
}

// One super-block's contribution to a dot with a q8_K block, in ggml's
// reference order: exact integer sums, then two float products.
inline float DotK4Groups(float d, float dmin, const uint8_t* scales,
                         const int8_t* q, const BlockQ8_K& y) {
  int isum = 0;
  int msum = 0;
  for (int g = 0; g < 8; ++g) {
    uint8_t sc, m;
    UnpackScaleMinK4(g, scales, &sc, &m);
    int gsum = 0;
    for (int l = 0; l < 32; ++l) gsum += q[g * 32 + l] * y.qs[g * 32 + l];
    isum += sc * gsum;
    msum += m * (y.bsums[2 * g] + y.bsums[2 * g + 1]);
  }
  return y.d * d * static_cast<float>(isum) -
         y.d * dmin * static_cast<float>(msum);
}

}  // namespace ggufd::tensor

#endif  // GGUFD_RUNTIME_TENSOR_K4_SCALAR_H_
