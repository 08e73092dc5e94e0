#include "runtime/gguf/gguf_writer.h"

#include <cstdio>
#include <cstring>

#include "runtime/common/str_cat.h"

namespace ggufd::gguf {
namespace {

template <typename T>
void Append(std::vector<uint8_t>& out, T v) {
  uint8_t bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

void AppendString(std::vector<uint8_t>& out, std::string_view s) {
  Append<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

}  // namespace

template <typename T>
void GgufWriter::Put(T v) {
  Append(kv_bytes_, v);
}

void GgufWriter::PutString(std::string_view s) { AppendString(kv_bytes_, s); }

void GgufWriter::Key(std::string_view key, ValueType type) {
  ++n_kv_;
  PutString(key);
  Put(static_cast<uint32_t>(type));
}

void GgufWriter::AddUint32(std::string_view key, uint32_t v) {
  Key(key, ValueType::kUint32);
  Put(v);
}

void GgufWriter::AddInt32(std::string_view key, int32_t v) {
  Key(key, ValueType::kInt32);
  Put(v);
}

void GgufWriter::AddUint64(std::string_view key, uint64_t v) {
  Key(key, ValueType::kUint64);
  Put(v);
}

void GgufWriter::AddFloat32(std::string_view key, float v) {
  Key(key, ValueType::kFloat32);
  Put(v);
}

void GgufWriter::AddBool(std::string_view key, bool v) {
  Key(key, ValueType::kBool);
  Put<uint8_t>(v ? 1 : 0);
}

void GgufWriter::AddString(std::string_view key, std::string_view v) {
  Key(key, ValueType::kString);
  PutString(v);
}

void GgufWriter::AddStringArray(std::string_view key,
                                absl::Span<const std::string> v) {
  Key(key, ValueType::kArray);
  Put(static_cast<uint32_t>(ValueType::kString));
  Put<uint64_t>(v.size());
  for (const auto& s : v) PutString(s);
}

void GgufWriter::AddFloat32Array(std::string_view key,
                                 absl::Span<const float> v) {
  Key(key, ValueType::kArray);
  Put(static_cast<uint32_t>(ValueType::kFloat32));
  Put<uint64_t>(v.size());
  for (float f : v) Put(f);
}

void GgufWriter::AddInt32Array(std::string_view key,
                               absl::Span<const int32_t> v) {
  Key(key, ValueType::kArray);
  Put(static_cast<uint32_t>(ValueType::kInt32));
  Put<uint64_t>(v.size());
  for (int32_t i : v) Put(i);
}

void GgufWriter::AddValue(std::string_view key, const GgufValue& v) {
  Key(key, v.type);
  if (v.type == ValueType::kString) {
    PutString(v.str);
  } else if (v.type != ValueType::kArray) {
    kv_bytes_.insert(kv_bytes_.end(), v.raw, v.raw + ScalarSize(v.type));
  } else {
    Put(static_cast<uint32_t>(v.element_type));
    Put<uint64_t>(v.count);
    if (v.element_type == ValueType::kString) {
      for (std::string_view s : v.strings) PutString(s);
    } else {
      kv_bytes_.insert(kv_bytes_.end(), v.raw,
                       v.raw + v.count * ScalarSize(v.element_type));
    }
  }
}

void GgufWriter::AddTensor(std::string_view name, tensor::TensorType type,
                           absl::Span<const uint64_t> dims,
                           absl::Span<const uint8_t> data) {
  tensors_.push_back(Tensor{
      std::string(name), type, std::vector<uint64_t>(dims.begin(), dims.end()),
      data.size(), std::vector<uint8_t>(data.begin(), data.end())});
}

void GgufWriter::DeclareTensor(std::string_view name, tensor::TensorType type,
                               absl::Span<const uint64_t> dims) {
  uint64_t rows = 1;
  for (size_t i = 1; i < dims.size(); ++i) rows *= dims[i];
  const uint64_t n_bytes =
      dims.empty() ? 0 : tensor::RowBytes(type, dims[0]) * rows;
  tensors_.push_back(Tensor{std::string(name),
                            type,
                            std::vector<uint64_t>(dims.begin(), dims.end()),
                            n_bytes,
                            {}});
}

std::vector<uint8_t> GgufWriter::SerializeHeader() const {
  std::vector<uint8_t> out;
  Append<uint32_t>(out, 0x46554747);  // "GGUF"
  Append<uint32_t>(out, 3);
  Append<uint64_t>(out, tensors_.size());
  Append<uint64_t>(out, n_kv_);
  out.insert(out.end(), kv_bytes_.begin(), kv_bytes_.end());
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    AppendString(out, t.name);
    Append<uint32_t>(out, static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) Append<uint64_t>(out, d);
    Append<uint32_t>(out, static_cast<uint32_t>(t.type));
    Append<uint64_t>(out, offset);
    offset = Aligned(offset + t.n_bytes);
  }
  out.resize(Aligned(out.size()), 0);
  return out;
}

std::vector<uint8_t> GgufWriter::Serialize() const {
  std::vector<uint8_t> out = SerializeHeader();
  const size_t data_start = out.size();
  for (const auto& t : tensors_) {
    if (t.data.empty()) {
      out.resize(out.size() + t.n_bytes, 0);
    } else {
      out.insert(out.end(), t.data.begin(), t.data.end());
    }
    out.resize(data_start + Aligned(out.size() - data_start), 0);
  }
  return out;
}

absl::Status GgufWriter::WriteFile(const std::string& path) const {
  const std::vector<uint8_t> bytes = Serialize();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::PermissionDeniedError(StrCat("cannot create ", path));
  }
  const size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
  const bool closed = std::fclose(f) == 0;
  if (written != bytes.size() || !closed) {
    return absl::DataLossError(StrCat("short write to ", path));
  }
  return absl::OkStatus();
}

}  // namespace ggufd::gguf
