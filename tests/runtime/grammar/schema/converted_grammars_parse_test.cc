// What the converters print is a grammar runtime/grammar's GBNF parser (the
// one a constraint goes through) accepts, including the constructs that
// nest deeply (long property names excluded from additionalProperties, long
// tuples, nested regex groups), which the converters split into rules.
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/grammar/gbnf_parser.h"
#include "runtime/grammar/schema/json_schema_to_gbnf.h"
#include "runtime/grammar/schema/regex_to_gbnf.h"

namespace ggufd::grammar {
namespace {

// Deepest parenthesis nesting in GBNF text, outside literals and classes.
int ParenDepth(std::string_view g) {
  int depth = 0, deepest = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    char c = g[i];
    if (c == '"' || c == '[') {
      char close = c == '"' ? '"' : ']';
      for (++i; i < g.size() && g[i] != close; ++i) {
        if (g[i] == '\\') ++i;
      }
    } else if (c == '(') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ')') {
      --depth;
    }
  }
  return deepest;
}

void ExpectParses(const absl::StatusOr<std::string>& g, std::string_view what) {
  ASSERT_TRUE(g.ok()) << what << ": " << g.status();
  EXPECT_LE(ParenDepth(*g), 24) << what << "\n" << *g;
  absl::StatusOr<Grammar> parsed = ParseGbnf(*g, 4 << 20);
  EXPECT_TRUE(parsed.ok()) << what << ": " << parsed.status() << "\n" << *g;
}

TEST(ConvertedGrammarsParse, Schemas) {
  const char* schemas[] = {
      "{}",
      R"({"type": "object", "properties": {"a": {"type": "integer", "minimum": -5,
          "maximum": 120}, "b": {"type": "string", "format": "date-time"},
          "c": {"type": "string", "format": "uuid"}, "d": {"enum": ["x", 1, null]},
          "e": {"type": "array", "items": {"type": "number"}, "minItems": 1,
          "maxItems": 4}, "f": {"type": "string", "pattern": "^[\\]\\-^a-z\\s.]+\"$"},
          "g": {"type": ["boolean", "null"]}, "h": {"type": "string", "maxLength": 9}},
          "required": ["b"], "additionalProperties": {"type": "string"}})",
      R"({"$defs": {"n": {"type": "object", "properties": {"k": {"type": "array",
          "items": {"$ref": "#/$defs/n"}}}}}, "$ref": "#/$defs/n"})",
      R"({"anyOf": [{"type": "string", "pattern": "a|b"}, {"allOf": [
          {"properties": {"x": {"const": 1}}}, {"properties": {"y": {}}}]}]})",
  };
  for (const char* s : schemas) ExpectParses(JsonSchemaToGbnf(s), s);

  std::string long_name(200, 'n');
  ExpectParses(JsonSchemaToGbnf(
                   absl::StrCat(R"({"properties": {")", long_name,
                                R"(": {}}, "additionalProperties": true})")),
               "long excluded name");
  std::string tuple = R"({"minItems": 0, "prefixItems": [)";
  for (int i = 0; i < 200; ++i)
    absl::StrAppend(&tuple, i ? "," : "", R"({"type": "null"})");
  ExpectParses(JsonSchemaToGbnf(tuple + "]}"), "long tuple");
}

TEST(ConvertedGrammarsParse, Regexes) {
  const char* patterns[] = {"^\\d{3}-[a-z]+(x|y)?$", "(ab|cd)*(?:e|)f",
                            "[\\]\\-^\"]\\.\\u00e9\\u{1F600}.",
                            "colou?r|gr[ae]y"};
  for (const char* p : patterns) ExpectParses(RegexToGbnf(p), p);
  std::string nested =
      std::string(100, '(') + "a|b" + std::string(100, ')') + "*";
  ExpectParses(RegexToGbnf(nested), "nested groups");
  std::string nested_alts;
  for (int i = 0; i < 60; ++i) nested_alts += "(x|y";
  nested_alts += std::string(60, ')');
  ExpectParses(RegexToGbnf(nested_alts), "nested alternations");
}

}  // namespace
}  // namespace ggufd::grammar
