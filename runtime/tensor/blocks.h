// Byte layouts of the quantized block formats, as ggml writes them into GGUF
// files (ggml-common.h). They live in one header because every instruction
// set's kernels (separate translation units) read the same bytes; each type's
// own file (q4_0.cc, q6_k.cc ...) holds its dequantizer and scalar dot.
// Half-precision fields are raw uint16_t; convert with fp16.h.
#ifndef GGUFD_RUNTIME_TENSOR_BLOCKS_H_
#define GGUFD_RUNTIME_TENSOR_BLOCKS_H_

#include <cstdint>

namespace ggufd::tensor {

inline constexpr int kQK = 32;    // values per block of the 32-wide formats
inline constexpr int kQKK = 256;  // values per K-quant super-block

// 4-bit, value = (q - 8) * d. Low nibbles hold values 0..15, high 16..31.
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// 4-bit with offset, value = q * d + m.
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4_1) == 20);

// 5-bit, value = (q - 16) * d; bit 4 of value j is bit j of qh.
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5_0) == 22);

// 5-bit with offset, value = q * d + m.
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5_1) == 24);

// 8-bit, value = q * d. Also the activation format paired with q4_0, q5_0,
// q8_0 and iq4_nl weights.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_0) == 34);

// 8-bit activation block paired with q4_1/q5_1: s = d * sum(qs), so the
// weight offset m contributes m * s without touching the quants.
struct BlockQ8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_1) == 36);

// 2-bit super-block: 16 groups of 16; scales[j] low nibble scales group j,
// high nibble its min; value = d * sc * q - dmin * m.
struct BlockQ2_K {
  uint8_t scales[kQKK / 16];
  uint8_t qs[kQKK / 4];
  uint16_t d;
  uint16_t dmin;
};
static_assert(sizeof(BlockQ2_K) == 84);

// 3-bit super-block: 2 low bits in qs, the high bit in hmask (set = no -4),
// 16 six-bit group scales packed into 12 bytes, biased by 32.
struct BlockQ3_K {
  uint8_t hmask[kQKK / 8];
  uint8_t qs[kQKK / 4];
  uint8_t scales[12];
  uint16_t d;
};
static_assert(sizeof(BlockQ3_K) == 110);

// 4-bit super-block: 8 groups of 32 with 6-bit scales and mins packed into
// 12 bytes; value = d * sc * q - dmin * m.
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qs[kQKK / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

// 5-bit super-block: as q4_K plus one high bit per value in qh.
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[kQKK / 8];
  uint8_t qs[kQKK / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);

// 6-bit super-block: 4 low bits in ql, 2 high bits in qh, 16 signed 8-bit
// group scales; value = d * sc * (q - 32).
struct BlockQ6_K {
  uint8_t ql[kQKK / 2];
  uint8_t qh[kQKK / 4];
  int8_t scales[kQKK / 16];
  uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210);

// 8-bit activation super-block paired with the K-quants and iq4_xs: a float
// scale and the sum of each group of 16 quants (for the weight mins).
struct BlockQ8_K {
  float d;
  int8_t qs[kQKK];
  int16_t bsums[kQKK / 16];
};
static_assert(sizeof(BlockQ8_K) == 292);

// 4-bit non-linear: value = d * kIq4nlValues[q].
struct BlockIQ4_NL {
  uint16_t d;
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockIQ4_NL) == 18);

// 4-bit non-linear super-block: 8 groups of 32 with 6-bit scales (low 4 bits
// in scales_l, high 2 in scales_h), biased by 32.
struct BlockIQ4_XS {
  uint16_t d;
  uint16_t scales_h;
  uint8_t scales_l[kQKK / 64];
  uint8_t qs[kQKK / 2];
};
static_assert(sizeof(BlockIQ4_XS) == 136);

// The 16 levels of iq4_nl / iq4_xs (a non-uniform grid fitted to normally
// distributed weights).
inline constexpr int8_t kIq4nlValues[16] = {
    -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// The 6-bit scale and min of group j (0..7) of a q4_K / q5_K super-block.
inline void UnpackScaleMinK4(int j, const uint8_t* scales, uint8_t* sc,
                             uint8_t* m) {
  if (j < 4) {
    *sc = scales[j] & 63;
    *m = scales[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((scales[j + 4] & 0xf) |
                               ((scales[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
  }
}

}  // namespace ggufd::tensor

#endif  // GGUFD_RUNTIME_TENSOR_BLOCKS_H_
