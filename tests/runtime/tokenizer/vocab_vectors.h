// Loads llama.cpp's tokenizer test vectors (ggml-vocab-*.gguf.inp / .out,
// format in shared/testdata/MANIFEST.md).
#ifndef GGUFD_TESTS_RUNTIME_TOKENIZER_VOCAB_VECTORS_H_
#define GGUFD_TESTS_RUNTIME_TOKENIZER_VOCAB_VECTORS_H_

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ggufd::tokenizer::testing {

struct VocabVector {
  std::string text;
  std::vector<int> ids;
};

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string VocabPath(const std::string& name) {
  return std::string(GGUFD_TESTDATA_DIR) + "/llama.cpp-vocab/ggml-vocab-" +
         name + ".gguf";
}

// Empty when the files are missing or do not line up.
inline std::vector<VocabVector> LoadVocabVectors(const std::string& gguf) {
  const std::string inp = ReadFileBytes(gguf + ".inp");
  const std::string outp = ReadFileBytes(gguf + ".out");
  static constexpr std::string_view kSep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  size_t pos = 0;
  while (pos < inp.size()) {
    const size_t sep = inp.find(kSep, pos);
    if (sep == std::string::npos) break;
    texts.push_back(inp.substr(pos, sep - pos));
    pos = sep + kSep.size();
  }
  std::vector<std::string> lines = absl::StrSplit(outp, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::vector<VocabVector> vectors;
  if (lines.size() != texts.size()) return vectors;
  for (size_t i = 0; i < texts.size(); ++i) {
    VocabVector v{texts[i], {}};
    for (absl::string_view part : absl::StrSplit(
             absl::StripAsciiWhitespace(lines[i]), ' ', absl::SkipEmpty())) {
      int id = 0;
      if (!absl::SimpleAtoi(part, &id)) return {};
      v.ids.push_back(id);
    }
    vectors.push_back(std::move(v));
  }
  return vectors;
}

}  // namespace ggufd::tokenizer::testing

#endif  // GGUFD_TESTS_RUNTIME_TOKENIZER_VOCAB_VECTORS_H_
