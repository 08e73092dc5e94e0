// Builds a GGUF v3 file in memory: metadata in insertion order, then the
// tensor table, then aligned tensor data. Used by `ggufd quantize` and by
// tests that need small models of a given shape.
#ifndef GGUFD_RUNTIME_GGUF_GGUF_WRITER_H_
#define GGUFD_RUNTIME_GGUF_GGUF_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "runtime/gguf/gguf_value.h"
#include "runtime/tensor/tensor_type.h"

namespace ggufd::gguf {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = 32) : alignment_(alignment) {}

  void AddUint32(std::string_view key, uint32_t v);
  void AddInt32(std::string_view key, int32_t v);
  void AddUint64(std::string_view key, uint64_t v);
  void AddFloat32(std::string_view key, float v);
  void AddBool(std::string_view key, bool v);
  void AddString(std::string_view key, std::string_view v);
  void AddStringArray(std::string_view key, absl::Span<const std::string> v);
  void AddFloat32Array(std::string_view key, absl::Span<const float> v);
  void AddInt32Array(std::string_view key, absl::Span<const int32_t> v);
  // Copies a value read from another file (any type, arrays included).
  void AddValue(std::string_view key, const GgufValue& v);

  // `dims` is ne0 first; `data` must hold exactly the tensor's bytes.
  void AddTensor(std::string_view name, tensor::TensorType type,
                 absl::Span<const uint64_t> dims,
                 absl::Span<const uint8_t> data);

  // Declares a tensor without its bytes, for writers that stream large
  // tensors: write SerializeHeader(), then each tensor's bytes in declaration
  // order, each padded with zeros to alignment(). `dims` is ne0 first and
  // ne0 a multiple of the type's block size.
  void DeclareTensor(std::string_view name, tensor::TensorType type,
                     absl::Span<const uint64_t> dims);

  // Everything before the tensor data: header, metadata, tensor table and
  // the padding up to the data section.
  std::vector<uint8_t> SerializeHeader() const;
  uint32_t alignment() const { return alignment_; }

  // The complete file (declared-only tensors read as zeros).
  std::vector<uint8_t> Serialize() const;
  absl::Status WriteFile(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    tensor::TensorType type;
    std::vector<uint64_t> dims;
    uint64_t n_bytes = 0;
    std::vector<uint8_t> data;  // empty for declared-only tensors
  };
  uint64_t Aligned(uint64_t n) const {
    return (n + alignment_ - 1) / alignment_ * alignment_;
  }
  void Key(std::string_view key, ValueType type);
  void PutString(std::string_view s);
  template <typename T>
  void Put(T v);

  uint32_t alignment_;
  uint64_t n_kv_ = 0;
  std::vector<uint8_t> kv_bytes_;
  std::vector<Tensor> tensors_;
};

}  // namespace ggufd::gguf

#endif  // GGUFD_RUNTIME_GGUF_GGUF_WRITER_H_
