#include "runtime/tensor/quantize.h"

#include <cmath>
#include <cstring>

#include "absl/strings/str_format.h"
#include "runtime/tensor/fp16.h"
#include "runtime/tensor/quantize_rows.h"

namespace ggufd::tensor {
namespace {

using RowFn = void (*)(const float* src, int64_t n, void* dst);

void RowF32(const float* src, int64_t n, void* dst) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void RowF16(const float* src, int64_t n, void* dst) {
  auto* y = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) y[i] = Fp32ToFp16(src[i]);
}

void RowBF16(const float* src, int64_t n, void* dst) {
  auto* y = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) y[i] = Fp32ToBf16(src[i]);
}

RowFn Quantizer(TensorType type) {
  switch (type) {
    case TensorType::kF32:
      return RowF32;
    case TensorType::kF16:
      return RowF16;
    case TensorType::kBF16:
      return RowBF16;
    case TensorType::kQ8_0:
      return quant::QuantizeRowQ8_0;
    case TensorType::kQ4_0:
      return quant::QuantizeRowQ4_0;
    case TensorType::kQ4_1:
      return quant::QuantizeRowQ4_1;
    case TensorType::kQ5_0:
      return quant::QuantizeRowQ5_0;
    case TensorType::kQ5_1:
      return quant::QuantizeRowQ5_1;
    case TensorType::kQ2_K:
      return quant::QuantizeRowQ2_K;
    case TensorType::kQ3_K:
      return quant::QuantizeRowQ3_K;
    case TensorType::kQ4_K:
      return quant::QuantizeRowQ4_K;
    case TensorType::kQ5_K:
      return quant::QuantizeRowQ5_K;
    case TensorType::kQ6_K:
      return quant::QuantizeRowQ6_K;
    case TensorType::kIQ4_NL:
      return quant::QuantizeRowIQ4_NL;
    case TensorType::kIQ4_XS:
      return quant::QuantizeRowIQ4_XS;
    default:
      return nullptr;
  }
}

}  // namespace

bool CanQuantize(TensorType type) { return Quantizer(type) != nullptr; }

absl::Status QuantizeRow(TensorType type, const float* src, int64_t n,
                         void* dst) {
  const RowFn fn = Quantizer(type);
  if (fn == nullptr) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "cannot quantize to %s", TensorTypeName(static_cast<uint32_t>(type))));
  }
  const int64_t block = TypeInfo(type).block_size;
  if (n <= 0 || n % block != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "row of %d values is not a multiple of the %s block size %d", n,
        TensorTypeName(static_cast<uint32_t>(type)), block));
  }
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(src[i])) {
      return absl::InvalidArgumentError(
          absl::StrFormat("value %d of the row is not finite", i));
    }
  }
  fn(src, n, dst);
  return absl::OkStatus();
}

}  // namespace ggufd::tensor
