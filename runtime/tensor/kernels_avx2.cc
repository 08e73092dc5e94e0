// The AVX2/FMA/F16C kernels.
#include "runtime/tensor/kernel_registry.h"
#include "runtime/tensor/simd_kernels.h"

namespace ggufd::tensor {

void RegisterAvx2Kernels(KernelTable& t) {
  namespace k = avx2;
  using T = TensorType;
  constexpr Isa kIsa = Isa::kAvx2;
  KernelsAt(t, T::kF32, kIsa) = {.vec_dot = k::DotF32, .mat_tile = k::TileF32};
  KernelsAt(t, T::kF16, kIsa) = {.vec_dot = k::DotF16, .mat_tile = k::TileF16};
  KernelsAt(t, T::kBF16, kIsa) = {.vec_dot = k::DotBF16,
                                  .mat_tile = k::TileBF16};
  // vec_dot's order in tiles; the repacked order (whole-block sums, which
  // llama.cpp's q4_0_8x8 keeps) in the row panels and the decode panels.
  KernelsAt(t, T::kQ4_0, kIsa) = {
      .vec_dot = k::DotQ4_0Q8_0,
      .mat_tile = k::TileQ4_0Q8_0,
      .repacked = {.dot_gemv = k::PanelDotQ4_0Q8_0,
                   .dot_gemm = k::PanelDotQ4_0Q8_0,
                   .panel = k::PanelQ4_0Q8_0,
                   .decode = k::DecodeQ4_0Q8_0Whole}};
  // Tiles and decode panels, which keep ggml's 8 lanes per output.
  KernelsAt(t, T::kQ4_1, kIsa) = {.vec_dot = k::DotQ4_1Q8_1,
                                  .mat_tile = k::TileQ4_1Q8_1,
                                  .mat_decode = k::DecodeQ4_1Q8_1};
  KernelsAt(t, T::kQ5_0, kIsa) = {.vec_dot = k::DotQ5_0Q8_0,
                                  .mat_tile = k::TileQ5_0Q8_0,
                                  .mat_decode = k::DecodeQ5_0Q8_0};
  KernelsAt(t, T::kQ5_1, kIsa) = {.vec_dot = k::DotQ5_1Q8_1,
                                  .mat_tile = k::TileQ5_1Q8_1};
  KernelsAt(t, T::kQ8_0, kIsa) = {.vec_dot = k::DotQ8_0Q8_0,
                                  .mat_tile = k::TileQ8_0Q8_0,
                                  .mat_decode = k::DecodeQ8_0Q8_0,
                                  .from_float = k::QuantizeActivationsQ8_0};
  KernelsAt(t, T::kQ8_1, kIsa) = {.from_float = k::QuantizeActivationsQ8_1};
  KernelsAt(t, T::kQ8_K, kIsa) = {
      .from_float = k::QuantizeActivationsQ8_K,
      .from_float_grouped = k::QuantizeActivationsQ8_KGrouped};
  KernelsAt(t, T::kIQ4_NL, kIsa) = {.vec_dot = k::DotIQ4_NLQ8_0,
                                    .mat_tile = k::TileIQ4_NLQ8_0};
  KernelsAt(t, T::kQ2_K, kIsa) = {.vec_dot = k::DotQ2_KQ8_K,
                                  .mat_tile = k::TileQ2_KQ8_K};
  KernelsAt(t, T::kQ3_K, kIsa) = {.vec_dot = k::DotQ3_KQ8_K,
                                  .mat_tile = k::TileQ3_KQ8_K};
  KernelsAt(t, T::kQ4_K, kIsa) = {
      .vec_dot = k::DotQ4_KQ8_K,
      .mat_tile = k::TileQ4_KQ8_K,
      .repacked = {.dot_gemv = k::DotQ4_KQ8_KGemv,
                   .dot_gemm = k::DotQ4_KQ8_KGemm,
                   .tile_gemv = k::TileQ4_KQ8_KGemv,
                   .tile_gemm = k::TileQ4_KQ8_KGemm,
                   .decode = k::DecodeQ4_KQ8_KGemv,
                   .decode_gemm = k::DecodeQ4_KQ8_KGemm}};
  KernelsAt(t, T::kQ5_K, kIsa) = {.vec_dot = k::DotQ5_KQ8_K,
                                  .mat_tile = k::TileQ5_KQ8_K};
  KernelsAt(t, T::kQ6_K, kIsa) = {.vec_dot = k::DotQ6_KQ8_K,
                                  .mat_tile = k::TileQ6_KQ8_K,
                                  .mat_decode = k::DecodeQ6_KQ8_K};
  KernelsAt(t, T::kIQ4_XS, kIsa) = {.vec_dot = k::DotIQ4_XSQ8_K,
                                    .mat_tile = k::TileIQ4_XSQ8_K};
}

}  // namespace ggufd::tensor
