// Streaming never emits part of a character and never loses bytes.
#include "runtime/tokenizer/streaming_decoder.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/gguf/gguf_file.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/utf8.h"
#include "tests/runtime/tokenizer/vocab_vectors.h"

namespace ggufd::tokenizer {
namespace {

TEST(StreamingDecoderTest, HoldsBackAnUnfinishedCharacter) {
  StreamingDecoder decoder;
  EXPECT_EQ(decoder.Push("a\xF0\x9F"), "a");
  EXPECT_EQ(decoder.pending_bytes(), 2u);
  EXPECT_EQ(decoder.Push("\x98"), "");
  EXPECT_EQ(decoder.Push("\x80!"), "😀!");
  EXPECT_EQ(decoder.Flush(), "");
}

TEST(StreamingDecoderTest, InvalidBytesBecomeReplacementCharacters) {
  StreamingDecoder decoder;
  EXPECT_EQ(decoder.Push("x\xFF"), "x\xEF\xBF\xBD");
  EXPECT_EQ(decoder.Push("\xE2\x82"), "");
  // The € never completes: its maximal subpart becomes one U+FFFD.
  EXPECT_EQ(decoder.Push("y"), "\xEF\xBF\xBDy");
  EXPECT_EQ(decoder.Push("\xC3"), "");
  EXPECT_EQ(decoder.Flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(decoder.pending_bytes(), 0u);
}

TEST(StreamingDecoderTest, ByteFallbackTokensStreamWholeCharacters) {
  // llama-spm encodes "😀" as four <0xXX> byte tokens.
  auto file = gguf::GgufFile::Open(testing::VocabPath("llama-spm"));
  ASSERT_TRUE(file.ok());
  auto tokenizer = Tokenizer::FromGguf(**file);
  ASSERT_TRUE(tokenizer.ok());
  const std::string text = " Hi 😀 日本 🇺🇸!";
  auto ids = tokenizer->Encode(text, {.add_special = false});
  ASSERT_TRUE(ids.ok());
  StreamingDecoder decoder;
  std::string streamed;
  std::string raw;
  for (TokenId id : *ids) {
    const std::string chunk = decoder.Push(tokenizer->TokenToPiece(id));
    EXPECT_TRUE(IsValidUtf8(chunk));
    streamed += chunk;
    raw += tokenizer->TokenToPiece(id);
  }
  streamed += decoder.Flush();
  EXPECT_EQ(streamed, raw);
  EXPECT_EQ(streamed, "  Hi 😀 日本 🇺🇸!");  // the dummy prefix is kept
}

// Detokenize answers SanitizeUtf8(Decode(ids)) and the generation stream
// answers the StreamingDecoder's chunks of the same pieces: one rule for both
// (issue 11), the one node-llama-cpp's detokenize gives (V8 decodes strings
// from the addon as WHATWG's TextDecoder does: one U+FFFD per maximal
// subpart). The expected code points were read from node-llama-cpp 3.21.1's
// model.detokenize() on stories260K.gguf.
TEST(StreamingDecoderTest, DetokenizeAndStreamRepairAlikeAsTheReferenceDoes) {
  auto file = gguf::GgufFile::Open(std::string(GGUFD_TESTDATA_DIR) +
                                   "/models/stories260K.gguf");
  ASSERT_TRUE(file.ok()) << file.status();
  auto tokenizer = Tokenizer::FromGguf(**file);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  auto byte = [](int b) { return static_cast<TokenId>(3 + b); };  // <0xHH>
  const std::string fffd(kReplacementUtf8);
  const struct {
    std::vector<TokenId> ids;
    std::string text;
  } kCases[] = {
      {{byte(0xE2), byte(0x82), byte('a')}, fffd + "a"},
      {{byte(0xC0), byte(0x80)}, fffd + fffd},
      {{byte(0xF0), byte(0x9F), byte(0x98), byte('x')}, fffd + "x"},
      {{byte(0xED), byte(0xA0), byte(0x80)}, fffd + fffd + fffd},
      {{byte(0xFF), byte(0xFE)}, fffd + fffd},
      {{byte(0xF0), byte(0x9F), byte(0x98)}, fffd},  // cut at the end
  };
  for (const auto& c : kCases) {
    auto raw = tokenizer->Decode(c.ids);
    ASSERT_TRUE(raw.ok());
    EXPECT_EQ(SanitizeUtf8(*raw), c.text);
    StreamingDecoder decoder;
    std::string streamed;
    for (TokenId id : c.ids)
      streamed += decoder.Push(tokenizer->TokenToPiece(id));
    streamed += decoder.Flush();
    EXPECT_EQ(streamed, c.text);
  }
}

}  // namespace
}  // namespace ggufd::tokenizer
