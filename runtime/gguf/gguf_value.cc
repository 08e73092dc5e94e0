#include "runtime/gguf/gguf_value.h"

#include <array>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "runtime/common/str_cat.h"

namespace ggufd::gguf {
namespace {

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p,
              sizeof(v));  // little-endian host assumed (checked at open)
  return v;
}

}  // namespace

std::string_view ValueTypeName(ValueType type) {
  static constexpr std::array<std::string_view, kValueTypeCount> kNames = {
      "u8",   "i8",  "u16",   "i16", "u32", "i32", "f32",
      "bool", "str", "array", "u64", "i64", "f64"};
  const auto id = static_cast<uint32_t>(type);
  return id < kNames.size() ? kNames[id] : "invalid";
}

size_t ScalarSize(ValueType type) {
  switch (type) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kBool:
      return 1;
    case ValueType::kUint16:
    case ValueType::kInt16:
      return 2;
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kFloat32:
      return 4;
    case ValueType::kUint64:
    case ValueType::kInt64:
    case ValueType::kFloat64:
      return 8;
    case ValueType::kString:
    case ValueType::kArray:
      return 0;
  }
  return 0;
}

int64_t ReadAsInt(ValueType type, const uint8_t* p) {
  switch (type) {
    case ValueType::kUint8:
    case ValueType::kBool:
      return Load<uint8_t>(p);
    case ValueType::kInt8:
      return Load<int8_t>(p);
    case ValueType::kUint16:
      return Load<uint16_t>(p);
    case ValueType::kInt16:
      return Load<int16_t>(p);
    case ValueType::kUint32:
      return Load<uint32_t>(p);
    case ValueType::kInt32:
      return Load<int32_t>(p);
    case ValueType::kUint64:
      return static_cast<int64_t>(Load<uint64_t>(p));
    case ValueType::kInt64:
      return Load<int64_t>(p);
    case ValueType::kFloat32:
      return static_cast<int64_t>(Load<float>(p));
    case ValueType::kFloat64:
      return static_cast<int64_t>(Load<double>(p));
    case ValueType::kString:
    case ValueType::kArray:
      break;
  }
  return 0;
}

uint64_t ReadAsUint(ValueType type, const uint8_t* p) {
  if (type == ValueType::kUint64) return Load<uint64_t>(p);
  return static_cast<uint64_t>(ReadAsInt(type, p));
}

double ReadAsDouble(ValueType type, const uint8_t* p) {
  switch (type) {
    case ValueType::kFloat32:
      return Load<float>(p);
    case ValueType::kFloat64:
      return Load<double>(p);
    case ValueType::kUint64:
      return static_cast<double>(Load<uint64_t>(p));
    default:
      return static_cast<double>(ReadAsInt(type, p));
  }
}

namespace {

std::string FormatScalar(ValueType type, const uint8_t* p) {
  switch (type) {
    case ValueType::kBool:
      return Load<uint8_t>(p) ? "true" : "false";
    case ValueType::kFloat32:
    case ValueType::kFloat64:
      return StrCat(ReadAsDouble(type, p));
    case ValueType::kUint64:
      return StrCat(Load<uint64_t>(p));
    default:
      return StrCat(ReadAsInt(type, p));
  }
}

std::string Quote(std::string_view s, size_t max_len = 80) {
  std::string out = absl::CHexEscape(ToAbsl(s.substr(0, max_len)));
  return StrCat("\"", out, s.size() > max_len ? "\"..." : "\"");
}

}  // namespace

std::string FormatValue(const GgufValue& value, size_t max_array_items) {
  if (value.type == ValueType::kString) return Quote(value.str);
  if (value.type != ValueType::kArray)
    return FormatScalar(value.type, value.raw);
  std::vector<std::string> items;
  const uint64_t shown = std::min<uint64_t>(value.count, max_array_items);
  for (uint64_t i = 0; i < shown; ++i) {
    if (value.element_type == ValueType::kString) {
      items.push_back(Quote(value.strings[i], 24));
    } else {
      items.push_back(FormatScalar(
          value.element_type, value.raw + i * ScalarSize(value.element_type)));
    }
  }
  if (value.count > shown) items.push_back("...");
  return StrCat("[", ValueTypeName(value.element_type), " x ", value.count,
                ": ", absl::StrJoin(items, ", "), "]");
}

}  // namespace ggufd::gguf
