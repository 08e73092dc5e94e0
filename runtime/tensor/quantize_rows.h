// The per-type reference row quantizers behind QuantizeRow (quantize.h).
// Each writes the n values of `src` (n a multiple of the type's block size,
// all finite) as n / block_size blocks at `dst`.
#ifndef GGUFD_RUNTIME_TENSOR_QUANTIZE_ROWS_H_
#define GGUFD_RUNTIME_TENSOR_QUANTIZE_ROWS_H_

#include <cstdint>

namespace ggufd::tensor::quant {

// 32-value block formats (quantize_legacy.cc).
void QuantizeRowQ4_0(const float* src, int64_t n, void* dst);
void QuantizeRowQ4_1(const float* src, int64_t n, void* dst);
void QuantizeRowQ5_0(const float* src, int64_t n, void* dst);
void QuantizeRowQ5_1(const float* src, int64_t n, void* dst);
void QuantizeRowQ8_0(const float* src, int64_t n, void* dst);

// K-quant super-blocks of 256 values (quantize_k.cc).
void QuantizeRowQ2_K(const float* src, int64_t n, void* dst);
void QuantizeRowQ3_K(const float* src, int64_t n, void* dst);
void QuantizeRowQ4_K(const float* src, int64_t n, void* dst);
void QuantizeRowQ5_K(const float* src, int64_t n, void* dst);
void QuantizeRowQ6_K(const float* src, int64_t n, void* dst);

// Non-linear 4-bit formats (quantize_iq4.cc).
void QuantizeRowIQ4_NL(const float* src, int64_t n, void* dst);
void QuantizeRowIQ4_XS(const float* src, int64_t n, void* dst);

}  // namespace ggufd::tensor::quant

#endif  // GGUFD_RUNTIME_TENSOR_QUANTIZE_ROWS_H_
