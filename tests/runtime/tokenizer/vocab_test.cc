// Vocabulary loading: llama.cpp's defaults, and refusal of garbage.
#include "runtime/tokenizer/vocab.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/common/str_cat.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/gguf/gguf_writer.h"
#include "runtime/tokenizer/tokenizer.h"
#include "tests/runtime/tokenizer/vocab_builder.h"
#include "tests/runtime/tokenizer/vocab_vectors.h"

namespace ggufd::tokenizer {
namespace {

using testing::BpeWriter;
using ::testing::HasSubstr;
using testing::ParseImage;

absl::Status LoadStatus(const gguf::GgufWriter& writer) {
  auto image = ParseImage(writer);
  if (!image.ok()) return image.status();
  return Vocab::FromGguf(*image->file).status();
}

gguf::GgufWriter SpmWriter(const std::vector<std::string>& tokens,
                           const std::vector<float>& scores,
                           const std::vector<int32_t>& types) {
  gguf::GgufWriter w;
  w.AddString("tokenizer.ggml.model", "llama");
  w.AddStringArray("tokenizer.ggml.tokens", tokens);
  w.AddFloat32Array("tokenizer.ggml.scores", scores);
  w.AddInt32Array("tokenizer.ggml.token_type", types);
  return w;
}

TEST(VocabTest, SpmDefaultsFollowLlamaCpp) {
  auto image = ParseImage(
      SpmWriter({"<unk>", "<s>", "</s>", "a"}, {0, 0, 0, -1}, {2, 3, 3, 1}));
  ASSERT_TRUE(image.ok()) << image.status();
  auto vocab = Vocab::FromGguf(*image->file);
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_EQ(vocab->type(), VocabType::kSpm);
  EXPECT_EQ(vocab->special().bos, 1);
  EXPECT_EQ(vocab->special().eos, 2);
  EXPECT_EQ(vocab->special().unk, 0);
  EXPECT_TRUE(vocab->flags().add_bos);
  EXPECT_FALSE(vocab->flags().add_eos);
  EXPECT_TRUE(vocab->flags().add_space_prefix);
  EXPECT_TRUE(vocab->IsEog(2));  // "</s>"
}

TEST(VocabTest, RefusesEmptyVocabulary) {
  EXPECT_THAT(LoadStatus(SpmWriter({}, {}, {})).message(),
              HasSubstr("no tokens"));
}

TEST(VocabTest, RefusesScoresOfAnotherLength) {
  EXPECT_THAT(LoadStatus(SpmWriter({"<unk>", "<s>", "</s>"}, {0, 0}, {2, 3, 3}))
                  .message(),
              HasSubstr("tokenizer.ggml.scores has 2 entries for 3 tokens"));
}

TEST(VocabTest, RefusesTypesOfAnotherLength) {
  EXPECT_THAT(
      LoadStatus(SpmWriter({"<unk>", "<s>", "</s>"}, {0, 0, 0}, {2, 3, 3, 1}))
          .message(),
      HasSubstr("tokenizer.ggml.token_type has 4 entries for 3 tokens"));
}

TEST(VocabTest, RefusesDuplicateTexts) {
  EXPECT_THAT(
      LoadStatus(SpmWriter({"<unk>", "<s>", "<s>"}, {0, 0, 0}, {2, 3, 3}))
          .message(),
      HasSubstr("tokens 1 and 2 have the same text"));
}

TEST(VocabTest, RefusesSpecialIdOutOfRange) {
  gguf::GgufWriter w =
      SpmWriter({"<unk>", "<s>", "</s>"}, {0, 0, 0}, {2, 3, 3});
  w.AddUint32("tokenizer.ggml.eos_token_id", 7);
  EXPECT_THAT(LoadStatus(w).message(),
              HasSubstr("tokenizer.ggml.eos_token_id = 7 is outside"));
}

TEST(VocabTest, MinusOneSpecialIdMeansNone) {
  // stories260K.gguf stores seperator_token_id = 0xFFFFFFFF.
  gguf::GgufWriter w =
      SpmWriter({"<unk>", "<s>", "</s>"}, {0, 0, 0}, {2, 3, 3});
  w.AddUint32("tokenizer.ggml.seperator_token_id", 0xFFFFFFFF);
  w.AddInt32("tokenizer.ggml.padding_token_id", -1);
  auto image = ParseImage(w);
  ASSERT_TRUE(image.ok());
  auto vocab = Vocab::FromGguf(*image->file);
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  EXPECT_EQ(vocab->special().sep, kNoToken);
  EXPECT_EQ(vocab->special().pad, kNoToken);
}

// Regression (issue 10): negative ids other than -1 used to be taken as
// "none" too; -1 (and its u32 image) is the only spelling converters use.
TEST(VocabTest, RefusesNegativeSpecialIdOtherThanMinusOne) {
  gguf::GgufWriter w =
      SpmWriter({"<unk>", "<s>", "</s>"}, {0, 0, 0}, {2, 3, 3});
  w.AddInt32("tokenizer.ggml.bos_token_id", -5);
  EXPECT_THAT(LoadStatus(w).message(),
              HasSubstr("tokenizer.ggml.bos_token_id = -5 is negative"));
}

// A numeric array `key` of `count` elements of `type`, all bytes `fill`.
void AddRawArray(gguf::GgufWriter& w, std::string_view key,
                 gguf::ValueType type, uint64_t count,
                 std::vector<uint8_t>& storage, uint8_t fill = 0) {
  storage.assign(count * gguf::ScalarSize(type), fill);
  gguf::GgufValue v;
  v.type = gguf::ValueType::kArray;
  v.element_type = type;
  v.count = count;
  v.raw = storage.data();
  w.AddValue(key, v);
}

// Regression (issue 10): the GGUF spec says token_type is i32 and scores
// f32 (llama.cpp also takes i32 scores); any integer or number array used to
// be widened.
TEST(VocabTest, RefusesTokenizerArraysOfAnotherElementType) {
  const std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<uint8_t> storage;
  for (gguf::ValueType type :
       {gguf::ValueType::kUint8, gguf::ValueType::kUint32,
        gguf::ValueType::kInt64}) {
    gguf::GgufWriter w;
    w.AddString("tokenizer.ggml.model", "llama");
    w.AddStringArray("tokenizer.ggml.tokens", tokens);
    AddRawArray(w, "tokenizer.ggml.token_type", type, 3, storage, 1);
    EXPECT_THAT(LoadStatus(w).message(),
                HasSubstr(StrCat("tokenizer.ggml.token_type (at offset ")))
        << gguf::ValueTypeName(type);
    EXPECT_THAT(LoadStatus(w).message(),
                HasSubstr(StrCat("is an array of ", gguf::ValueTypeName(type),
                                 ", expected an array of i32")));
  }
  for (gguf::ValueType type :
       {gguf::ValueType::kFloat64, gguf::ValueType::kInt8}) {
    gguf::GgufWriter w;
    w.AddString("tokenizer.ggml.model", "llama");
    w.AddStringArray("tokenizer.ggml.tokens", tokens);
    AddRawArray(w, "tokenizer.ggml.scores", type, 3, storage);
    EXPECT_THAT(LoadStatus(w).message(),
                HasSubstr(StrCat("tokenizer.ggml.scores (at offset ")))
        << gguf::ValueTypeName(type);
    EXPECT_THAT(LoadStatus(w).message(),
                HasSubstr("expected an array of f32 or i32"));
  }
  gguf::GgufWriter scalar;
  scalar.AddString("tokenizer.ggml.model", "llama");
  scalar.AddStringArray("tokenizer.ggml.tokens", tokens);
  scalar.AddInt32("tokenizer.ggml.token_type", 1);
  EXPECT_THAT(LoadStatus(scalar).message(), HasSubstr("is a scalar i32"));
  // i32 scores load, as in llama.cpp.
  gguf::GgufWriter int_scores;
  int_scores.AddString("tokenizer.ggml.model", "llama");
  int_scores.AddStringArray("tokenizer.ggml.tokens", tokens);
  int_scores.AddInt32Array("tokenizer.ggml.scores",
                           std::vector<int32_t>{0, -1, -2});
  EXPECT_TRUE(LoadStatus(int_scores).ok()) << LoadStatus(int_scores);
}

// Regression (issue 10): scores order SentencePiece's merges; a NaN made
// that order meaningless and was accepted.
TEST(VocabTest, RefusesScoresThatAreNotFinite) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(),
                    std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    EXPECT_THAT(LoadStatus(SpmWriter({"<unk>", "<s>", "</s>", "a"},
                                     {0, 0, 0, bad}, {2, 3, 3, 1}))
                    .message(),
                HasSubstr("tokenizer.ggml.scores[3] = "))
        << bad;
  }
}

