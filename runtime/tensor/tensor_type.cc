#include "runtime/tensor/tensor_type.h"

#include <array>
#include <cassert>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ggufd::tensor {
namespace {

// Indexed by GGUF type id. Sizes follow ggml's block structs: e.g. q4_K is
// {f16 d, f16 dmin, u8 scales[12], u8 qs[128]} = 144 bytes per 256 values.
constexpr std::array<TensorTypeInfo, kTensorTypeIdLimit> kTable = {{
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

static_assert(kTable.size() == kTensorTypeIdLimit);

}  // namespace

std::optional<TensorTypeInfo> LookupTensorType(uint32_t id) {
  if (id >= kTable.size() || kTable[id].name.empty()) return std::nullopt;
  return kTable[id];
}

const TensorTypeInfo& TypeInfo(TensorType type) {
  const auto id = static_cast<uint32_t>(type);
  assert(id < kTable.size() && !kTable[id].name.empty());
  return kTable[id];
}

std::string TensorTypeName(uint32_t id) {
  if (auto info = LookupTensorType(id)) return std::string(info->name);
  return absl::StrCat("type", id);
}

std::optional<TensorType> ParseTensorType(std::string_view name) {
  const std::string wanted = absl::AsciiStrToLower(std::string(name));
  for (uint32_t id = 0; id < kTable.size(); ++id) {
    if (!kTable[id].name.empty() &&
        absl::AsciiStrToLower(std::string(kTable[id].name)) == wanted) {
      return static_cast<TensorType>(id);
    }
  }
  return std::nullopt;
}

}  // namespace ggufd::tensor
