// The regex converter's output and refusals. Which strings the grammars
// match is compared with Python's re in tests/e2e/test_schema_grammar.py.
#include "runtime/grammar/schema/regex_to_gbnf.h"

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ggufd::grammar {
namespace {

using ::testing::HasSubstr;

// The grammar of a pattern whose output is the root rule alone.
std::string Root(std::string_view pattern) {
  absl::StatusOr<std::string> g = RegexToGbnf(pattern);
  EXPECT_TRUE(g.ok()) << pattern << ": " << g.status();
  if (!g.ok()) return "";
  std::string text = *g;
  EXPECT_EQ(text.rfind("root ::= ", 0), 0u) << text;
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "more than one rule:\n"
                                              << text;
  return text.substr(9, text.size() - 10);
}

std::string Error(std::string_view pattern) {
  absl::StatusOr<std::string> g = RegexToGbnf(pattern);
  EXPECT_FALSE(g.ok()) << pattern << " converted to " << *g;
  if (g.ok()) return "";
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(g.status().message());
}

TEST(RegexToGbnf, LiteralsMerge) {
  EXPECT_EQ(Root("abc"), R"("abc")");
  EXPECT_EQ(Root(""), R"("")");
  EXPECT_EQ(Root("a\"b\\\\c"), R"("a\"b\\c")");
  EXPECT_EQ(Root("\\.\\*\\?\\(\\)\\[\\]\\{\\}\\|\\/\\-"), R"(".*?()[]{}|/-")");
}

TEST(RegexToGbnf, ClassesAndEscapes) {
  EXPECT_EQ(Root("\\d{3}"), "[0-9]{3}");
  EXPECT_EQ(Root("\\w+"), "[0-9A-Z_a-z]+");
  EXPECT_EQ(Root("[^\\d]"), "[^0-9]");
  EXPECT_EQ(Root("[a-cx-z_]"), "[_a-cx-z]");
  EXPECT_EQ(Root("[\\]\\-^]"), R"([\x2D\]\x5E])");
  EXPECT_EQ(Root("[-a]"), R"([\x2Da])");
  EXPECT_EQ(
      Root("\\s"),
      R"([\t-\r \xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF])");
  EXPECT_EQ(Root("\\x41\\u00e9\\u{1F600}\\uD83D\\uDE00\\t\\n\\cJ\\0"),
            "\"Aé😀😀\\t\\n\\n\\x00\"");
  EXPECT_EQ(Root("[\\b]"), R"("\x08")");
  EXPECT_EQ(Root("."), R"([^\n\r\u2028\u2029])");
}

TEST(RegexToGbnf, GroupsAlternationAndQuantifiers) {
  EXPECT_EQ(Root("(ab|c)+d?"), R"(("ab" | "c")+ "d"?)");
  EXPECT_EQ(Root("(?:a|b|c)"), "[a-c]");
  EXPECT_EQ(Root("(?<year>\\d{4})-x"), R"([0-9]{4} "-x")");
  EXPECT_EQ(Root("a{2}b{1,}c{0,3}d{2,5}"), R"("a"{2} "b"+ "c"{0,3} "d"{2,5})");
  EXPECT_EQ(Root("a*?b+?c??d{2,3}?"), R"("a"* "b"+ "c"? "d"{2,3})");
  EXPECT_EQ(Root("a|"), R"("a"?)");
  // A brace that is no quantifier is a literal (ECMAScript Annex B).
  EXPECT_EQ(Root("a{,2}"), R"("a{,2}")");
}

TEST(RegexToGbnf, AnchorsAtTheEndsOnly) {
  EXPECT_EQ(Root("^abc$"), R"("abc")");
  EXPECT_EQ(Root("^a$|^b$"), "[ab]");
  EXPECT_THAT(Error("a^b"),
              HasSubstr("anchor ^ is only supported at the start"));
  EXPECT_THAT(Error("a$b"), HasSubstr("anchor $"));
  // Groups are transparent: (^a) still starts the pattern, a(^b) does not.
  EXPECT_EQ(Root("(^a)"), R"("a")");
  EXPECT_THAT(Error("a(^b)"), HasSubstr("anchor ^"));
  EXPECT_THAT(Error("^*"), HasSubstr("quantifier after an anchor"));
}

TEST(RegexToGbnf, UnsupportedConstructsAreNamed) {
  EXPECT_THAT(
      Error("(a)\\1"),
      HasSubstr("backreference \\1..\\9 is not supported at character 3"));
  EXPECT_THAT(Error("(?<n>a)\\k<n>"), HasSubstr("backreference \\k<name>"));
  EXPECT_THAT(Error("a(?=b)"), HasSubstr("lookahead"));
  EXPECT_THAT(Error("a(?!b)"), HasSubstr("lookahead"));
  EXPECT_THAT(Error("(?<=a)b"), HasSubstr("lookbehind"));
  EXPECT_THAT(Error("(?<!a)b"), HasSubstr("lookbehind"));
  EXPECT_THAT(Error("\\bword"), HasSubstr("word-boundary assertion \\b"));
  EXPECT_THAT(Error("\\Bx"), HasSubstr("word-boundary assertion \\B"));
  EXPECT_THAT(Error("\\p{Lu}"), HasSubstr("Unicode property escapes"));
  EXPECT_THAT(Error("(?i)a"), HasSubstr("unsupported group syntax"));
  EXPECT_THAT(Error("\\q"), HasSubstr("unsupported escape \\q"));
  EXPECT_THAT(Error("\\012"), HasSubstr("octal escape"));
}

TEST(RegexToGbnf, MalformedPatterns) {
  EXPECT_THAT(Error("(ab"), HasSubstr("missing ')'"));
  EXPECT_THAT(Error("ab)"), HasSubstr("unmatched ')'"));
  EXPECT_THAT(Error("[ab"), HasSubstr("missing ']'"));
  EXPECT_THAT(Error("*a"), HasSubstr("nothing to repeat"));
  EXPECT_THAT(Error("a**"), HasSubstr("nothing to repeat"));
  EXPECT_THAT(Error("a{3,2}"), HasSubstr("n < m"));
  EXPECT_THAT(Error("[z-a]"), HasSubstr("class range out of order"));
  EXPECT_THAT(Error("[\\d-z]"), HasSubstr("class range with \\d"));
  EXPECT_THAT(Error("\\x4"), HasSubstr("\\x needs two hex digits"));
  EXPECT_THAT(Error("\\u12"), HasSubstr("\\u needs four hex digits"));
  EXPECT_THAT(Error("a\\"), HasSubstr("pattern ends with '\\'"));
  // [] matches nothing, so the whole pattern matches nothing.
  EXPECT_THAT(Error("a[]"), HasSubstr("admits no finite document"));
}

TEST(RegexToGbnf, CountsAndNestingAreBounded) {
  EXPECT_EQ(Root("a{4096}"), R"("a"{4096})");
  EXPECT_THAT(Error("a{4097}"),
              HasSubstr("repetition count above the limit of 4096"));
  EXPECT_THAT(Error("a{0,99999999999999999999}"), HasSubstr("limit"));
  EXPECT_THAT(Error(std::string(200, '(') + std::string(200, ')')),
              HasSubstr("groups nested deeper than 128"));
  // Nested counts multiply the shortest match.
  EXPECT_THAT(Error("((a{4000}){4000}){4000}"), HasSubstr("shortest document"));
}

}  // namespace
}  // namespace ggufd::grammar