// Regression (issue 10): llama.cpp's token types are 0 (undefined) to 6
// (byte); other values used to be read as "undefined".
TEST(VocabTest, RefusesTokenTypesOutsideTheDomain) {
  for (int32_t bad : {7, -1, 1 << 20}) {
    EXPECT_THAT(
        LoadStatus(SpmWriter({"<unk>", "<s>", "</s>"}, {0, 0, 0}, {2, 3, bad}))
            .message(),
        HasSubstr(StrCat("tokenizer.ggml.token_type[2] = ", bad,
                         " is not a token type (0 to 6)")));
  }
  // 0 (undefined) and 5 (unused) are token types.
  EXPECT_TRUE(
      LoadStatus(SpmWriter({"<unk>", "<s>", "</s>"}, {0, 0, 0}, {0, 3, 5}))
          .ok());
}

// Regression (issue 10): a byte token (type 6) stands for the byte its text
// spells as <0xHH>; other texts were accepted and decoded to nothing.
TEST(VocabTest, RefusesByteTokensNotSpelledAsBytes) {
  for (const char* bad :
       {"<0xZZ>", "hello", "<0x4a>", "<0x4A", "<0x4A>>", "<0X4A>", ""}) {
    EXPECT_THAT(LoadStatus(SpmWriter({"<unk>", "<s>", "</s>", bad},
                                     {0, 0, 0, 0}, {2, 3, 3, 6}))
                    .message(),
                HasSubstr("tokenizer.ggml.tokens[3] is a byte token "
                          "(tokenizer.ggml.token_type = 6) but its text"))
        << bad;
  }
  auto image = ParseImage(SpmWriter({"<unk>", "<s>", "</s>", "<0x4A>"},
                                    {0, 0, 0, 0}, {2, 3, 3, 6}));
  ASSERT_TRUE(image.ok());
  auto tokenizer = Tokenizer::FromGguf(*image->file);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ(tokenizer->TokenToPiece(3), "J");
  EXPECT_EQ(ByteTokenValue("<0xFF>"), 0xFF);
  EXPECT_EQ(ByteTokenValue("<0xff>"), -1);
}

