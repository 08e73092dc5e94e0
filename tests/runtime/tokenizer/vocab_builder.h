// Builds small GGUF vocabularies in memory for tokenizer tests.
#ifndef GGUFD_TESTS_RUNTIME_TOKENIZER_VOCAB_BUILDER_H_
#define GGUFD_TESTS_RUNTIME_TOKENIZER_VOCAB_BUILDER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_writer.h"
#include "runtime/tokenizer/byte_level.h"
#include "runtime/tokenizer/tokenizer.h"

namespace ggufd::tokenizer::testing {

// A GGUF image and the file parsed from it (which points into the image).
struct VocabFile {
  std::vector<uint8_t> bytes;
  std::unique_ptr<gguf::GgufFile> file;
};

inline absl::StatusOr<VocabFile> ParseImage(const gguf::GgufWriter& writer) {
  VocabFile out;
  out.bytes = writer.Serialize();
  auto file = gguf::GgufFile::Parse(out.bytes);
  if (!file.ok()) return file.status();
  out.file = std::move(*file);
  return out;
}

// The GPT-2 byte-level text of every byte: the first 256 tokens of a
// byte-level BPE vocabulary.
inline std::vector<std::string> ByteLevelAlphabet() {
  std::vector<std::string> out;
  for (int b = 0; b < 256; ++b) {
    out.emplace_back(ByteToUtf8(static_cast<uint8_t>(b)));
  }
  return out;
}

// A byte-level BPE vocabulary: the byte alphabet, then one token per merge
// result, merges given as "left right".
inline gguf::GgufWriter BpeWriter(const std::vector<std::string>& merges,
                                  std::string_view pre = "gpt-2") {
  std::vector<std::string> tokens = ByteLevelAlphabet();
  for (const std::string& m : merges) {
    const size_t space = m.find(' ', 1);
    tokens.push_back(m.substr(0, space) + m.substr(space + 1));
  }
  gguf::GgufWriter w;
  w.AddString("tokenizer.ggml.model", "gpt2");
  w.AddString("tokenizer.ggml.pre", pre);
  w.AddStringArray("tokenizer.ggml.tokens", tokens);
  w.AddStringArray("tokenizer.ggml.merges", merges);
  return w;
}

}  // namespace ggufd::tokenizer::testing

#endif  // GGUFD_TESTS_RUNTIME_TOKENIZER_VOCAB_BUILDER_H_
