// llama.cpp's file types (LLAMA_FTYPE_*): what `general.file_type` says and
// what `ggufd quantize TYPE` accepts. A file type names a default tensor
// type and, for the K-quant _S/_M/_L types, a mix (quantize_mix.h).
#ifndef GGUFD_RUNTIME_QUANTIZE_FILE_TYPE_H_
#define GGUFD_RUNTIME_QUANTIZE_FILE_TYPE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/tensor/tensor_type.h"

namespace ggufd::quantize {

// Values are llama.cpp's LLAMA_FTYPE_MOSTLY_* numbers (only the ones ggufd
// can write).
enum class FileType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ8_0 = 7,
  kQ5_0 = 8,
  kQ5_1 = 9,
  kQ2_K = 10,
  kQ3_K_S = 11,
  kQ3_K_M = 12,
  kQ3_K_L = 13,
  kQ4_K_S = 14,
  kQ4_K_M = 15,
  kQ5_K_S = 16,
  kQ5_K_M = 17,
  kQ6_K = 18,
  kIQ4_NL = 25,
  kIQ4_XS = 30,
  kBF16 = 32,
};

// Parses a llama-quantize type name, case-insensitively: "Q4_K_M", "q8_0",
// "F16" ...; like llama-quantize, "Q3_K", "Q4_K" and "Q5_K" mean the _M mix.
std::optional<FileType> ParseFileType(std::string_view name);

// Canonical name ("Q4_K_M").
std::string_view FileTypeName(FileType type);

// The tensor type most tensors get (Q4_K for Q4_K_M).
tensor::TensorType DefaultTensorType(FileType type);

// The accepted names, comma-separated, for error messages and --help.
std::string FileTypeNames();

}  // namespace ggufd::quantize

#endif  // GGUFD_RUNTIME_QUANTIZE_FILE_TYPE_H_