TEST(VocabTest, RefusesMissingTokenizer) {
  gguf::GgufWriter w;
  w.AddString("general.architecture", "llama");
  EXPECT_THAT(LoadStatus(w).message(), HasSubstr("has no tokenizer"));
}

TEST(VocabTest, RefusesUnknownModelAndPreTokenizer) {
  gguf::GgufWriter w;
  w.AddString("tokenizer.ggml.model", "t5");
  w.AddStringArray("tokenizer.ggml.tokens", std::vector<std::string>{"a"});
  EXPECT_THAT(LoadStatus(w).message(),
              HasSubstr("unsupported tokenizer model 't5'"));
  EXPECT_THAT(LoadStatus(BpeWriter({}, "no-such-pre")).message(),
              HasSubstr("unknown pre-tokenizer 'no-such-pre'"));
}

TEST(VocabTest, RefusesMergeNamingUnknownToken) {
  gguf::GgufWriter w = BpeWriter({});
  std::vector<std::string> tokens = testing::ByteLevelAlphabet();
  gguf::GgufWriter bad;
  bad.AddString("tokenizer.ggml.model", "gpt2");
  bad.AddStringArray("tokenizer.ggml.tokens", tokens);
  bad.AddStringArray("tokenizer.ggml.merges",
                     std::vector<std::string>{"a b", "xyz q"});
  EXPECT_THAT(LoadStatus(bad).message(),
              HasSubstr("tokenizer.ggml.merges[0] produces a token that is "
                        "not in the vocabulary"));
  gguf::GgufWriter unknown;
  tokens.push_back("ab");
  unknown.AddString("tokenizer.ggml.model", "gpt2");
  unknown.AddStringArray("tokenizer.ggml.tokens", tokens);
  unknown.AddStringArray("tokenizer.ggml.merges",
                         std::vector<std::string>{"a b", "xyz q"});
  EXPECT_THAT(LoadStatus(unknown).message(),
              HasSubstr("tokenizer.ggml.merges[1] names a token that is not "
                        "in the vocabulary"));
  gguf::GgufWriter nospace;
  nospace.AddString("tokenizer.ggml.model", "gpt2");
  nospace.AddStringArray("tokenizer.ggml.tokens", tokens);
  nospace.AddStringArray("tokenizer.ggml.merges",
                         std::vector<std::string>{"ab"});
  EXPECT_THAT(LoadStatus(nospace).message(),
              HasSubstr("is not two tokens separated by a space"));
  gguf::GgufWriter missing;
  missing.AddString("tokenizer.ggml.model", "gpt2");
  missing.AddStringArray("tokenizer.ggml.tokens", tokens);
  EXPECT_THAT(LoadStatus(missing).message(), HasSubstr("needs merges"));
}

