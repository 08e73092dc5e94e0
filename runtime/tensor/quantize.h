// Reference quantization of float rows into GGUF tensor types: the bytes
// ggml's reference quantizers (no importance matrix) write, so a file we
// quantize equals llama.cpp's byte for byte. Rows are independent, so callers
// may quantize rows on any threads in any order.
#ifndef GGUFD_RUNTIME_TENSOR_QUANTIZE_H_
#define GGUFD_RUNTIME_TENSOR_QUANTIZE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "runtime/tensor/tensor_type.h"

namespace ggufd::tensor {

// True when QuantizeRow can write `type`: F32, F16, BF16, Q8_0, Q4_0, Q4_1,
// Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS.
bool CanQuantize(TensorType type);

// Writes the n values at `src` as RowBytes(type, n) bytes at `dst`.
// InvalidArgument when the type cannot be written, n is not a positive
// multiple of its block size, or a value is NaN or infinite (ggml would
// store a non-finite scale that llama.cpp then rejects).
absl::Status QuantizeRow(TensorType type, const float* src, int64_t n,
                         void* dst);

}  // namespace ggufd::tensor

#endif  // GGUFD_RUNTIME_TENSOR_QUANTIZE_H_
