#include "runtime/quantize/file_type.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace ggufd::quantize {
namespace {

using tensor::TensorType;

struct Row {
  std::string_view name;
  FileType type;
  TensorType default_type;
};

constexpr std::array kRows = {
    Row{"F32", FileType::kF32, TensorType::kF32},
    Row{"F16", FileType::kF16, TensorType::kF16},
    Row{"BF16", FileType::kBF16, TensorType::kBF16},
    Row{"Q8_0", FileType::kQ8_0, TensorType::kQ8_0},
    Row{"Q4_0", FileType::kQ4_0, TensorType::kQ4_0},
    Row{"Q4_1", FileType::kQ4_1, TensorType::kQ4_1},
    Row{"Q5_0", FileType::kQ5_0, TensorType::kQ5_0},
    Row{"Q5_1", FileType::kQ5_1, TensorType::kQ5_1},
    Row{"Q2_K", FileType::kQ2_K, TensorType::kQ2_K},
    Row{"Q3_K_S", FileType::kQ3_K_S, TensorType::kQ3_K},
    Row{"Q3_K_M", FileType::kQ3_K_M, TensorType::kQ3_K},
    Row{"Q3_K_L", FileType::kQ3_K_L, TensorType::kQ3_K},
    Row{"Q4_K_S", FileType::kQ4_K_S, TensorType::kQ4_K},
    Row{"Q4_K_M", FileType::kQ4_K_M, TensorType::kQ4_K},
    Row{"Q5_K_S", FileType::kQ5_K_S, TensorType::kQ5_K},
    Row{"Q5_K_M", FileType::kQ5_K_M, TensorType::kQ5_K},
    Row{"Q6_K", FileType::kQ6_K, TensorType::kQ6_K},
    Row{"IQ4_NL", FileType::kIQ4_NL, TensorType::kIQ4_NL},
    Row{"IQ4_XS", FileType::kIQ4_XS, TensorType::kIQ4_XS},
};

// llama-quantize's aliases for the _M mixes.
constexpr std::array<std::pair<std::string_view, FileType>, 3> kAliases = {{
    {"Q3_K", FileType::kQ3_K_M},
    {"Q4_K", FileType::kQ4_K_M},
    {"Q5_K", FileType::kQ5_K_M},
}};

const Row& RowOf(FileType type) {
  for (const Row& row : kRows) {
    if (row.type == type) return row;
  }
  return kRows[0];  // unreachable: every enumerator has a row
}

}  // namespace

std::optional<FileType> ParseFileType(std::string_view name) {
  const std::string upper =
      absl::AsciiStrToUpper(absl::string_view(name.data(), name.size()));
  for (const Row& row : kRows) {
    if (row.name == upper) return row.type;
  }
  for (const auto& [alias, type] : kAliases) {
    if (alias == upper) return type;
  }
  return std::nullopt;
}

std::string_view FileTypeName(FileType type) { return RowOf(type).name; }

TensorType DefaultTensorType(FileType type) { return RowOf(type).default_type; }

std::string FileTypeNames() {
  std::vector<std::string> names;
  for (const Row& row : kRows) names.emplace_back(row.name);
  for (const auto& alias : kAliases) names.emplace_back(alias.first);
  return absl::StrJoin(names, ", ");
}

}  // namespace ggufd::quantize
