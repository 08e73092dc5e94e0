// Portable kernels, one group per tensor type (each defined in that type's
// own file: f16.cc, q4_0.cc, q6_k.cc ...). They are the reference the SIMD
// kernels are tested against, and the fallback on CPUs without AVX2.
// Internal to ggufd_tensor: callers go through type_traits.h.
#ifndef GGUFD_RUNTIME_TENSOR_SCALAR_KERNELS_H_
#define GGUFD_RUNTIME_TENSOR_SCALAR_KERNELS_H_

#include <cstdint>

namespace ggufd::tensor {

// Dequantizers: n values (a multiple of the block size) to floats.
void DequantizeRowF32(const void* src, float* dst, int64_t n);
void DequantizeRowF16(const void* src, float* dst, int64_t n);
void DequantizeRowBF16(const void* src, float* dst, int64_t n);
void DequantizeRowQ4_0(const void* src, float* dst, int64_t n);
void DequantizeRowQ4_1(const void* src, float* dst, int64_t n);
void DequantizeRowQ5_0(const void* src, float* dst, int64_t n);
void DequantizeRowQ5_1(const void* src, float* dst, int64_t n);
void DequantizeRowQ8_0(const void* src, float* dst, int64_t n);
void DequantizeRowQ8_1(const void* src, float* dst, int64_t n);
void DequantizeRowQ2_K(const void* src, float* dst, int64_t n);
void DequantizeRowQ3_K(const void* src, float* dst, int64_t n);
void DequantizeRowQ4_K(const void* src, float* dst, int64_t n);
void DequantizeRowQ5_K(const void* src, float* dst, int64_t n);
void DequantizeRowQ6_K(const void* src, float* dst, int64_t n);
void DequantizeRowQ8_K(const void* src, float* dst, int64_t n);
void DequantizeRowIQ4_NL(const void* src, float* dst, int64_t n);
void DequantizeRowIQ4_XS(const void* src, float* dst, int64_t n);

// Activation conversions: n floats to the activation row format. The 8-bit
// quantizers reproduce ggml's CPU kernels bit for bit.
void FromFloatF32(const float* src, void* dst, int64_t n);
void FromFloatF16(const float* src, void* dst, int64_t n);
void FromFloatBF16(const float* src, void* dst, int64_t n);
void QuantizeActivationsQ8_0(const float* src, void* dst, int64_t n);
void QuantizeActivationsQ8_1(const float* src, void* dst, int64_t n);
void QuantizeActivationsQ8_K(const float* src, void* dst, int64_t n);
// q8_K as ggml quantizes the rows of its repacked gemm (4 at a time).
void QuantizeActivationsQ8_KGrouped(const float* src, void* dst, int64_t n);

// Dot products of a weight row with an activation row of the paired format.
float DotF32(int64_t n, const void* w, const void* a);
float DotF16(int64_t n, const void* w, const void* a);
float DotBF16(int64_t n, const void* w, const void* a);
float DotQ4_0Q8_0(int64_t n, const void* w, const void* a);
// q4_0 as ggml's repacked q4_0_8x8 gemv and gemm sum it (rows % 8 == 0 on
// x86 with AVX2): each block's exact integer sum, scaled, fused into one
// running sum.
float DotQ4_0Q8_0Whole(int64_t n, const void* w, const void* a);
float DotQ4_1Q8_1(int64_t n, const void* w, const void* a);
float DotQ5_0Q8_0(int64_t n, const void* w, const void* a);
float DotQ5_1Q8_1(int64_t n, const void* w, const void* a);
float DotQ8_0Q8_0(int64_t n, const void* w, const void* a);
float DotQ2_KQ8_K(int64_t n, const void* w, const void* a);
float DotQ3_KQ8_K(int64_t n, const void* w, const void* a);
float DotQ4_KQ8_K(int64_t n, const void* w, const void* a);
float DotQ5_KQ8_K(int64_t n, const void* w, const void* a);
float DotQ6_KQ8_K(int64_t n, const void* w, const void* a);
float DotIQ4_NLQ8_0(int64_t n, const void* w, const void* a);
float DotIQ4_XSQ8_K(int64_t n, const void* w, const void* a);

// q4_K in the orders of ggml's repacked kernels (type_traits.h,
// RepackedOrder): per super-block (its gemv) and per 64 values (its gemm).
float DotQ4_KQ8_KGemv(int64_t n, const void* w, const void* a);
float DotQ4_KQ8_KGemm(int64_t n, const void* w, const void* a);

}  // namespace ggufd::tensor

#endif  // GGUFD_RUNTIME_TENSOR_SCALAR_KERNELS_H_
