// A whole file mapped read-only into memory (RAII over mmap/munmap).
#ifndef GGUFD_RUNTIME_GGUF_MAPPED_FILE_H_
#define GGUFD_RUNTIME_GGUF_MAPPED_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ggufd::gguf {

class MappedFile {
 public:
  static absl::StatusOr<std::unique_ptr<MappedFile>> Open(
      const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  absl::Span<const uint8_t> bytes() const { return {data_, size_}; }

  // Drops the whole pages inside [begin, begin + size) from memory (they
  // are read from the file again if touched): for bytes already copied
  // elsewhere, such as weights repacked at load.
  void Release(const uint8_t* begin, size_t size) const;

 private:
  MappedFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  const uint8_t* data_;
  size_t size_;
};

}  // namespace ggufd::gguf

#endif  // GGUFD_RUNTIME_GGUF_MAPPED_FILE_H_
