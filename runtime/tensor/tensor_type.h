// The GGML tensor type ids as GGUF stores them, and the block layout of each:
// how many values one block holds and how many bytes it takes. This is pure
// data, shared by the file reader (to validate sizes) and the kernels.
#ifndef GGUFD_RUNTIME_TENSOR_TENSOR_TYPE_H_
#define GGUFD_RUNTIME_TENSOR_TENSOR_TYPE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ggufd::tensor {

// Values are the GGUF type ids; gaps are ids ggml has retired.
enum class TensorType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};

// One past the largest id in the table.
inline constexpr uint32_t kTensorTypeIdLimit = 40;

struct TensorTypeInfo {
  std::string_view name;    // ggml's name, e.g. "q4_K"; empty for retired ids
  uint32_t block_size = 0;  // values per block; 0 when the layout is unknown
  uint32_t type_size = 0;   // bytes per block
  bool supported = false;   // ggufd reads (dequantizes) this type
};

// The one table of block layouts, indexed by GGUF type id (the kernels'
// TypeTraits copy their layout from it). Sizes follow ggml's block structs:
// e.g. q4_K is {f16 d, f16 dmin, u8 scales[12], u8 qs[128]} = 144 bytes per 256
// values.
inline constexpr std::array<TensorTypeInfo, kTensorTypeIdLimit>
    kTensorTypeTable = {{
        /*0*/ {"f32", 1, 4, true},
        /*1*/ {"f16", 1, 2, true},
        /*2*/ {"q4_0", 32, 18, true},
        /*3*/ {"q4_1", 32, 20, true},
        /*4*/ {},
        /*5*/ {},
        /*6*/ {"q5_0", 32, 22, true},
        /*7*/ {"q5_1", 32, 24, true},
        /*8*/ {"q8_0", 32, 34, true},
        /*9*/ {"q8_1", 32, 36, true},
        /*10*/ {"q2_K", 256, 84, true},
        /*11*/ {"q3_K", 256, 110, true},
        /*12*/ {"q4_K", 256, 144, true},
        /*13*/ {"q5_K", 256, 176, true},
        /*14*/ {"q6_K", 256, 210, true},
        /*15*/ {"q8_K", 256, 292, true},
        /*16*/ {"iq2_xxs", 256, 66, false},
        /*17*/ {"iq2_xs", 256, 74, false},
        /*18*/ {"iq3_xxs", 256, 98, false},
        /*19*/ {"iq1_s", 256, 50, false},
        /*20*/ {"iq4_nl", 32, 18, true},
        /*21*/ {"iq3_s", 256, 110, false},
        /*22*/ {"iq2_s", 256, 82, false},
        /*23*/ {"iq4_xs", 256, 136, true},
        /*24*/ {"i8", 1, 1, false},
        /*25*/ {"i16", 1, 2, false},
        /*26*/ {"i32", 1, 4, false},
        /*27*/ {"i64", 1, 8, false},
        /*28*/ {"f64", 1, 8, false},
        /*29*/ {"iq1_m", 256, 56, false},
        /*30*/ {"bf16", 1, 2, true},
        /*31*/ {},
        /*32*/ {},
        /*33*/ {},
        /*34*/ {"tq1_0", 256, 54, false},
        /*35*/ {"tq2_0", 256, 66, false},
        /*36*/ {},
        /*37*/ {},
        /*38*/ {},
        /*39*/ {"mxfp4", 32, 17, false},
    }};

static_assert(kTensorTypeTable.size() == kTensorTypeIdLimit);

// Layout of `id`, or nullopt when the id is not a GGML type at all.
std::optional<TensorTypeInfo> LookupTensorType(uint32_t id);

// Layout of a known type (asserts that `type` is in the table).
const TensorTypeInfo& TypeInfo(TensorType type);

// Lower-case ggml name ("f32", "q4_K") or "type<N>" for unknown ids.
std::string TensorTypeName(uint32_t id);

// Parses a ggml name case-insensitively ("Q4_K", "q8_0", "bf16").
std::optional<TensorType> ParseTensorType(std::string_view name);

// Bytes taken by one row of `n_values` values; requires n_values to be a
// multiple of the block size.
inline size_t RowBytes(TensorType type, uint64_t n_values) {
  const TensorTypeInfo& info = TypeInfo(type);
  return static_cast<size_t>(n_values / info.block_size * info.type_size);
}

}  // namespace ggufd::tensor

#endif  // GGUFD_RUNTIME_TENSOR_TENSOR_TYPE_H_
