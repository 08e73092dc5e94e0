// How the type table (type_traits.h) is filled: the formats of each type by
// type_traits.cc, then the kernels of each instruction-set level by that
// level's one file (kernels_<level>.cc). A new level is one such file and
// one Isa value; a new type is one format entry plus a line in the files of
// the levels that have kernels for it.
#ifndef GGUFD_RUNTIME_TENSOR_KERNEL_REGISTRY_H_
#define GGUFD_RUNTIME_TENSOR_KERNEL_REGISTRY_H_

#include <array>
#include <cstdint>

#include "runtime/tensor/isa.h"
#include "runtime/tensor/tensor_type.h"
#include "runtime/tensor/type_traits.h"

namespace ggufd::tensor {

using KernelTable = std::array<TypeTraits, kTensorTypeIdLimit>;

// The entry of `type`'s kernels at `isa`.
inline IsaKernels& KernelsAt(KernelTable& table, TensorType type, Isa isa) {
  return table[static_cast<uint32_t>(type)].isa[static_cast<int>(isa)];
}

void RegisterScalarKernels(KernelTable& table);      // kernels_scalar.cc
void RegisterAvx2Kernels(KernelTable& table);        // kernels_avx2.cc
void RegisterAvx512Kernels(KernelTable& table);      // kernels_avx512.cc
void RegisterAvx512VnniKernels(KernelTable& table);  // kernels_avx512_vnni.cc

}  // namespace ggufd::tensor

#endif  // GGUFD_RUNTIME_TENSOR_KERNEL_REGISTRY_H_
