// The GBNF parser: llama.cpp's own grammars parse, the syntax in its README
// works, and broken or hostile grammars are refused with the line, the
// column and the problem, quickly.
#include "runtime/grammar/gbnf_parser.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ggufd::grammar {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::filesystem::path GrammarsDir() {
  return std::filesystem::path(GGUFD_TESTDATA_DIR) / "llama.cpp-grammars";
}

std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// The message of a refused grammar (the test fails if it parses).
std::string Refusal(std::string_view text) {
  absl::StatusOr<Grammar> g = ParseGbnf(text);
  EXPECT_FALSE(g.ok()) << "parsed:\n" << text;
  if (g.ok()) return "";
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(g.status().message());
}

TEST(GbnfParserTest, EveryLlamaCppGrammarParses) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(GrammarsDir())) {
    if (entry.path().extension() != ".gbnf") continue;
    ++count;
    const std::string text = ReadFile(entry.path());
    absl::StatusOr<Grammar> g = ParseGbnf(text);
    ASSERT_TRUE(g.ok()) << entry.path() << ": " << g.status();
    EXPECT_EQ(g->rules[g->root].name, "root");
    // What the grammar prints as parses again to the same rules.
    absl::StatusOr<Grammar> again = ParseGbnf(g->ToGbnf());
    ASSERT_TRUE(again.ok()) << entry.path() << ": " << again.status() << "\n"
                            << g->ToGbnf();
    // The same rules, numbered in another order.
    EXPECT_EQ(SortedLines(again->ToGbnf()), SortedLines(g->ToGbnf()))
        << entry.path();
  }
  EXPECT_EQ(count, 8);  // MANIFEST.md lists eight
}

TEST(GbnfParserTest, ReadmeSyntax) {
  // Every construct of llama.cpp's grammars/README.md in one grammar.
  const char* text = R"(# a comment
root ::= (
    "1. " move " " move "\n"   # newlines inside parentheses
    ([1-9] [0-9]? ". " move "\n")+
  ) tail
move ::= [a-h] [1-8] [+#]? | "O-O" "-O"?
tail ::= [^\n]* "\t" . x{2} x{1,} x{0,3} x{2,4} esc |
  "alt after bar"
x ::= "x"
esc ::= "\x41\u00e9\U0001F600\\\"\[\]\r" [\x00-\x1F\u2028-\u2029] [ぁ-ゟ] <[12]> !<[13]> <think>
)";
  absl::StatusOr<Grammar> g = ParseGbnf(text);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->token_refs.size(), 3u);
  EXPECT_EQ(g->token_refs[0].id, 12);
  EXPECT_EQ(g->token_refs[1].id, 13);
  EXPECT_EQ(g->token_refs[2].text, "<think>");
  const std::string printed = g->ToGbnf();
  EXPECT_THAT(printed, HasSubstr("!<[13]>"));
  EXPECT_THAT(printed, HasSubstr("\\U0001F600"));
}

TEST(GbnfParserTest, CrLfLineEnds) {
  EXPECT_TRUE(ParseGbnf("root ::= a\r\na ::= \"x\"\r\n").ok());
}

TEST(GbnfParserTest, SyntaxErrorsNameLineAndColumn) {
  EXPECT_THAT(Refusal("root ::= \"a\"\nfoo = \"b\"\n"),
              HasSubstr("line 2, column 5: expecting '::='"));
  EXPECT_THAT(Refusal("root ::= (\"a\" | \"b\"\n"),
              HasSubstr("expecting ')' to close the '(' at line 1, column 10"));
  EXPECT_THAT(Refusal("root ::= \"abc"),
              HasSubstr("line 1, column 10: the string literal is not closed"));
  EXPECT_THAT(Refusal("root ::= [abc"),
              HasSubstr("the character class is not closed"));
  EXPECT_THAT(Refusal("root ::= \"\\q\""), HasSubstr("unknown escape \\'q'"));
  EXPECT_THAT(Refusal("root ::= \"\\x4\""),
              HasSubstr("expecting 2 hex digits after \\x"));
  EXPECT_THAT(Refusal("root ::= * \"a\""),
              HasSubstr("'*' has nothing before it to repeat"));
  EXPECT_THAT(Refusal("root ::= \"a\"{2,1}"),
              HasSubstr("the most is below the least"));
  EXPECT_THAT(Refusal("root ::= \"a\"{x}"), HasSubstr("expecting a number"));
  EXPECT_THAT(Refusal("root ::= \"a\" )"),
              HasSubstr("line 1, column 14: expecting the end of rule 'root'"));
  EXPECT_THAT(Refusal("root ::= []"), HasSubstr("empty character class"));
  EXPECT_THAT(Refusal("root ::= [z-a]"), HasSubstr("is reversed"));
  EXPECT_THAT(Refusal("root ::= <[12"), HasSubstr("expecting ']>'"));
  EXPECT_THAT(Refusal("root ::= <think"), HasSubstr("token is not closed"));
  EXPECT_THAT(Refusal("root ::= !\"a\""), HasSubstr("expecting '<' after '!'"));
  EXPECT_THAT(Refusal("root ::= \"\xC3\""), HasSubstr("invalid UTF-8"));
  // A `|` that starts a line at the top level ends the rule before it, as
  // in llama.cpp.
  EXPECT_THAT(Refusal("root ::= \"a\"\n  | \"b\"\n"),
              HasSubstr("line 2, column 3: expecting a rule name, found '|'"));
}

