// The x86-64 instruction-set levels ggufd has kernels for, and run-time
// detection of the best one this CPU supports. Kernels for each level live
// in their own translation unit compiled with that level's -m flags; nothing
// outside them may assume more than baseline x86-64.
#ifndef GGUFD_RUNTIME_TENSOR_ISA_H_
#define GGUFD_RUNTIME_TENSOR_ISA_H_

#include <optional>
#include <string_view>

namespace ggufd::tensor {

// Ordered: each level implies the ones before it.
enum class Isa : int {
  kScalar = 0,      // portable C++
  kAvx2 = 1,        // AVX2 + FMA + F16C
  kAvx512 = 2,      // AVX-512 F/BW/VL/DQ (+ the AVX2 set)
  kAvx512Vnni = 3,  // the above + AVX512-VNNI (vpdpbusd)
};
inline constexpr int kIsaCount = 4;

std::string_view IsaName(Isa isa);
std::optional<Isa> ParseIsa(std::string_view name);

// Whether this CPU (and OS) can run kernels of `isa`.
bool IsaSupported(Isa isa);

// The best supported level, detected once. The environment variable
// GGUFD_MAX_ISA (scalar, avx2, avx512, avx512vnni) caps it, for comparing
// kernels on one machine.
Isa BestIsa();

}  // namespace ggufd::tensor

#endif  // GGUFD_RUNTIME_TENSOR_ISA_H_
