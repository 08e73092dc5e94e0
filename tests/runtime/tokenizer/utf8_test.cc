// The WHATWG "maximal subpart" repair and the streaming helpers.
#include "runtime/tokenizer/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace ggufd::tokenizer {
namespace {

constexpr std::string_view kFffd = "\xEF\xBF\xBD";

std::string Fffd(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.append(kFffd);
  return out;
}

TEST(Utf8Test, ValidTextIsUnchanged) {
  const std::string text = "ascii, Führer, 日本語, 😀, \x7F";
  EXPECT_TRUE(IsValidUtf8(text));
  EXPECT_EQ(SanitizeUtf8(text), text);
}

TEST(Utf8Test, MaximalSubpartsBecomeOneReplacementEach) {
  // The examples of the WHATWG Encoding Standard / Unicode table 3-8.
  EXPECT_EQ(SanitizeUtf8("\xE2\x82"), Fffd(1));  // truncated €
  EXPECT_EQ(SanitizeUtf8("a\xE2\x82"
                         "b"),
            "a" + Fffd(1) + "b");
  EXPECT_EQ(SanitizeUtf8("\xC0\x80"), Fffd(2));          // overlong NUL
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), Fffd(3));      // surrogate
  EXPECT_EQ(SanitizeUtf8("\xF4\x90\x80\x80"), Fffd(4));  // > U+10FFFF
  EXPECT_EQ(SanitizeUtf8("\xF0\x9F\x98"), Fffd(1));      // truncated emoji
  EXPECT_EQ(SanitizeUtf8("\xFF\xFE"), Fffd(2));
  EXPECT_EQ(SanitizeUtf8("\x80\xBF"), Fffd(2));  // lone continuations
  EXPECT_EQ(
      SanitizeUtf8("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
      "a" + Fffd(3) + "b" + Fffd(1) + "c" + Fffd(2) + "d");
  EXPECT_FALSE(IsValidUtf8("\xC3"));
}

TEST(Utf8Test, IncompleteTailCountsOnlyBytesThatCanStillComplete) {
  EXPECT_EQ(IncompleteUtf8Tail("abc"), 0u);
  EXPECT_EQ(IncompleteUtf8Tail("a\xC3"), 1u);
  EXPECT_EQ(IncompleteUtf8Tail("a\xE2\x82"), 2u);
  EXPECT_EQ(IncompleteUtf8Tail("\xF0\x9F\x98"), 3u);
  EXPECT_EQ(IncompleteUtf8Tail("\xF0\x9F\x98\x80"), 0u);  // complete
  EXPECT_EQ(IncompleteUtf8Tail("\xE0\x80"), 0u);          // already invalid
  EXPECT_EQ(IncompleteUtf8Tail("\x80"), 0u);
}

TEST(Utf8Test, AppendUtf8EncodesEveryLength) {
  std::string out;
  for (char32_t cp : {U'A', U'ß', U'€', U'😀'}) AppendUtf8(cp, out);
  EXPECT_EQ(out, "Aß€😀");
}

}  // namespace
}  // namespace ggufd::tokenizer
