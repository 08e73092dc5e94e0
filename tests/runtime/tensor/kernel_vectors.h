// Loads one of the ggml-computed reference files in testdata/kernels/ (see
// MANIFEST.md): a 16 x 1024 weight in one tensor type, its reference
// dequantization, an activation vector, its reference quantization and the
// reference dot products.
#ifndef GGUFD_TESTS_RUNTIME_TENSOR_KERNEL_VECTORS_H_
#define GGUFD_TESTS_RUNTIME_TENSOR_KERNEL_VECTORS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/tensor/matmul.h"

namespace ggufd::tensor::testing {

// Type names of the files in testdata/kernels/.
inline const std::vector<std::string>& KernelVectorTypes() {
  static const std::vector<std::string> kTypes = {
      "f32",  "f16",  "bf16", "q8_0", "q4_0", "q4_1",   "q5_0",  "q5_1",
      "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "iq4_nl", "iq4_xs"};
  return kTypes;
}

struct KernelVectors {
  std::unique_ptr<gguf::GgufFile> file;
  WeightView weight;                          // [rows][cols] in the file's type
  std::vector<float> weight_dequant;          // [rows][cols]
  std::vector<float> weight_src;              // [rows][cols]
  std::vector<float> x;                       // [cols]
  const gguf::TensorInfo* x_quant = nullptr;  // absent for f32
  std::vector<float> y_dequant;               // [rows]
  std::vector<float> y_kernel;                // [rows]
};

absl::StatusOr<KernelVectors> LoadKernelVectors(const std::string& type_name);

}  // namespace ggufd::tensor::testing

#endif  // GGUFD_TESTS_RUNTIME_TENSOR_KERNEL_VECTORS_H_
