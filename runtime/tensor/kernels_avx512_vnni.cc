// The AVX512-VNNI kernels: the shared AVX-512 list, and q8_0 on row panels
// (vpdpbusd with the weights biased to unsigned). The float formats and the
// activation quantizers have nothing VNNI-specific: the AVX-512 ones serve.
#include "runtime/tensor/kernel_registry.h"
#include "runtime/tensor/simd_kernels.h"

#define GGUFD_SIMD_NAMESPACE avx512vnni
#include "runtime/tensor/kernels_avx512_impl.h"
#undef GGUFD_SIMD_NAMESPACE

namespace ggufd::tensor {

void RegisterAvx512VnniKernels(KernelTable& t) {
  namespace k = avx512vnni;
  constexpr Isa kIsa = Isa::kAvx512Vnni;
  k::RegisterSharedAvx512Kernels(t, kIsa);
  KernelsAt(t, TensorType::kQ8_0, kIsa) = {.vec_dot = k::PanelDotQ8_0Q8_0,
                                           .mat_panel = k::PanelQ8_0Q8_0,
                                           .mat_decode = k::DecodeQ8_0Q8_0,
                                           .mat_panels = k::PanelsQ8_0Q8_0};
}

}  // namespace ggufd::tensor
