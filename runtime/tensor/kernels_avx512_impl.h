// The kernels both AVX-512 levels have: the same sources compiled twice
// (with and without VNNI) give each level a namespace of identically named
// kernels, so one list registers either. Included by kernels_avx512.cc and
// kernels_avx512_vnni.cc inside namespace ggufd::tensor::<level>.
#ifndef GGUFD_SIMD_NAMESPACE
#error "define GGUFD_SIMD_NAMESPACE before including this file"
#endif

namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE {
namespace {

void RegisterSharedAvx512Kernels(KernelTable& t, Isa isa) {
  using T = TensorType;
  KernelsAt(t, T::kQ4_0, isa) = {.vec_dot = PanelDotQ4_0Q8_0,
                                 .mat_panel = PanelQ4_0Q8_0,
                                 .mat_decode = DecodeQ4_0Q8_0,
                                 .mat_panels = PanelsQ4_0Q8_0,
                                 .repacked = {.dot_gemv = PanelDotQ4_0Q8_0Whole,
                                              .dot_gemm = PanelDotQ4_0Q8_0Whole,
                                              .panel = PanelQ4_0Q8_0Whole,
                                              .panels = PanelsQ4_0Q8_0Whole,
                                              .decode = DecodeQ4_0Q8_0Whole}};
  KernelsAt(t, T::kQ4_1, isa) = {.vec_dot = PanelDotQ4_1Q8_1,
                                 .mat_panel = PanelQ4_1Q8_1,
                                 .mat_decode = DecodeQ4_1Q8_1,
                                 .mat_panels = PanelsQ4_1Q8_1};
  KernelsAt(t, T::kQ5_0, isa) = {.vec_dot = DotQ5_0Q8_0,
                                 .mat_tile = TileQ5_0Q8_0,
                                 .mat_decode = DecodeQ5_0Q8_0};
  KernelsAt(t, T::kQ5_1, isa) = {.vec_dot = DotQ5_1Q8_1,
                                 .mat_tile = TileQ5_1Q8_1};
  KernelsAt(t, T::kIQ4_NL, isa) = {.vec_dot = DotIQ4_NLQ8_0,
                                   .mat_tile = TileIQ4_NLQ8_0};
  KernelsAt(t, T::kQ2_K, isa) = {.vec_dot = DotQ2_KQ8_K,
                                 .mat_tile = TileQ2_KQ8_K};
  KernelsAt(t, T::kQ3_K, isa) = {.vec_dot = DotQ3_KQ8_K,
                                 .mat_tile = TileQ3_KQ8_K};
  // The repacked order at every level, so that levels agree with each other.
  KernelsAt(t, T::kQ4_K, isa) = {
      .vec_dot = DotQ4_KQ8_K,
      .mat_tile = TileQ4_KQ8_K,
      .repacked = {.dot_gemv = DotQ4_KQ8_KGemv,
                   .dot_gemm = DotQ4_KQ8_KGemm,
                   .tile_gemv = TileQ4_KQ8_KGemv,
                   .tile_gemm = TileQ4_KQ8_KGemm,
                   .decode = DecodeQ4_KQ8_KGemv,
                   .decode_gemm = DecodeQ4_KQ8_KGemm}};
  KernelsAt(t, T::kQ5_K, isa) = {.vec_dot = DotQ5_KQ8_K,
                                 .mat_tile = TileQ5_KQ8_K};
  KernelsAt(t, T::kQ6_K, isa) = {.vec_dot = DotQ6_KQ8_K,
                                 .mat_tile = TileQ6_KQ8_K,
                                 .mat_decode = DecodeQ6_KQ8_K};
  KernelsAt(t, T::kIQ4_XS, isa) = {.vec_dot = DotIQ4_XSQ8_K,
                                   .mat_tile = TileIQ4_XSQ8_K};
}

}  // namespace
}  // namespace ggufd::tensor::GGUFD_SIMD_NAMESPACE
