// The grammar matcher on hand-made cases: which texts a grammar admits,
// where it may end and where it is complete, characters split across
// tokens, token references, the allowed-token masks of a small vocabulary,
// and the bound on ambiguity.
#include "runtime/grammar/matcher.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/grammar/gbnf_parser.h"

namespace ggufd::grammar {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const Grammar> Compile(std::string_view text) {
  absl::StatusOr<Grammar> g = ParseGbnf(text);
  EXPECT_TRUE(g.ok()) << g.status();
  if (!g.ok()) return nullptr;
  return std::make_shared<const Grammar>(std::move(*g));
}

std::string ReadGrammar(const std::string& name) {
  std::ifstream in(std::filesystem::path(GGUFD_TESTDATA_DIR) /
                   "llama.cpp-grammars" / name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::unique_ptr<Matcher> TextMatcher(std::string_view gbnf) {
  auto grammar = Compile(gbnf);
  if (grammar == nullptr) return nullptr;
  auto m = Matcher::Create(grammar, nullptr);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? std::move(*m) : nullptr;
}

// Whether the whole of `text`, fed in one piece, is a sentence of `gbnf`.
bool IsSentence(std::string_view gbnf, std::string_view text) {
  auto m = TextMatcher(gbnf);
  return m->AcceptBytes(text).ok() && m->CanEnd();
}

// Whether `text` is a prefix of some sentence.
bool IsPrefix(std::string_view gbnf, std::string_view text) {
  auto m = TextMatcher(gbnf);
  return m->AcceptBytes(text).ok();
}

TEST(MatcherTest, LiteralsClassesAndRepetitions) {
  const char* g = "root ::= \"ab\" [0-9]+ (\"x\" | \"yz\")? [^a-c]{2,3} .";
  EXPECT_TRUE(IsSentence(g, "ab1x__!"));
  EXPECT_TRUE(IsSentence(g, "ab123yzdd\n"));
  EXPECT_TRUE(IsSentence(g, "ab9ddd\xE2\x82\xAC"));  // any char: a euro sign
  EXPECT_FALSE(IsSentence(g, "ab1x_"));              // "." missing
  EXPECT_FALSE(IsSentence(g, "abx__!"));             // no digit
  EXPECT_FALSE(IsPrefix(g, "ab1xa"));                // [^a-c]
  EXPECT_FALSE(IsPrefix(g, "ab1xdddd!"));            // {2,3} then one more
  EXPECT_TRUE(IsPrefix(g, "ab12y"));
  EXPECT_FALSE(IsPrefix(g, "b"));
}

TEST(MatcherTest, CanEndAndComplete) {
  auto m = TextMatcher("root ::= \"a\" \"b\"?");
  EXPECT_FALSE(m->CanEnd());
  EXPECT_FALSE(m->IsComplete());
  ASSERT_TRUE(m->AcceptBytes("a").ok());
  EXPECT_TRUE(m->CanEnd());
  EXPECT_FALSE(m->IsComplete());  // "b" may follow
  ASSERT_TRUE(m->AcceptBytes("b").ok());
  EXPECT_TRUE(m->CanEnd());
  EXPECT_TRUE(m->IsComplete());
  EXPECT_FALSE(m->AllowsBytes("b").value());
  EXPECT_FALSE(m->AcceptBytes("b").ok());
  // A refused text leaves the state as it was.
  EXPECT_TRUE(m->IsComplete());
}

TEST(MatcherTest, JsonGrammar) {
  const std::string g = ReadGrammar("json.gbnf");
  EXPECT_TRUE(IsSentence(g, R"({"a": [1, 2.5, -3e5, "x\"y\u00e9"], "b": {}})"));
  EXPECT_TRUE(IsSentence(g, "{\n  \"k\": true}"));
  EXPECT_TRUE(IsSentence(g, "{\"caf\xC3\xA9\": null} "));
  EXPECT_FALSE(IsPrefix(g, "[1]"));  // root is an object
  EXPECT_FALSE(IsPrefix(g, "{\"a\" 1"));
  EXPECT_FALSE(IsPrefix(g, "{\"a\": 01"));
  EXPECT_FALSE(IsPrefix(g, "{\"a\":\"\x01"));  // control character
  EXPECT_TRUE(IsPrefix(g, "{\"a\": [1, {\"b\": [[[["));
  // After the closing brace only whitespace may follow, up to a newline
  // and 20 tabs or spaces; then nothing.
  auto m = TextMatcher(g);
  ASSERT_TRUE(m->AcceptBytes("{}").ok());
  EXPECT_TRUE(m->CanEnd());
  EXPECT_FALSE(m->IsComplete());
  ASSERT_TRUE(m->AcceptBytes("\n" + std::string(20, ' ')).ok());
  EXPECT_TRUE(m->IsComplete());
}

TEST(MatcherTest, OtherLlamaCppGrammars) {
  EXPECT_TRUE(IsSentence(ReadGrammar("arithmetic.gbnf"), "x*(1+2)=y\n"));
  EXPECT_FALSE(IsPrefix(ReadGrammar("arithmetic.gbnf"), "=1"));
  EXPECT_TRUE(IsSentence(ReadGrammar("chess.gbnf"),
                         "1. e4 e5\n2. Nf3 Nc6\n3. O-O-O Qxd8+\n"));
  EXPECT_TRUE(IsSentence(ReadGrammar("list.gbnf"), "- one\n- two\n"));
  EXPECT_FALSE(IsPrefix(ReadGrammar("list.gbnf"), "- a\xE2\x80\xA8"));
  EXPECT_TRUE(IsSentence(ReadGrammar("japanese.gbnf"),
                         "\xE3\x81\x93\xE3\x82\x93\xE3\x81\xAB\xE3\x81\xA1"
                         "\xE3\x81\xAF"));  // こんにちは
  EXPECT_TRUE(IsSentence(ReadGrammar("c.gbnf"), "int main(){return 0;}"));
  EXPECT_TRUE(IsSentence(ReadGrammar("json_arr.gbnf"), "[\n1,\n\"a\"]"));
  EXPECT_TRUE(IsSentence(ReadGrammar("english.gbnf"), "Hello, world!"));
}

TEST(MatcherTest, CharactersSplitAcrossTokens) {
  // é is C3 A9; € is E2 82 AC; 😀 is F0 9F 98 80.
  const char* g = "root ::= [é€😀]+";
  auto m = TextMatcher(g);
  EXPECT_TRUE(m->AllowsBytes("\xC3").value());
  EXPECT_FALSE(m->AllowsBytes("\xC4").value());  // U+0100.. is not in it
  ASSERT_TRUE(m->AcceptBytes("\xC3").ok());
  EXPECT_FALSE(m->CanEnd());                     // nothing whole yet
  EXPECT_FALSE(m->AllowsBytes("\xA8").value());  // è
  EXPECT_FALSE(m->AllowsBytes("a").value());     // a carry-over must continue
  ASSERT_TRUE(m->AcceptBytes("\xA9\xE2").ok());  // é, then half of €
  ASSERT_TRUE(m->AcceptBytes("\x82").ok());
  ASSERT_TRUE(m->AcceptBytes("\xAC\xF0\x9F").ok());
  ASSERT_TRUE(m->AcceptBytes("\x98\x80").ok());
  EXPECT_TRUE(m->CanEnd());
  // A continuation byte where a character starts rejects the token.
  EXPECT_FALSE(m->AllowsBytes("\xA9").value());
}

TEST(MatcherTest, PendingCharacterAgainstNegatedClassIsCheckedAsLlamaCpp) {
  // llama.cpp refuses a token that ends inside a character when the
  // character could become one the negated class excludes (U+2028 here),
  // even though other completions would be fine; the whole character in
  // one token is fine.
  auto m = TextMatcher("root ::= [^\\u2028]+");
  EXPECT_FALSE(m->AllowsBytes("\xE2").value());
  EXPECT_FALSE(m->AllowsBytes("\xE2\x80").value());
  EXPECT_TRUE(m->AllowsBytes("\xE2\x80\x9C").value());
  EXPECT_TRUE(m->AllowsBytes("\xE3").value());
}

// A vocabulary of a few pieces; the last is an end-of-generation token.
std::shared_ptr<const TokenTrie> SmallVocab(std::vector<std::string> pieces) {
  std::vector<bool> eog(pieces.size(), false);
  eog.back() = true;
  return std::make_shared<const TokenTrie>(
      TokenTrie::Build(std::move(pieces), eog));
}

std::vector<int32_t> Allowed(Matcher& m, int32_t vocab) {
  auto bits = m.AllowedTokens();
  EXPECT_TRUE(bits.ok()) << bits.status();
  std::vector<int32_t> ids;
  for (int32_t i = 0; i < vocab; ++i) {
    if (((*bits.value())[i / 64] >> (i % 64)) & 1) ids.push_back(i);
  }
  return ids;
}

TEST(MatcherTest, TokenMasksOfASmallVocabulary) {
  //                  0     1    2      3     4         5       6  7
  auto vocab = SmallVocab({"a", "b", "ab", "abc", "\xC3", "\xA9", "", "</s>"});
  auto m = Matcher::Create(Compile("root ::= \"a\" \"b\"* [é]?"), vocab);
  ASSERT_TRUE(m.ok()) << m.status();
  Matcher& mm = **m;
  EXPECT_THAT(Allowed(mm, 8), ::testing::ElementsAre(0, 2));
  ASSERT_TRUE(mm.Accept(2).ok());  // "ab"
  // More b, the first half of é, or the end.
  EXPECT_THAT(Allowed(mm, 8), ::testing::ElementsAre(1, 4, 7));
  EXPECT_FALSE(mm.Allows(5).value());
  ASSERT_TRUE(mm.Accept(4).ok());
  EXPECT_THAT(Allowed(mm, 8), ::testing::ElementsAre(5));
  EXPECT_FALSE(mm.Allows(7).value());  // not at the end of a character
  ASSERT_TRUE(mm.Accept(5).ok());
  EXPECT_TRUE(mm.IsComplete());
  EXPECT_THAT(Allowed(mm, 8), ::testing::ElementsAre(7));
  EXPECT_TRUE(mm.Accept(7).ok());
  EXPECT_FALSE(mm.Accept(0).ok());
  EXPECT_THAT(std::string(mm.Accept(0).message()),
              HasSubstr("does not continue"));
}

TEST(MatcherTest, TokenReferences) {
  //                          0    1          2           3     4
  auto vocab = SmallVocab({"x", "<think>", "</think>", "\xC3", "</s>"});
  auto grammar = Compile("root ::= <think> !<[2]>* <[2]> \"x\"");
  auto ids = ResolveTokenRefs(
      *grammar, vocab->vocab_size(),
      [](std::string_view text) -> absl::StatusOr<std::vector<int32_t>> {
        if (text == "<think>") return std::vector<int32_t>{1};
        return std::vector<int32_t>{0, 0};
      });
  ASSERT_TRUE(ids.ok()) << ids.status();
  auto m = Matcher::Create(grammar, vocab, *ids);
  ASSERT_TRUE(m.ok()) << m.status();
  Matcher& mm = **m;
  EXPECT_THAT(Allowed(mm, 5), ::testing::ElementsAre(1));
  ASSERT_TRUE(mm.Accept(1).ok());
  // Any token but </think> (and not half a character, nor the end token),
  // or </think>.
  EXPECT_THAT(Allowed(mm, 5), ::testing::ElementsAre(0, 1, 2));
  ASSERT_TRUE(mm.Accept(0).ok());
  ASSERT_TRUE(mm.Accept(1).ok());
  ASSERT_TRUE(mm.Accept(2).ok());
  EXPECT_THAT(Allowed(mm, 5), ::testing::ElementsAre(0));
  ASSERT_TRUE(mm.Accept(0).ok());
  EXPECT_TRUE(mm.IsComplete());

  // A token text that is not one token, and an id outside the vocabulary.
  auto bad = ResolveTokenRefs(
      *Compile("root ::= <nope>"), 5,
      [](std::string_view) -> absl::StatusOr<std::vector<int32_t>> {
        return std::vector<int32_t>{0, 0};
      });
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("<nope> is not one token of the model's vocabulary"));
  EXPECT_THAT(ResolveTokenRefs(*Compile("root ::= <[9]>"), 5, nullptr)
                  .status()
                  .message(),
              HasSubstr("outside the vocabulary of 5 tokens"));
}

TEST(MatcherTest, MaskLogits) {
  auto vocab = SmallVocab({"a", "b", "</s>"});
  auto m = Matcher::Create(Compile("root ::= \"a\""), vocab);
  ASSERT_TRUE(m.ok());
  std::vector<float> logits = {1, 2, 3};
  ASSERT_TRUE((*m)->MaskLogits(absl::MakeSpan(logits)).ok());
  EXPECT_EQ(logits[0], 1);
  EXPECT_TRUE(std::isinf(logits[1]) && logits[1] < 0);
  EXPECT_TRUE(std::isinf(logits[2]) && logits[2] < 0);
  // A grammar the vocabulary cannot write.
  auto none = Matcher::Create(Compile("root ::= \"z\""), vocab);
  std::vector<float> more = {1, 2, 3};
  EXPECT_THAT(std::string((*none)->MaskLogits(absl::MakeSpan(more)).message()),
              HasSubstr("admits no token"));
}

TEST(MatcherTest, AmbiguityIsBounded) {
  // Each "a" doubles the ways to parse (each level may end in "b" or
  // "c"): a clear error, not a blow-up.
  auto grammar =
      Compile("root ::= x\nx ::= \"a\" x \"b\" | \"a\" x \"c\" | \"d\"");
  auto m = Matcher::Create(grammar, nullptr, {}, {.max_stacks = 64});
  ASSERT_TRUE(m.ok()) << m.status();
  absl::Status s;
  for (int i = 0; i < 200 && s.ok(); ++i) s = (*m)->AcceptBytes("a");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(s.message()), HasSubstr("too ambiguous"));
  // And it stays failed.
  EXPECT_FALSE((*m)->AllowsBytes("a").ok());
}

TEST(MatcherTest, DeepNestingKeepsWorking) {
  // Thousands of open brackets: the pools grow, and compaction between
  // tokens keeps them bounded without changing what is admitted.
  auto m = Matcher::Create(Compile(ReadGrammar("json_arr.gbnf")), nullptr, {},
                           {.max_states = 512});
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*m)->AcceptBytes("[\n").ok());
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE((*m)->AcceptBytes("[").ok()) << i;
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE((*m)->AcceptBytes("]").ok()) << i;
  ASSERT_TRUE((*m)->AcceptBytes("]").ok());
  EXPECT_TRUE((*m)->IsComplete());
}

}  // namespace
}  // namespace ggufd::grammar
