#include "tests/runtime/tensor/kernel_vectors.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/common/status_macros.h"

namespace ggufd::tensor::testing {
namespace {

absl::StatusOr<const gguf::TensorInfo*> Find(const gguf::GgufFile& file,
                                             std::string_view name) {
  const gguf::TensorInfo* info = file.FindTensor(name);
  if (info == nullptr) {
    return absl::NotFoundError(absl::StrCat("no tensor ", std::string(name)));
  }
  return info;
}

absl::StatusOr<std::vector<float>> Floats(const gguf::GgufFile& file,
                                          std::string_view name) {
  ASSIGN_OR_RETURN(const gguf::TensorInfo* info, Find(file, name));
  if (info->type != TensorType::kF32) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(name), " is not f32"));
  }
  std::vector<float> values(info->n_elements);
  std::memcpy(values.data(), info->data, info->n_elements * sizeof(float));
  return values;
}

}  // namespace

absl::StatusOr<KernelVectors> LoadKernelVectors(const std::string& type_name) {
  KernelVectors v;
  ASSIGN_OR_RETURN(
      v.file, gguf::GgufFile::Open(absl::StrCat(GGUFD_TESTDATA_DIR, "/kernels/",
                                                type_name, ".gguf")));
  ASSIGN_OR_RETURN(const gguf::TensorInfo* w, Find(*v.file, "weight"));
  v.weight = {.type = w->type,
              .data = w->data,
              .rows = static_cast<int64_t>(w->rows()),
              .cols = static_cast<int64_t>(w->row_length()),
              .row_bytes = static_cast<size_t>(w->n_bytes / w->rows())};
  ASSIGN_OR_RETURN(v.weight_dequant, Floats(*v.file, "weight_dequant"));
  ASSIGN_OR_RETURN(v.weight_src, Floats(*v.file, "weight_src"));
  ASSIGN_OR_RETURN(v.x, Floats(*v.file, "x"));
  ASSIGN_OR_RETURN(v.y_dequant, Floats(*v.file, "y_dequant"));
  ASSIGN_OR_RETURN(v.y_kernel, Floats(*v.file, "y_kernel"));
  v.x_quant = v.file->FindTensor("x_quant");
  return v;
}

}  // namespace ggufd::tensor::testing
