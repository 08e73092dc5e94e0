// A GGUF file (v2 or v3, little-endian) opened through a read-only mmap.
// Open() validates the whole header, metadata and tensor table against the
// file before anything is used; a hostile file yields an error naming the
// field and its byte offset, never a crash or an allocation sized by an
// unchecked field. Where llama.cpp's reader is stricter, so is this one:
// tensor names under 64 bytes, tensor data in table order with each tensor
// padded to the alignment. Two exceptions keep real published files
// readable: the legacy v1 layout (32-bit counts), and a key repeated with
// byte-identical values (ggml-vocab-dbrx.gguf has one; a conflicting
// repeat is refused).
#ifndef GGUFD_RUNTIME_GGUF_GGUF_FILE_H_
#define GGUFD_RUNTIME_GGUF_GGUF_FILE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/gguf/gguf_value.h"
#include "runtime/gguf/mapped_file.h"
#include "runtime/tensor/tensor_type.h"

namespace ggufd::gguf {

inline constexpr uint32_t kMaxDims = 4;
inline constexpr uint32_t kDefaultAlignment = 32;

struct TensorInfo {
  std::string name;
  tensor::TensorType type = tensor::TensorType::kF32;
  uint32_t n_dims = 0;
  std::array<uint64_t, kMaxDims> dims = {1, 1, 1, 1};  // ne0 first
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  uint64_t offset = 0;            // relative to the data section
  const uint8_t* data = nullptr;  // into the mapping

  // Number of rows (product of dims 1..3) and values per row (dims[0]).
  uint64_t rows() const { return n_elements / dims[0]; }
  uint64_t row_length() const { return dims[0]; }
};

struct OpenOptions {
  // Accept GGUF v1 (llama.cpp refuses it; the layout differs only in counts).
  bool allow_v1 = true;
  // Refuse tensors whose type ggufd cannot dequantize.
  bool require_supported_types = false;
};

class GgufFile {
 public:
  static absl::StatusOr<std::unique_ptr<GgufFile>> Open(
      const std::string& path, const OpenOptions& options = {});
  // Parses an in-memory image (used by fuzzers and tests); `bytes` must
  // outlive the returned file.
  static absl::StatusOr<std::unique_ptr<GgufFile>> Parse(
      absl::Span<const uint8_t> bytes, const OpenOptions& options = {});

  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return bytes_.size(); }
  // The whole file as mapped.
  absl::Span<const uint8_t> bytes() const { return bytes_; }
  const std::string& path() const { return path_; }

  // Lets go of the memory of bytes inside the file that were copied
  // elsewhere (MappedFile::Release); nothing for a parsed image.
  void ReleasePages(const uint8_t* begin, size_t size) const {
    if (mapping_ != nullptr) mapping_->Release(begin, size);
  }

  // Metadata in file order.
  const std::vector<std::pair<std::string_view, GgufValue>>& metadata() const {
    return metadata_;
  }
  const GgufValue* Find(std::string_view key) const;
  bool Has(std::string_view key) const { return Find(key) != nullptr; }

  // Typed accessors: NotFound when the key is missing, InvalidArgument when
  // its type does not fit (any integer type converts if the value fits).
  absl::StatusOr<uint64_t> GetUint(std::string_view key) const;
  absl::StatusOr<int64_t> GetInt(std::string_view key) const;
  absl::StatusOr<double> GetFloat(std::string_view key) const;  // ints too
  absl::StatusOr<bool> GetBool(std::string_view key) const;
  absl::StatusOr<std::string_view> GetString(std::string_view key) const;
  absl::StatusOr<std::vector<std::string_view>> GetStringArray(
      std::string_view key) const;
  absl::StatusOr<std::vector<float>> GetFloatArray(std::string_view key) const;
  absl::StatusOr<std::vector<int64_t>> GetIntArray(std::string_view key) const;
  // Element count of an array key (0 when missing).
  uint64_t ArrayLength(std::string_view key) const;

  // The same, with a default for a missing key (a wrong type is still an
  // error).
  absl::StatusOr<uint64_t> GetUintOr(std::string_view key, uint64_t dflt) const;
  absl::StatusOr<double> GetFloatOr(std::string_view key, double dflt) const;
  absl::StatusOr<bool> GetBoolOr(std::string_view key, bool dflt) const;
  absl::StatusOr<std::string_view> GetStringOr(std::string_view key,
                                               std::string_view dflt) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* FindTensor(std::string_view name) const;

 private:
  GgufFile() = default;
  friend class GgufParser;

  std::string path_;
  std::unique_ptr<MappedFile> mapping_;  // null for Parse()
  absl::Span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string_view, GgufValue>> metadata_;
  absl::flat_hash_map<std::string_view, size_t> metadata_index_;
  std::vector<TensorInfo> tensors_;
  absl::flat_hash_map<std::string_view, size_t> tensor_index_;
};

}  // namespace ggufd::gguf

#endif  // GGUFD_RUNTIME_GGUF_GGUF_FILE_H_
