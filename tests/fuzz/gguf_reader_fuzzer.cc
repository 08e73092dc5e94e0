// libFuzzer target: any byte string given to the GGUF reader must produce a
// status or a consistent file, never a crash, hang or huge allocation.
#include <cstddef>
#include <cstdint>

#include "runtime/gguf/gguf_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ggufd::gguf;
  auto file = GgufFile::Parse({data, size});
  if (!file.ok()) return 0;
  const GgufFile& f = **file;
  for (const auto& [key, value] : f.metadata()) {
    (void)FormatValue(value);
    (void)f.GetUint(key);
    (void)f.GetFloatArray(key);
    (void)f.GetStringArray(key);
  }
  // An accepted file lays its tensor data out as llama.cpp requires: in
  // table order, each tensor where the previous one ends padded to the
  // alignment; names fit ggml's 64-byte field.
  uint64_t expected = 0;
  const uint64_t a = f.alignment();
  for (const auto& t : f.tensors()) {
    if (t.data < data || t.data + t.n_bytes > data + size) __builtin_trap();
    if (f.FindTensor(t.name) != &t) __builtin_trap();
    if (t.offset != expected || t.name.size() > 63) __builtin_trap();
    if (t.data != data + f.data_offset() + t.offset) __builtin_trap();
    expected = (t.offset + t.n_bytes + a - 1) / a * a;
  }
  return 0;
}
