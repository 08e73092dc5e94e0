#include "runtime/tensor/type_traits.h"

#include "runtime/tensor/scalar_kernels.h"
#include "runtime/tensor/simd_kernels.h"

namespace ggufd::tensor {
namespace {

using T = TensorType;

// Kernels per Isa: {scalar, avx2, avx512, avx512vnni}.
constexpr std::array<VecDotFn, kIsaCount> Dots(VecDotFn scalar,
                                               VecDotFn avx2 = nullptr,
                                               VecDotFn avx512 = nullptr,
                                               VecDotFn vnni = nullptr) {
  return {scalar, avx2, avx512, vnni};
}
constexpr std::array<MatPanelFn, kIsaCount> Panels(MatPanelFn avx2,
                                                   MatPanelFn avx512,
                                                   MatPanelFn vnni) {
  return {nullptr, avx2, avx512, vnni};
}
constexpr std::array<MatDecodeFn, kIsaCount> Decoders(MatDecodeFn avx512,
                                                      MatDecodeFn vnni) {
  return {nullptr, nullptr, avx512, vnni};
}
constexpr std::array<MatTileFn, kIsaCount> Tiles(MatTileFn avx2,
                                                 MatTileFn avx512 = nullptr,
                                                 MatTileFn vnni = nullptr) {
  return {nullptr, avx2, avx512, vnni};
}

constexpr std::array<RepackedOrder, kIsaCount> Repacked(RepackedOrder scalar,
                                                        RepackedOrder avx2,
                                                        RepackedOrder avx512,
                                                        RepackedOrder vnni) {
  return {scalar, avx2, avx512, vnni};
}

// Indexed by GGUF type id; each entry with kernels takes its layout from
// kTensorTypeTable afterwards.
constexpr std::array<TypeTraits, kTensorTypeIdLimit> kTraits = [] {
  std::array<TypeTraits, kTensorTypeIdLimit> t{};
  auto at = [&t](T type) -> TypeTraits& {
    return t[static_cast<uint32_t>(type)];
  };
  // Float formats pair with activations of their own type, as in ggml.
  at(T::kF32) = {.dequantize_row = DequantizeRowF32,
                 .from_float = FromFloatF32,
                 .vec_dot_type = T::kF32,
                 .vec_dot = Dots(DotF32, avx2::DotF32, avx512::DotF32),
                 .mat_tile = Tiles(avx2::TileF32, avx512::TileF32)};
  at(T::kF16) = {.dequantize_row = DequantizeRowF16,
                 .from_float = FromFloatF16,
                 .vec_dot_type = T::kF16,
                 .vec_dot = Dots(DotF16, avx2::DotF16, avx512::DotF16),
                 .mat_tile = Tiles(avx2::TileF16, avx512::TileF16)};
  at(T::kBF16) = {.dequantize_row = DequantizeRowBF16,
                  .from_float = FromFloatBF16,
                  .vec_dot_type = T::kBF16,
                  .vec_dot = Dots(DotBF16, avx2::DotBF16, avx512::DotBF16),
                  .mat_tile = Tiles(avx2::TileBF16, avx512::TileBF16)};
  // 32-value blocks.
  at(T::kQ4_0) = {
      .dequantize_row = DequantizeRowQ4_0,
      .vec_dot_type = T::kQ8_0,
      .panel_offset = 8,
      .vec_dot = Dots(DotQ4_0Q8_0, avx2::PanelDotQ4_0Q8_0,
                      avx512::PanelDotQ4_0Q8_0, avx512vnni::PanelDotQ4_0Q8_0),
      .mat_panel = Panels(avx2::PanelQ4_0Q8_0, avx512::PanelQ4_0Q8_0,
                          avx512vnni::PanelQ4_0Q8_0),
      .mat_decode =
          Decoders(avx512::DecodeQ4_0Q8_0, avx512vnni::DecodeQ4_0Q8_0),
      .mat_panels = {nullptr, nullptr, avx512::PanelsQ4_0Q8_0,
                     avx512vnni::PanelsQ4_0Q8_0},
      // No AVX2 form yet: an AVX2-only CPU takes the scalar one.
      .repacked = Repacked({DotQ4_0Q8_0Whole, DotQ4_0Q8_0Whole}, {},
                           {.dot_gemv = avx512::PanelDotQ4_0Q8_0Whole,
                            .dot_gemm = avx512::PanelDotQ4_0Q8_0Whole,
                            .panel = avx512::PanelQ4_0Q8_0Whole,
                            .panels = avx512::PanelsQ4_0Q8_0Whole,
                            .decode = avx512::DecodeQ4_0Q8_0Whole},
                           {.dot_gemv = avx512vnni::PanelDotQ4_0Q8_0Whole,
                            .dot_gemm = avx512vnni::PanelDotQ4_0Q8_0Whole,
                            .panel = avx512vnni::PanelQ4_0Q8_0Whole,
                            .panels = avx512vnni::PanelsQ4_0Q8_0Whole,
                            .decode = avx512vnni::DecodeQ4_0Q8_0Whole})};
  at(T::kQ4_1) = {
      .dequantize_row = DequantizeRowQ4_1,
      .vec_dot_type = T::kQ8_1,
      .vec_dot = Dots(DotQ4_1Q8_1, avx2::PanelDotQ4_1Q8_1,
                      avx512::PanelDotQ4_1Q8_1, avx512vnni::PanelDotQ4_1Q8_1),
      .mat_panel = Panels(avx2::PanelQ4_1Q8_1, avx512::PanelQ4_1Q8_1,
                          avx512vnni::PanelQ4_1Q8_1),
      .mat_decode =
          Decoders(avx512::DecodeQ4_1Q8_1, avx512vnni::DecodeQ4_1Q8_1),
      .mat_panels = {nullptr, nullptr, avx512::PanelsQ4_1Q8_1,
                     avx512vnni::PanelsQ4_1Q8_1}};
  at(T::kQ5_0) = {.dequantize_row = DequantizeRowQ5_0,
                  .vec_dot_type = T::kQ8_0,
                  .vec_dot = Dots(DotQ5_0Q8_0, avx2::DotQ5_0Q8_0,
                                  avx512::DotQ5_0Q8_0, avx512vnni::DotQ5_0Q8_0),
                  .mat_tile = Tiles(avx2::TileQ5_0Q8_0, avx512::TileQ5_0Q8_0,
                                    avx512vnni::TileQ5_0Q8_0),
                  .mat_decode = Decoders(avx512::DecodeQ5_0Q8_0,
                                         avx512vnni::DecodeQ5_0Q8_0)};
  at(T::kQ5_1) = {.dequantize_row = DequantizeRowQ5_1,
                  .vec_dot_type = T::kQ8_1,
                  .vec_dot = Dots(DotQ5_1Q8_1, avx2::DotQ5_1Q8_1,
                                  avx512::DotQ5_1Q8_1, avx512vnni::DotQ5_1Q8_1),
                  .mat_tile = Tiles(avx2::TileQ5_1Q8_1, avx512::TileQ5_1Q8_1,
                                    avx512vnni::TileQ5_1Q8_1)};
  at(T::kQ8_0) = {
      .dequantize_row = DequantizeRowQ8_0,
      .from_float = QuantizeActivationsQ8_0,
      .from_float_simd = {nullptr, nullptr, avx512::QuantizeActivationsQ8_0,
                          nullptr},
      .vec_dot_type = T::kQ8_0,
      .panel_offset = 128,
      .vec_dot = Dots(DotQ8_0Q8_0, avx2::DotQ8_0Q8_0, avx512::DotQ8_0Q8_0,
                      avx512vnni::PanelDotQ8_0Q8_0),
      .mat_tile = Tiles(avx2::TileQ8_0Q8_0, avx512::TileQ8_0Q8_0),
      .mat_panel = Panels(nullptr, nullptr, avx512vnni::PanelQ8_0Q8_0),
      .mat_decode = Decoders(nullptr, avx512vnni::DecodeQ8_0Q8_0),
      .mat_panels = {nullptr, nullptr, nullptr, avx512vnni::PanelsQ8_0Q8_0}};
  // An activation format only: no weight is stored as q8_1.
  at(T::kQ8_1) = {.dequantize_row = DequantizeRowQ8_1,
                  .from_float = QuantizeActivationsQ8_1,
                  .from_float_simd = {nullptr, nullptr,
                                      avx512::QuantizeActivationsQ8_1, nullptr},
                  .vec_dot_type = T::kQ8_1};
  at(T::kIQ4_NL) = {
      .dequantize_row = DequantizeRowIQ4_NL,
      .vec_dot_type = T::kQ8_0,
      .vec_dot = Dots(DotIQ4_NLQ8_0, avx2::DotIQ4_NLQ8_0, avx512::DotIQ4_NLQ8_0,
                      avx512vnni::DotIQ4_NLQ8_0),
      .mat_tile = Tiles(avx2::TileIQ4_NLQ8_0, avx512::TileIQ4_NLQ8_0,
                        avx512vnni::TileIQ4_NLQ8_0)};
  // 256-value super-blocks.
  at(T::kQ2_K) = {.dequantize_row = DequantizeRowQ2_K,
                  .vec_dot_type = T::kQ8_K,
                  .vec_dot = Dots(DotQ2_KQ8_K, avx2::DotQ2_KQ8_K,
                                  avx512::DotQ2_KQ8_K, avx512vnni::DotQ2_KQ8_K),
                  .mat_tile = Tiles(avx2::TileQ2_KQ8_K, avx512::TileQ2_KQ8_K,
                                    avx512vnni::TileQ2_KQ8_K)};
  at(T::kQ3_K) = {.dequantize_row = DequantizeRowQ3_K,
                  .vec_dot_type = T::kQ8_K,
                  .vec_dot = Dots(DotQ3_KQ8_K, avx2::DotQ3_KQ8_K,
                                  avx512::DotQ3_KQ8_K, avx512vnni::DotQ3_KQ8_K),
                  .mat_tile = Tiles(avx2::TileQ3_KQ8_K, avx512::TileQ3_KQ8_K,
                                    avx512vnni::TileQ3_KQ8_K)};
  at(T::kQ4_K) = {
      .dequantize_row = DequantizeRowQ4_K,
      .vec_dot_type = T::kQ8_K,
      .vec_dot = Dots(DotQ4_KQ8_K, avx2::DotQ4_KQ8_K, avx512::DotQ4_KQ8_K,
                      avx512vnni::DotQ4_KQ8_K),
      .mat_tile = Tiles(avx2::TileQ4_KQ8_K, avx512::TileQ4_KQ8_K,
                        avx512vnni::TileQ4_KQ8_K),
      // At every level, so that levels agree with each other.
      .repacked = Repacked({DotQ4_KQ8_KGemv, DotQ4_KQ8_KGemm},
                           {avx2::DotQ4_KQ8_KGemv, avx2::DotQ4_KQ8_KGemm,
                            avx2::TileQ4_KQ8_KGemv, avx2::TileQ4_KQ8_KGemm},
                           {.dot_gemv = avx512::DotQ4_KQ8_KGemv,
                            .dot_gemm = avx512::DotQ4_KQ8_KGemm,
                            .tile_gemv = avx512::TileQ4_KQ8_KGemv,
                            .tile_gemm = avx512::TileQ4_KQ8_KGemm,
                            .decode = avx512::DecodeQ4_KQ8_KGemv,
                            .decode_gemm = avx512::DecodeQ4_KQ8_KGemm},
                           {.dot_gemv = avx512vnni::DotQ4_KQ8_KGemv,
                            .dot_gemm = avx512vnni::DotQ4_KQ8_KGemm,
                            .tile_gemv = avx512vnni::TileQ4_KQ8_KGemv,
                            .tile_gemm = avx512vnni::TileQ4_KQ8_KGemm,
                            .decode = avx512vnni::DecodeQ4_KQ8_KGemv,
                            .decode_gemm = avx512vnni::DecodeQ4_KQ8_KGemm})};
  at(T::kQ5_K) = {.dequantize_row = DequantizeRowQ5_K,
                  .vec_dot_type = T::kQ8_K,
                  .vec_dot = Dots(DotQ5_KQ8_K, avx2::DotQ5_KQ8_K,
                                  avx512::DotQ5_KQ8_K, avx512vnni::DotQ5_KQ8_K),
                  .mat_tile = Tiles(avx2::TileQ5_KQ8_K, avx512::TileQ5_KQ8_K,
                                    avx512vnni::TileQ5_KQ8_K)};
  at(T::kQ6_K) = {.dequantize_row = DequantizeRowQ6_K,
                  .vec_dot_type = T::kQ8_K,
                  .vec_dot = Dots(DotQ6_KQ8_K, avx2::DotQ6_KQ8_K,
                                  avx512::DotQ6_KQ8_K, avx512vnni::DotQ6_KQ8_K),
                  .mat_tile = Tiles(avx2::TileQ6_KQ8_K, avx512::TileQ6_KQ8_K,
                                    avx512vnni::TileQ6_KQ8_K)};
  // An activation format only (GGUF files never store it).
  at(T::kQ8_K) = {.dequantize_row = DequantizeRowQ8_K,
                  .from_float = QuantizeActivationsQ8_K,
                  .from_float_grouped = QuantizeActivationsQ8_KGrouped,
                  .vec_dot_type = T::kQ8_K};
  at(T::kIQ4_XS) = {
      .dequantize_row = DequantizeRowIQ4_XS,
      .vec_dot_type = T::kQ8_K,
      .vec_dot = Dots(DotIQ4_XSQ8_K, avx2::DotIQ4_XSQ8_K, avx512::DotIQ4_XSQ8_K,
                      avx512vnni::DotIQ4_XSQ8_K),
      .mat_tile = Tiles(avx2::TileIQ4_XSQ8_K, avx512::TileIQ4_XSQ8_K,
                        avx512vnni::TileIQ4_XSQ8_K)};
  for (uint32_t id = 0; id < kTensorTypeIdLimit; ++id) {
    if (t[id].dequantize_row != nullptr) t[id].layout = kTensorTypeTable[id];
  }
  return t;
}();
static_assert(kTraits.size() == kTensorTypeIdLimit);

// The highest level at or below `isa` with a dot kernel of its own.
int DotLevel(const TypeTraits& traits, Isa isa) {
  for (int level = static_cast<int>(isa); level > 0; --level) {
    if (traits.vec_dot[level] != nullptr) return level;
  }
  return 0;
}

}  // namespace

const TypeTraits& Traits(uint32_t id) {
  static constexpr TypeTraits kNone{};
  return id < kTraits.size() ? kTraits[id] : kNone;
}

bool HasKernels(TensorType type) {
  const TypeTraits& traits = Traits(type);
  return traits.dequantize_row != nullptr && traits.vec_dot[0] != nullptr;
}

VecDotFn ResolveVecDot(TensorType type, Isa isa) {
  const TypeTraits& traits = Traits(type);
  return traits.vec_dot[DotLevel(traits, isa)];
}

MatTileFn ResolveMatTile(TensorType type, Isa isa) {
  const TypeTraits& traits = Traits(type);
  return traits.mat_tile[DotLevel(traits, isa)];
}

MatPanelFn ResolveMatPanel(TensorType type, Isa isa) {
  const TypeTraits& traits = Traits(type);
  return traits.mat_panel[DotLevel(traits, isa)];
}

FromFloatFn ResolveFromFloat(TensorType type, Isa isa) {
  const TypeTraits& traits = Traits(type);
  for (int level = static_cast<int>(isa); level > 0; --level) {
    if (traits.from_float_simd[level] != nullptr) {
      return traits.from_float_simd[level];
    }
  }
  return traits.from_float;
}

MatPanelsFn ResolveMatPanels(TensorType type, Isa isa) {
  const TypeTraits& traits = Traits(type);
  return traits.mat_panels[DotLevel(traits, isa)];
}

MatDecodeFn ResolveMatDecode(TensorType type, Isa isa) {
  const TypeTraits& traits = Traits(type);
  return traits.mat_decode[DotLevel(traits, isa)];
}

const RepackedOrder* ResolveRepackedOrder(TensorType type, int64_t rows,
                                          Isa isa) {
  if (rows % kRepackRowMultiple != 0) return nullptr;
  const TypeTraits& traits = Traits(type);
  for (int level = static_cast<int>(isa); level >= 0; --level) {
    if (traits.repacked[level].dot_gemv != nullptr) {
      return &traits.repacked[level];
    }
  }
  return nullptr;
}

}  // namespace ggufd::tensor
