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

}  // namespace
}  // namespace ggufd::tokenizer