TEST(GbnfParserTest, ColumnsCountCharacters) {
  EXPECT_THAT(Refusal("root ::= \"é\" ?? )"), HasSubstr("line 1, column 17"));
}

TEST(GbnfParserTest, RuleErrors) {
  EXPECT_THAT(Refusal("root ::= item\n"),
              HasSubstr("line 1, column 10: rule 'item' is used but not "
                        "defined"));
  EXPECT_THAT(Refusal("item ::= \"a\"\n"), HasSubstr("no 'root' rule"));
  EXPECT_THAT(Refusal("root ::= \"a\"\nroot ::= \"b\"\n"),
              HasSubstr("line 2, column 1: rule 'root' is defined twice "
                        "(first at line 1, column 1)"));
  EXPECT_THAT(Refusal(""), HasSubstr("no 'root' rule"));
}

TEST(GbnfParserTest, LeftRecursionIsRefused) {
  EXPECT_THAT(Refusal("root ::= root \"a\" | \"b\""),
              HasSubstr("rule 'root' is left-recursive (root -> root"));
  EXPECT_THAT(Refusal("root ::= expr\nexpr ::= term \"+\" expr | term\n"
                      "term ::= expr \"*\" | \"1\""),
              HasSubstr("left-recursive (expr -> term -> expr"));
  // Through a rule that may match nothing (llama.cpp's check sees only
  // directly empty alternatives; this one hides behind a group).
  EXPECT_THAT(Refusal("root ::= a\na ::= b a \"x\" | \"y\"\nb ::= (\"z\")?"),
              HasSubstr("left-recursive"));
  // Right recursion is fine.
  EXPECT_TRUE(ParseGbnf("root ::= \"a\" root | \"b\"").ok());
}

TEST(GbnfParserTest, GrammarsThatCanNeverCompleteAreRefused) {
  EXPECT_THAT(Refusal("root ::= \"a\" root"),
              HasSubstr("rule 'root' can never complete"));
  EXPECT_THAT(Refusal("root ::= x\nx ::= \"a\" y\ny ::= \"b\" x"),
              HasSubstr("can never complete"));
  // An endless alternative beside a finite one is dropped, not followed.
  absl::StatusOr<Grammar> g =
      ParseGbnf("root ::= \"a\" | \"b\" loop\nloop ::= \"c\" loop");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->rules[g->root].alternatives.size(), 1u);
}

TEST(GbnfParserTest, PathologicalSizesAreRefusedQuickly) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(Refusal("root ::= \"a\"{100001}"),
              HasSubstr("repetition count above 10000"));
  EXPECT_THAT(Refusal("root ::= \"a\"{99999999999999999999}"),
              HasSubstr("repetition count above"));
  // Each repetition is within bounds; what they multiply to is not.
  EXPECT_THAT(Refusal("root ::= \"abcdefghij\"{10000}{10000}"),
              HasSubstr("more than 2000000 elements"));
  std::string many = "root ::=";
  for (int i = 0; i < 11; ++i) many += " \"a\"{0,10000}";
  EXPECT_THAT(Refusal(many), HasSubstr("more than 100000 rules"));
  std::string deep = "root ::= ";
  for (int i = 0; i < 100; ++i) deep += "(";
  deep += "\"a\"";
  for (int i = 0; i < 100; ++i) deep += ")";
  EXPECT_THAT(Refusal(deep), HasSubstr("nested deeper than 64"));
  EXPECT_THAT(Refusal(std::string(kMaxGrammarBytes + 1, ' ')),
              HasSubstr("at most 262144 are accepted"));
  EXPECT_THAT(Refusal(std::string("root ::= \"a\0\"", 14)),
              HasSubstr("NUL byte"));
  // A long chain of rules is checked without deep recursion.
  std::string chain;
  for (int i = 0; i < 10000; ++i) {
    chain +=
        "r" + std::to_string(i) + " ::= r" + std::to_string(i + 1) + " \"a\"\n";
  }
  chain += "r10000 ::= r0\nroot ::= r0\n";
  EXPECT_THAT(Refusal(chain), HasSubstr("left-recursive"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_LT(seconds, 10.0);
}

TEST(GbnfParserTest, RepetitionsExpandAsLlamaCpp) {
  absl::StatusOr<Grammar> g = ParseGbnf("root ::= \"a\"{2,4}");
  ASSERT_TRUE(g.ok()) << g.status();
  // Two copies, then two nested optional rules.
  EXPECT_EQ(g->ToGbnf(),
            "root ::= [a] [a] root--2\n"
            "root--1 ::= [a] | \"\"\n"
            "root--2 ::= [a] root--1 | \"\"\n");
}

}  // namespace
}  // namespace ggufd::grammar
