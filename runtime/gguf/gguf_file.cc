#include "runtime/gguf/gguf_file.h"

#include <limits>

#include "absl/status/status.h"
#include "runtime/common/status_macros.h"
#include "runtime/common/str_cat.h"

namespace ggufd::gguf {

absl::Status ParseGguf(GgufFile& file, const OpenOptions& options);

absl::StatusOr<std::unique_ptr<GgufFile>> GgufFile::Open(
    const std::string& path, const OpenOptions& options) {
  ASSIGN_OR_RETURN(auto mapping, MappedFile::Open(path));
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->path_ = path;
  file->bytes_ = mapping->bytes();
  file->mapping_ = std::move(mapping);
  RETURN_IF_ERROR(ParseGguf(*file, options));
  return file;
}

absl::StatusOr<std::unique_ptr<GgufFile>> GgufFile::Parse(
    absl::Span<const uint8_t> bytes, const OpenOptions& options) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->bytes_ = bytes;
  RETURN_IF_ERROR(ParseGguf(*file, options));
  return file;
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const TensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

absl::Status Missing(std::string_view key) {
  return absl::NotFoundError(StrCat("missing metadata key '", key, "'"));
}

absl::Status WrongType(std::string_view key, const GgufValue& v,
                       std::string_view wanted) {
  std::string_view have = ValueTypeName(v.type);
  std::string array_of;
  if (v.type == ValueType::kArray) {
    array_of = StrCat("array of ", ValueTypeName(v.element_type));
    have = array_of;
  }
  return absl::InvalidArgumentError(
      StrCat("metadata key '", key, "' is ", have, ", expected ", wanted));
}

}  // namespace

absl::StatusOr<int64_t> GgufFile::GetInt(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(key);
  if (!IsInteger(v->type)) return WrongType(key, *v, "an integer");
  if (v->type == ValueType::kUint64 &&
      ReadAsUint(v->type, v->raw) >
          static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return absl::InvalidArgumentError(
        StrCat("metadata key '", key, "' is out of range"));
  }
  return ReadAsInt(v->type, v->raw);
}

absl::StatusOr<uint64_t> GgufFile::GetUint(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(key);
  if (!IsInteger(v->type)) return WrongType(key, *v, "an integer");
  if (v->type != ValueType::kUint64 && ReadAsInt(v->type, v->raw) < 0) {
    return absl::InvalidArgumentError(StrCat("metadata key '", key,
                                             "' is negative (",
                                             ReadAsInt(v->type, v->raw), ")"));
  }
  return ReadAsUint(v->type, v->raw);
}

absl::StatusOr<double> GgufFile::GetFloat(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(key);
  if (!IsInteger(v->type) && !IsFloat(v->type)) {
    return WrongType(key, *v, "a number");
  }
  return ReadAsDouble(v->type, v->raw);
}

absl::StatusOr<bool> GgufFile::GetBool(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(key);
  if (v->type != ValueType::kBool) return WrongType(key, *v, "a bool");
  return *v->raw != 0;
}

absl::StatusOr<std::string_view> GgufFile::GetString(
    std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(key);
  if (v->type != ValueType::kString) return WrongType(key, *v, "a string");
  return v->str;
}

absl::StatusOr<std::vector<std::string_view>> GgufFile::GetStringArray(
    std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(key);
  if (v->type != ValueType::kArray || v->element_type != ValueType::kString) {
    return WrongType(key, *v, "an array of strings");
  }
  return v->strings;
}

absl::StatusOr<std::vector<float>> GgufFile::GetFloatArray(
    std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(key);
  if (v->type != ValueType::kArray ||
      !(IsFloat(v->element_type) || IsInteger(v->element_type))) {
    return WrongType(key, *v, "an array of numbers");
  }
  std::vector<float> out(v->count);
  const size_t size = ScalarSize(v->element_type);
  for (uint64_t i = 0; i < v->count; ++i) {
    out[i] =
        static_cast<float>(ReadAsDouble(v->element_type, v->raw + i * size));
  }
  return out;
}

absl::StatusOr<std::vector<int64_t>> GgufFile::GetIntArray(
    std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return Missing(key);
  if (v->type != ValueType::kArray || !IsInteger(v->element_type)) {
    return WrongType(key, *v, "an array of integers");
  }
  std::vector<int64_t> out(v->count);
  const size_t size = ScalarSize(v->element_type);
  for (uint64_t i = 0; i < v->count; ++i) {
    out[i] = ReadAsInt(v->element_type, v->raw + i * size);
  }
  return out;
}

uint64_t GgufFile::ArrayLength(std::string_view key) const {
  const GgufValue* v = Find(key);
  return v != nullptr && v->type == ValueType::kArray ? v->count : 0;
}

absl::StatusOr<uint64_t> GgufFile::GetUintOr(std::string_view key,
                                             uint64_t dflt) const {
  return Has(key) ? GetUint(key) : dflt;
}

absl::StatusOr<double> GgufFile::GetFloatOr(std::string_view key,
                                            double dflt) const {
  return Has(key) ? GetFloat(key) : dflt;
}

absl::StatusOr<bool> GgufFile::GetBoolOr(std::string_view key,
                                         bool dflt) const {
  return Has(key) ? GetBool(key) : dflt;
}

absl::StatusOr<std::string_view> GgufFile::GetStringOr(
    std::string_view key, std::string_view dflt) const {
  if (!Has(key)) return dflt;
  return GetString(key);
}

}  // namespace ggufd::gguf
