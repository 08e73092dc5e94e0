// Metadata values of a GGUF file. Strings and arrays are views into the
// mapped file, so a GgufValue is valid only while its GgufFile lives.
#ifndef GGUFD_RUNTIME_GGUF_GGUF_VALUE_H_
#define GGUFD_RUNTIME_GGUF_GGUF_VALUE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ggufd::gguf {

// Value type ids as GGUF stores them.
enum class ValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

inline constexpr uint32_t kValueTypeCount = 13;

std::string_view ValueTypeName(ValueType type);

// Bytes of one scalar of `type`; 0 for string and array.
size_t ScalarSize(ValueType type);

inline bool IsInteger(ValueType t) {
  return t == ValueType::kUint8 || t == ValueType::kInt8 ||
         t == ValueType::kUint16 || t == ValueType::kInt16 ||
         t == ValueType::kUint32 || t == ValueType::kInt32 ||
         t == ValueType::kUint64 || t == ValueType::kInt64;
}

inline bool IsFloat(ValueType t) {
  return t == ValueType::kFloat32 || t == ValueType::kFloat64;
}

// One key's value. For scalars `raw` points at the little-endian bytes; for a
// string `str` is its text; for an array `element_type`/`count` describe it,
// `raw` points at its first element (numeric arrays are contiguous), and
// `strings` holds the elements of a string array.
struct GgufValue {
  ValueType type = ValueType::kUint8;
  const uint8_t* raw = nullptr;
  std::string_view str;
  ValueType element_type = ValueType::kUint8;
  uint64_t count = 0;
  std::vector<std::string_view> strings;
  uint64_t file_offset = 0;   // where the value's encoding starts
  uint64_t encoded_size = 0;  // bytes of that encoding
};

// Decoders for one scalar element of a numeric type at `p` (unaligned ok).
// The caller guarantees that `type` is numeric/bool.
int64_t ReadAsInt(ValueType type, const uint8_t* p);
uint64_t ReadAsUint(ValueType type, const uint8_t* p);
double ReadAsDouble(ValueType type, const uint8_t* p);

// A short human rendering ("12", "\"llama\"", "[f32 x 32000]").
std::string FormatValue(const GgufValue& value, size_t max_array_items = 8);

}  // namespace ggufd::gguf

#endif  // GGUFD_RUNTIME_GGUF_GGUF_VALUE_H_
