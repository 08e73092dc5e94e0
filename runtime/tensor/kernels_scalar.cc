// The portable kernels: every type with kernels has these, and they define
// the results every other level must reproduce bit for bit.
#include "runtime/tensor/kernel_registry.h"
#include "runtime/tensor/scalar_kernels.h"

namespace ggufd::tensor {

void RegisterScalarKernels(KernelTable& t) {
  using T = TensorType;
  constexpr Isa kIsa = Isa::kScalar;
  KernelsAt(t, T::kF32, kIsa) = {.vec_dot = DotF32};
  KernelsAt(t, T::kF16, kIsa) = {.vec_dot = DotF16};
  KernelsAt(t, T::kBF16, kIsa) = {.vec_dot = DotBF16};
  KernelsAt(t, T::kQ4_0, kIsa) = {
      .vec_dot = DotQ4_0Q8_0,
      .repacked = {.dot_gemv = DotQ4_0Q8_0Whole, .dot_gemm = DotQ4_0Q8_0Whole}};
  KernelsAt(t, T::kQ4_1, kIsa) = {.vec_dot = DotQ4_1Q8_1};
  KernelsAt(t, T::kQ5_0, kIsa) = {.vec_dot = DotQ5_0Q8_0};
  KernelsAt(t, T::kQ5_1, kIsa) = {.vec_dot = DotQ5_1Q8_1};
  KernelsAt(t, T::kQ8_0, kIsa) = {.vec_dot = DotQ8_0Q8_0};
  KernelsAt(t, T::kIQ4_NL, kIsa) = {.vec_dot = DotIQ4_NLQ8_0};
  KernelsAt(t, T::kQ2_K, kIsa) = {.vec_dot = DotQ2_KQ8_K};
  KernelsAt(t, T::kQ3_K, kIsa) = {.vec_dot = DotQ3_KQ8_K};
  KernelsAt(t, T::kQ4_K, kIsa) = {
      .vec_dot = DotQ4_KQ8_K,
      .repacked = {.dot_gemv = DotQ4_KQ8_KGemv, .dot_gemm = DotQ4_KQ8_KGemm}};
  KernelsAt(t, T::kQ5_K, kIsa) = {.vec_dot = DotQ5_KQ8_K};
  KernelsAt(t, T::kQ6_K, kIsa) = {.vec_dot = DotQ6_KQ8_K};
  KernelsAt(t, T::kIQ4_XS, kIsa) = {.vec_dot = DotIQ4_XSQ8_K};
}

}  // namespace ggufd::tensor
