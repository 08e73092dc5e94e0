// llama.cpp's tokenizer test vectors: every vocabulary that has them must
// reproduce every line exactly (no BOS/EOS, special text not parsed).
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/tokenizer/tokenizer.h"
#include "tests/runtime/tokenizer/vocab_vectors.h"

namespace ggufd::tokenizer {
namespace {

using testing::LoadVocabVectors;
using testing::VocabPath;

class VocabVectorsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(VocabVectorsTest, MatchesLlamaCppVectors) {
  const std::string path = VocabPath(GetParam());
  auto file = gguf::GgufFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  auto tokenizer = Tokenizer::FromGguf(**file);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  const auto vectors = LoadVocabVectors(path);
  ASSERT_FALSE(vectors.empty()) << "no vectors for " << path;
  int passed = 0;
  for (const auto& v : vectors) {
    auto ids = tokenizer->Encode(
        v.text, {.add_special = false, .parse_special = false});
    ASSERT_TRUE(ids.ok()) << ids.status();
    const std::vector<int> got(ids->begin(), ids->end());
    if (got == v.ids) {
      ++passed;
    } else {
      ADD_FAILURE() << GetParam() << ": '" << v.text << "'\n  want "
                    << absl::StrJoin(v.ids, " ") << "\n  got  "
                    << absl::StrJoin(got, " ");
    }
  }
  std::printf("[ vectors  ] %-16s %d/%zu\n", GetParam().c_str(), passed,
              vectors.size());
  EXPECT_EQ(passed, static_cast<int>(vectors.size()));
}

INSTANTIATE_TEST_SUITE_P(AllVocabs, VocabVectorsTest,
                         ::testing::Values("llama-spm", "phi-3", "gpt-2",
                                           "falcon", "mpt", "starcoder",
                                           "refact", "deepseek-llm",
                                           "deepseek-coder", "dbrx",
                                           "bert-bge"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace ggufd::tokenizer
