// The AVX-512 (F/BW/VL/DQ) kernels: the shared AVX-512 list, the float
// formats, q8_0's 256-bit kernels and the 16-lane activation quantizers.
#include "runtime/tensor/kernel_registry.h"
#include "runtime/tensor/simd_kernels.h"

#define GGUFD_SIMD_NAMESPACE avx512
#include "runtime/tensor/kernels_avx512_impl.h"
#undef GGUFD_SIMD_NAMESPACE

namespace ggufd::tensor {

void RegisterAvx512Kernels(KernelTable& t) {
  namespace k = avx512;
  using T = TensorType;
  constexpr Isa kIsa = Isa::kAvx512;
  k::RegisterSharedAvx512Kernels(t, kIsa);
  KernelsAt(t, T::kF32, kIsa) = {.vec_dot = k::DotF32, .mat_tile = k::TileF32};
  KernelsAt(t, T::kF16, kIsa) = {.vec_dot = k::DotF16, .mat_tile = k::TileF16};
  KernelsAt(t, T::kBF16, kIsa) = {.vec_dot = k::DotBF16,
                                  .mat_tile = k::TileBF16};
  KernelsAt(t, T::kQ8_0, kIsa) = {.vec_dot = k::DotQ8_0Q8_0,
                                  .mat_tile = k::TileQ8_0Q8_0,
                                  .from_float = k::QuantizeActivationsQ8_0};
  KernelsAt(t, T::kQ8_1, kIsa) = {.from_float = k::QuantizeActivationsQ8_1};
}

}  // namespace ggufd::tensor
