#include "runtime/tensor/tensor_type.h"

#include <cassert>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ggufd::tensor {
std::optional<TensorTypeInfo> LookupTensorType(uint32_t id) {
  if (id >= kTensorTypeTable.size() || kTensorTypeTable[id].name.empty())
    return std::nullopt;
  return kTensorTypeTable[id];
}

const TensorTypeInfo& TypeInfo(TensorType type) {
  const auto id = static_cast<uint32_t>(type);
  assert(id < kTensorTypeTable.size() && !kTensorTypeTable[id].name.empty());
  return kTensorTypeTable[id];
}

std::string TensorTypeName(uint32_t id) {
  if (auto info = LookupTensorType(id)) return std::string(info->name);
  return absl::StrCat("type", id);
}

std::optional<TensorType> ParseTensorType(std::string_view name) {
  const std::string wanted = absl::AsciiStrToLower(std::string(name));
  for (uint32_t id = 0; id < kTensorTypeTable.size(); ++id) {
    if (!kTensorTypeTable[id].name.empty() &&
        absl::AsciiStrToLower(std::string(kTensorTypeTable[id].name)) ==
            wanted) {
      return static_cast<TensorType>(id);
    }
  }
  return std::nullopt;
}

}  // namespace ggufd::tensor
