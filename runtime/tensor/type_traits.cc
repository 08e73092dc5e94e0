#include "runtime/tensor/type_traits.h"

#include "runtime/tensor/kernel_registry.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {
namespace {

using T = TensorType;

// What each type is, whatever the level: its dequantizer, the activation
// format it pairs with and, for activation formats, the conversion.
void RegisterFormats(KernelTable& t) {
  auto at = [&t](T type) -> TypeTraits& {
    return t[static_cast<uint32_t>(type)];
  };
  // Float formats pair with activations of their own type, as in ggml.
  at(T::kF32) = {.dequantize_row = DequantizeRowF32,
                 .from_float = FromFloatF32,
                 .vec_dot_type = T::kF32};
  at(T::kF16) = {.dequantize_row = DequantizeRowF16,
                 .from_float = FromFloatF16,
                 .vec_dot_type = T::kF16};
  at(T::kBF16) = {.dequantize_row = DequantizeRowBF16,
                  .from_float = FromFloatBF16,
                  .vec_dot_type = T::kBF16};
  // 32-value blocks.
  at(T::kQ4_0) = {.dequantize_row = DequantizeRowQ4_0,
                  .vec_dot_type = T::kQ8_0,
                  .panel_offset = 8};
  at(T::kQ4_1) = {.dequantize_row = DequantizeRowQ4_1,
                  .vec_dot_type = T::kQ8_1};
  at(T::kQ5_0) = {.dequantize_row = DequantizeRowQ5_0,
                  .vec_dot_type = T::kQ8_0};
  at(T::kQ5_1) = {.dequantize_row = DequantizeRowQ5_1,
                  .vec_dot_type = T::kQ8_1};
  at(T::kQ8_0) = {.dequantize_row = DequantizeRowQ8_0,
                  .from_float = QuantizeActivationsQ8_0,
                  .vec_dot_type = T::kQ8_0,
                  .panel_offset = 128};
  // An activation format only: no weight is stored as q8_1.
  at(T::kQ8_1) = {.dequantize_row = DequantizeRowQ8_1,
                  .from_float = QuantizeActivationsQ8_1,
                  .vec_dot_type = T::kQ8_1};
  at(T::kIQ4_NL) = {.dequantize_row = DequantizeRowIQ4_NL,
                    .vec_dot_type = T::kQ8_0};
  // 256-value super-blocks.
  at(T::kQ2_K) = {.dequantize_row = DequantizeRowQ2_K,
                  .vec_dot_type = T::kQ8_K};
  at(T::kQ3_K) = {.dequantize_row = DequantizeRowQ3_K,
                  .vec_dot_type = T::kQ8_K};
  at(T::kQ4_K) = {.dequantize_row = DequantizeRowQ4_K,
                  .vec_dot_type = T::kQ8_K};
  at(T::kQ5_K) = {.dequantize_row = DequantizeRowQ5_K,
                  .vec_dot_type = T::kQ8_K};
  at(T::kQ6_K) = {.dequantize_row = DequantizeRowQ6_K,
                  .vec_dot_type = T::kQ8_K};
  // An activation format only (GGUF files never store it).
  at(T::kQ8_K) = {.dequantize_row = DequantizeRowQ8_K,
                  .from_float = QuantizeActivationsQ8_K,
                  .from_float_grouped = QuantizeActivationsQ8_KGrouped,
                  .vec_dot_type = T::kQ8_K};
  at(T::kIQ4_XS) = {.dequantize_row = DequantizeRowIQ4_XS,
                    .vec_dot_type = T::kQ8_K};
}

// Built on first use (a function-local static: thread-safe, and no order
// of initialization between files to get wrong).
const KernelTable& Table() {
  static const KernelTable table = [] {
    KernelTable t{};
    RegisterFormats(t);
    RegisterScalarKernels(t);
    RegisterAvx2Kernels(t);
    RegisterAvx512Kernels(t);
    RegisterAvx512VnniKernels(t);
    for (uint32_t id = 0; id < kTensorTypeIdLimit; ++id) {
      if (t[id].dequantize_row != nullptr) t[id].layout = kTensorTypeTable[id];
    }
    return t;
  }();
  return table;
}

// The highest level at or below `isa` with a dot kernel of its own.
int DotLevel(const TypeTraits& traits, Isa isa) {
  for (int level = static_cast<int>(isa); level > 0; --level) {
    if (traits.isa[level].vec_dot != nullptr) return level;
  }
  return 0;
}

}  // namespace

const TypeTraits& Traits(uint32_t id) {
  static constexpr TypeTraits kNone{};
  return id < kTensorTypeIdLimit ? Table()[id] : kNone;
}

bool HasKernels(TensorType type) {
  const TypeTraits& traits = Traits(type);
  return traits.dequantize_row != nullptr && traits.isa[0].vec_dot != nullptr;
}

VecDotFn ResolveVecDot(TensorType type, Isa isa) {
  const TypeTraits& traits = Traits(type);
  return traits.isa[DotLevel(traits, isa)].vec_dot;
}

MatTileFn ResolveMatTile(TensorType type, Isa isa) {
  const TypeTraits& traits = Traits(type);
  return traits.isa[DotLevel(traits, isa)].mat_tile;
}

MatPanelFn ResolveMatPanel(TensorType type, Isa isa) {
  const TypeTraits& traits = Traits(type);
  return traits.isa[DotLevel(traits, isa)].mat_panel;
}

FromFloatFn ResolveFromFloat(TensorType type, Isa isa) {
  const TypeTraits& traits = Traits(type);
  for (int level = static_cast<int>(isa); level > 0; --level) {
    if (traits.isa[level].from_float != nullptr) {
      return traits.isa[level].from_float;
    }
  }
  return traits.from_float;
}

FromFloatFn ResolveFromFloatGrouped(TensorType type, Isa isa) {
  const TypeTraits& traits = Traits(type);
  if (traits.from_float_grouped == nullptr) return nullptr;
  for (int level = static_cast<int>(isa); level > 0; --level) {
    if (traits.isa[level].from_float_grouped != nullptr) {
      return traits.isa[level].from_float_grouped;
    }
  }
  return traits.from_float_grouped;
}

MatPanelsFn ResolveMatPanels(TensorType type, Isa isa) {
  const TypeTraits& traits = Traits(type);
  return traits.isa[DotLevel(traits, isa)].mat_panels;
}

MatDecodeFn ResolveMatDecode(TensorType type, Isa isa) {
  const TypeTraits& traits = Traits(type);
  return traits.isa[DotLevel(traits, isa)].mat_decode;
}

const RepackedOrder* ResolveRepackedOrder(TensorType type, int64_t rows,
                                          Isa isa) {
  if (rows % kRepackRowMultiple != 0) return nullptr;
  const TypeTraits& traits = Traits(type);
  for (int level = static_cast<int>(isa); level >= 0; --level) {
    if (traits.isa[level].repacked.dot_gemv != nullptr) {
      return &traits.isa[level].repacked;
    }
  }
  return nullptr;
}

}  // namespace ggufd::tensor