TEST(VocabTest, LegacyFalconV2UsesDefaultPreTokenizer) {
  // No tokenizer.ggml.pre and no bos_token_id: llama.cpp's "default"
  // pre-tokenizer and the gpt2 default BOS 11.
  auto file = gguf::GgufFile::Open(std::string(GGUFD_TESTDATA_DIR) +
                                   "/legacy/gguf-v2/ggml-vocab-falcon.gguf");
  ASSERT_TRUE(file.ok()) << file.status();
  auto legacy = Tokenizer::FromGguf(**file);
  ASSERT_TRUE(legacy.ok()) << legacy.status();
  EXPECT_EQ(legacy->vocab().pre(), "default");
  EXPECT_EQ(legacy->bos(), 11);
  EXPECT_EQ(legacy->eos(), 11);
  EXPECT_FALSE(legacy->add_bos());
  // Its token_type marks nothing as control: ">>TITLE<<" is plain text,
  // while "<|endoftext|>" is recognised by its text as llama.cpp does.
  EXPECT_FALSE(legacy->IsControl(0));
  EXPECT_TRUE(legacy->IsControl(11));

  auto v3_file = gguf::GgufFile::Open(testing::VocabPath("falcon"));
  ASSERT_TRUE(v3_file.ok());
  auto v3 = Tokenizer::FromGguf(**v3_file);
  ASSERT_TRUE(v3.ok());
  EXPECT_TRUE(v3->IsControl(0));
  // Texts on which the default and falcon regex lists agree (they differ
  // on e.g. " ½", which "default" splits once more with \p{N}+).
  for (const char* text : {"Hello world", " Hello World!", "3.14 is pi",
                           "Führer months", "\n\n  code();"}) {
    auto a = legacy->Encode(text);
    auto b = v3->Encode(text);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b) << text;
    auto back = legacy->Decode(*a);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, text);
  }
}

TEST(VocabTest, LoadsModelsWithWeights) {
  for (const char* name : {"stories260K.gguf", "llama-2-tiny-random.gguf"}) {
    auto file = gguf::GgufFile::Open(std::string(GGUFD_TESTDATA_DIR) +
                                     "/models/" + name);
    ASSERT_TRUE(file.ok()) << file.status();
    auto tokenizer = Tokenizer::FromGguf(**file);
    ASSERT_TRUE(tokenizer.ok()) << name << ": " << tokenizer.status();
    EXPECT_EQ(tokenizer->bos(), 1);
    EXPECT_EQ(tokenizer->eos(), 2);
  }
}

}  // namespace
}  // namespace ggufd::tokenizer
