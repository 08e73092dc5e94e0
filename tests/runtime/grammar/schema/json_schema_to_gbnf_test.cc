// The JSON Schema converter's output structure and its refusals. What the
// grammars accept is checked against independent validators in
// tests/e2e/test_schema_grammar.py.
#include "runtime/grammar/schema/json_schema_to_gbnf.h"

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ggufd::grammar {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string Convert(std::string_view schema) {
  absl::StatusOr<std::string> g = JsonSchemaToGbnf(schema);
  EXPECT_TRUE(g.ok()) << schema << "\n" << g.status();
  return g.ok() ? *g : "";
}

// The body of rule `name` in `grammar` ("" when absent).
std::string RuleBody(const std::string& grammar, const std::string& name) {
  std::string prefix = name + " ::= ";
  size_t start = 0;
  while (start < grammar.size()) {
    size_t end = grammar.find('\n', start);
    if (end == std::string::npos) end = grammar.size();
    if (grammar.compare(start, prefix.size(), prefix) == 0) {
      return grammar.substr(start + prefix.size(), end - start - prefix.size());
    }
    start = end + 1;
  }
  return "";
}

std::string Error(std::string_view schema) {
  absl::StatusOr<std::string> g = JsonSchemaToGbnf(schema);
  EXPECT_FALSE(g.ok()) << schema << " converted to\n" << *g;
  if (g.ok()) return "";
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument)
      << g.status();
  return std::string(g.status().message());
}

TEST(JsonSchemaToGbnf, RootComesFirstAndPrimitivesAreBuiltinRules) {
  std::string g = Convert(R"({"type": "string"})");
  EXPECT_THAT(g, StartsWith("root ::= string\n"));
  EXPECT_EQ(RuleBody(g, "string"), R"("\"" char* "\"")");
  EXPECT_EQ(RuleBody(Convert(R"({"type": "boolean"})"), "boolean"),
            R"("true" | "false")");
  EXPECT_EQ(RuleBody(Convert(R"({"type": "null"})"), "null"), R"("null")");
  EXPECT_EQ(
      RuleBody(Convert(R"({"type": "number"})"), "number"),
      R"("-"? integral-part ("." decimal-part)? ([Ee] [+\x2D]? integral-part)?)");
  EXPECT_EQ(RuleBody(Convert(R"({"type": "integer"})"), "integral-part"),
            R"("0" | [1-9] [0-9]{0,15})");
}

TEST(JsonSchemaToGbnf, WhitespaceIsBounded) {
  // A space, or one or two newlines and at most 20 blanks: never unbounded.
  std::string g = Convert(R"({"type": "object", "properties": {"a": {}}})");
  EXPECT_EQ(RuleBody(g, "space"), R"((" " | "\n"{1,2} [\t ]{0,20})?)");
}

TEST(JsonSchemaToGbnf, CharNeverMatchesALoneSurrogateEscape) {
  std::string body = RuleBody(Convert(R"({"type": "string"})"), "char");
  EXPECT_THAT(body,
              StartsWith(R"([^\x00-\x1F"\\\x7F] | "\\" (["\\bfnrt] | "u")"));
  // Escapes starting \uD8..\uDB must be followed by a low surrogate.
  EXPECT_THAT(body, HasSubstr(R"([Dd] [0-7] [0-9A-Fa-f]{2})"));
  EXPECT_THAT(
      body,
      HasSubstr(
          R"([Dd] [89ABab] [0-9A-Fa-f]{2} "\\u" [Dd] [C-Fc-f] [0-9A-Fa-f]{2})"));
}

TEST(JsonSchemaToGbnf, PropertiesKeepDeclaredOrder) {
  std::string g = Convert(R"({"type": "object",
      "properties": {"a": {"type": "integer"}, "b": {"type": "string"},
                     "c": {"type": "boolean"}},
      "required": ["b"]})");
  // a is optional before the required b; c optional after it.
  EXPECT_EQ(RuleBody(g, "root"),
            R"("{" space (a-kv a-rest | b-kv ("," space c-kv)?) space "}")");
  EXPECT_EQ(RuleBody(g, "a-rest"), R"("," space b-kv ("," space c-kv)?)");
  EXPECT_EQ(RuleBody(g, "a-kv"), R"("\"a\"" space ":" space integer)");
  EXPECT_EQ(RuleBody(g, "c-kv"), R"("\"c\"" space ":" space boolean)");
}

TEST(JsonSchemaToGbnf, AllOptionalPropertiesAndEmptyObjects) {
  std::string g = Convert(R"({"properties": {"a": {}, "b": {}}})");
  EXPECT_EQ(RuleBody(g, "root"),
            R"("{" space ((a-kv ("," space b-kv)? | b-kv) space)? "}")");
  EXPECT_EQ(
      RuleBody(Convert(R"({"type": "object", "additionalProperties": false})"),
               "root"),
      R"("{" space "}")");
  // Without properties or constraints: any object.
  EXPECT_EQ(RuleBody(Convert(R"({"type": "object"})"), "root"), "object");
  EXPECT_EQ(
      RuleBody(Convert(R"({"type": "object"})"), "object"),
      R"("{" space (string ":" space value ("," space string ":" space value)* space)? "}")");
}

TEST(JsonSchemaToGbnf, AdditionalPropertiesKeysAvoidDeclaredNames) {
  std::string g = Convert(R"({"type": "object",
      "properties": {"ab": {"type": "integer"}},
      "additionalProperties": {"type": "string"}})");
  EXPECT_EQ(
      RuleBody(g, "root"),
      R"("{" space ((ab-kv ("," space additional-kv)* | additional-kv ("," space additional-kv)*) space)? "}")");
  EXPECT_EQ(RuleBody(g, "additional-kv"), R"(additional-k ":" space string)");
  // "ab" itself is not a key; "a", "abc" and "b" are.
  EXPECT_EQ(
      RuleBody(g, "additional-k"),
      R"("\"" ("a" ("b" ([^\x00-\x1F"\\\x7F] | escaped-char) char* | ([^\x00-\x1F"\\b\x7F] | escaped-char) char*)? | ([^\x00-\x1F"\\a\x7F] | escaped-char) char*)? "\"")");
}

TEST(JsonSchemaToGbnf, RequiredWithoutSchemaUsesAdditionalProperties) {
  std::string g = Convert(R"({"type": "object", "required": ["x"],
                              "additionalProperties": {"type": "null"}})");
  EXPECT_EQ(RuleBody(g, "x-kv"), R"("\"x\"" space ":" space null)");
  EXPECT_THAT(Error(R"({"type": "object", "required": ["x"],
                        "additionalProperties": false})"),
              HasSubstr("no finite document"));
}

TEST(JsonSchemaToGbnf, EnumAndConstAreJsonLiterals) {
  EXPECT_EQ(
      RuleBody(Convert(R"({"enum": ["a", 1, null, {"x": [1.5]}, "é\n"]})"),
               "root"),
      R"("\"a\"" | "1" | "null" | "{\"x\":[1.5]}" | "\"é\\n\"")");
  EXPECT_EQ(RuleBody(Convert(R"({"const": true})"), "root"), R"("true")");
  // "type" filters the listed values; const and enum intersect.
  EXPECT_EQ(
      RuleBody(Convert(R"({"type": "string", "enum": ["a", 1, "b"]})"), "root"),
      R"("\"a\"" | "\"b\"")");
  EXPECT_EQ(
      RuleBody(Convert(R"({"type": "integer", "enum": [1.0, 1.5]})"), "root"),
      R"("1.0")");
  EXPECT_EQ(RuleBody(Convert(R"({"enum": [1, 2], "const": 2})"), "root"),
            R"("2")");
  EXPECT_THAT(Error(R"({"enum": ["a"], "maxLength": 3})"),
              HasSubstr("\"maxLength\" together with enum/const at #"));
}

TEST(JsonSchemaToGbnf, IntegerBounds) {
  EXPECT_EQ(
      RuleBody(Convert(R"({"type": "integer", "minimum": 0, "maximum": 120})"),
               "root"),
      R"([0-9] | [1-9] [0-9] | "1" ([01] [0-9] | "20"))");
  EXPECT_EQ(
      RuleBody(Convert(R"({"type": "integer", "minimum": -5, "maximum": 5})"),
               "root"),
      R"("-" [1-5] | [0-5])");
  // Exclusive bounds, numeric (draft 6+) and boolean (draft 4), and
  // fractional bounds round inwards.
  EXPECT_EQ(RuleBody(Convert(R"({"type": "integer", "exclusiveMinimum": 0,
                                  "exclusiveMaximum": 10})"),
                     "root"),
            "[1-9]");
  EXPECT_EQ(
      RuleBody(
          Convert(R"({"type": "integer", "minimum": 0, "exclusiveMinimum": true,
                                  "maximum": 10, "exclusiveMaximum": true})"),
          "root"),
      "[1-9]");
  EXPECT_EQ(
      RuleBody(
          Convert(R"({"type": "integer", "minimum": 0.5, "maximum": 9.5})"),
          "root"),
      "[1-9]");
  // One open side: at most 16 digits there, as unbounded integers.
  EXPECT_EQ(RuleBody(Convert(R"({"type": "integer", "minimum": 10})"), "root"),
            R"([1-9] [0-9] | [1-9] [0-9]{2,15})");
  // Without "type", numeric bounds mean an integer (as llama.cpp).
  EXPECT_EQ(RuleBody(Convert(R"({"maximum": -3})"), "root"),
            R"("-" ([3-9] | [1-9] [0-9]{1,15}))");
  EXPECT_THAT(Error(R"({"type": "integer", "minimum": 3, "maximum": 2})"),
              HasSubstr("no finite document"));
  EXPECT_THAT(
      Error(R"({"type": "integer", "minimum": 1e30})"),
      HasSubstr("minimum 1e+30 at # is outside the supported integer range"));
  EXPECT_THAT(Error(R"({"type": "number", "minimum": 0})"),
              HasSubstr("only supported for \"type\": \"integer\""));
}

TEST(JsonSchemaToGbnf, ArraysWithCounts) {
  std::string g = Convert(R"({"type": "array", "items": {"type": "boolean"},
                              "minItems": 2, "maxItems": 3})");
  EXPECT_EQ(RuleBody(g, "root"),
            R"("[" space boolean ("," space boolean){1,2} space "]")");
  EXPECT_EQ(RuleBody(Convert(R"({"type": "array", "items": {"type": "null"}})"),
                     "root"),
            R"("[" space (null ("," space null)* space)? "]")");
  EXPECT_EQ(RuleBody(Convert(R"({"type": "array", "maxItems": 0})"), "root"),
            R"("[" space "]")");
  EXPECT_EQ(RuleBody(Convert(R"({"type": "array"})"), "root"), "array");
  // Complex items get a rule of their own.
  EXPECT_EQ(RuleBody(Convert(R"({"type": "array", "items": {"type": "array",
                                  "items": {"type": "integer"}}, "minItems": 1})"),
                     "root"),
            R"("[" space item ("," space item)* space "]")");
}

TEST(JsonSchemaToGbnf, Tuples) {
  EXPECT_EQ(RuleBody(Convert(R"({"prefixItems": [{"type": "integer"},
                                                  {"type": "string"}]})"),
                     "root"),
            R"("[" space integer "," space string space "]")");
  // minItems opens the tail of the tuple, items extends it.
  EXPECT_EQ(
      RuleBody(
          Convert(R"({"prefixItems": [{"type": "integer"}, {"type": "string"}],
                                  "minItems": 1, "items": {"type": "null"}})"),
          "root"),
      R"("[" space integer ("," space string ("," space null)*)? space "]")");
  // The draft 4-2019 spelling.
  EXPECT_EQ(RuleBody(Convert(R"({"items": [{"type": "integer"}],
                                  "additionalItems": {"type": "null"}, "maxItems": 2})"),
                     "root"),
            R"("[" space integer ("," space null)? space "]")");
  // A position no value fits ends the array there.
  EXPECT_EQ(RuleBody(Convert(R"({"prefixItems": [{"type": "integer"}, false],
                                  "minItems": 0})"),
                     "root"),
            R"("[" space (integer space)? "]")");
}

TEST(JsonSchemaToGbnf, StringLengthsFormatsAndPatterns) {
  EXPECT_EQ(
      RuleBody(Convert(R"({"type": "string", "minLength": 1, "maxLength": 3})"),
               "root"),
      R"("\"" char{1,3} "\"")");
  std::string g = Convert(R"({"type": "string", "format": "date-time"})");
  EXPECT_EQ(RuleBody(g, "root"), R"("\"" date-time "\"")");
  EXPECT_EQ(RuleBody(g, "date-time"), R"(date "T" time)");
  EXPECT_THAT(RuleBody(g, "date"), HasSubstr(R"("-02-29")"));
  EXPECT_EQ(
      RuleBody(Convert(R"({"type": "string", "format": "uuid4"})"), "uuid"),
      R"([0-9A-Fa-f]{8} "-" [0-9A-Fa-f]{4} "-" [0-9A-Fa-f]{4} "-" [0-9A-Fa-f]{4} "-" [0-9A-Fa-f]{12})");
  // A pattern is a search unless anchored, over the JSON-encoded string.
  EXPECT_EQ(
      RuleBody(Convert(R"({"type": "string", "pattern": "^ab+$"})"), "root"),
      R"("\"a" "b"+ "\"")");
  EXPECT_EQ(
      RuleBody(Convert(R"({"type": "string", "pattern": "a\"\\\\"})"), "root"),
      R"("\"" char* "a\\\"\\\\" char* "\"")");
  EXPECT_EQ(
      RuleBody(Convert(R"({"type": "string", "pattern": "^\\n\\u0001$"})"),
               "root"),
      R"("\"" pattern-char "\\u0001\"")");
  g = Convert(R"({"type": "object", "properties": {"s": {"type": "string",
                   "pattern": "^.$"}}})");
  EXPECT_EQ(RuleBody(g, "s"), R"("\"" s-char "\"")");
  EXPECT_THAT(RuleBody(g, "s-char"),
              StartsWith(R"([^\x00-\x1F"\\\x7F\u2028\u2029])"));
}

TEST(JsonSchemaToGbnf, StringKeywordCombinationsAreRefused) {
  EXPECT_THAT(
      Error(R"({"type": "string", "pattern": "^a+$", "maxLength": 4})"),
      HasSubstr("combining pattern, format and minLength/maxLength at #"));
  EXPECT_THAT(Error(R"({"type": "string", "format": "email"})"),
              AllOf(HasSubstr("format \"email\" at #"),
                    HasSubstr("supported: date, time, date-time, uuid")));
  EXPECT_THAT(
      Error(R"js({"properties": {"p": {"type": "string",
                                               "pattern": "(?=x)"}}})js"),
      AllOf(HasSubstr("pattern at #/properties/p"), HasSubstr("lookahead")));
}

TEST(JsonSchemaToGbnf, TypeListsAndInferredTypes) {
  std::string g = Convert(R"({"type": ["string", "null"], "maxLength": 2})");
  // Each type of a list is a rule; "string" is a fixed rule's name, so this
  // one is "string-".
  EXPECT_EQ(RuleBody(g, "root"), "string- | null");
  EXPECT_EQ(RuleBody(g, "string-"), R"("\"" char{0,2} "\"")");
  EXPECT_EQ(RuleBody(Convert(R"({"type": ["integer", "number"]})"), "root"),
            "number");
  EXPECT_EQ(RuleBody(Convert("{}"), "root"), "value");
  EXPECT_EQ(RuleBody(Convert("true"), "root"), "value");
  EXPECT_EQ(RuleBody(Convert(R"({"description": "anything"})"), "root"),
            "value");
  EXPECT_EQ(RuleBody(Convert(R"({"maxLength": 1})"), "root"),
            R"("\"" char? "\"")");
  EXPECT_THAT(Error(R"({"type": "text"})"),
              HasSubstr("type at # must be one of"));
  EXPECT_THAT(Error("false"), HasSubstr("no finite document"));
}

TEST(JsonSchemaToGbnf, RefsAndRecursion) {
  std::string g = Convert(R"({"$defs": {"node": {"type": "object",
      "properties": {"next": {"$ref": "#/$defs/node"}}}}, "$ref": "#/$defs/node"})");
  EXPECT_EQ(RuleBody(g, "root"), "node");
  EXPECT_EQ(RuleBody(g, "node"), R"("{" space (node-next-kv space)? "}")");
  EXPECT_EQ(RuleBody(g, "node-next-kv"), R"("\"next\"" space ":" space node)");
  // definitions, "#" itself, escaped pointer tokens, the root's $id.
  g = Convert(
      R"({"$id": "https://x.test/s.json", "definitions": {"a/b": {"type": "null"}},
                  "type": "object", "properties": {
                    "p": {"$ref": "#/definitions/a~1b"},
                    "q": {"$ref": "https://x.test/s.json#/definitions/a~1b"},
                    "r": {"type": "array", "items": {"$ref": "#"}}}})");
  EXPECT_EQ(RuleBody(g, "p-kv"), R"("\"p\"" space ":" space a-b)");
  EXPECT_EQ(RuleBody(g, "q-kv"), R"("\"q\"" space ":" space a-b)");
  EXPECT_EQ(RuleBody(g, "schema-r-kv"), R"("\"r\"" space ":" space schema-r)");
  EXPECT_EQ(RuleBody(g, "schema-r"),
            R"("[" space (schema ("," space schema)* space)? "]")");
}

TEST(JsonSchemaToGbnf, BadRefsAreRefused) {
  EXPECT_THAT(
      Error(R"({"$ref": "https://example.com/s.json"})"),
      HasSubstr("$ref \"https://example.com/s.json\" at # is not supported"));
  EXPECT_THAT(Error(R"({"properties": {"a": {"$ref": "#anchor"}}})"),
              AllOf(HasSubstr("at #/properties/a"), HasSubstr("anchors")));
  EXPECT_THAT(Error(R"({"$ref": "#/$defs/missing"})"),
              HasSubstr("points to nothing in the document"));
  // A cycle that never consumes a character would make a left-recursive
  // grammar; one through an object or array is fine (above).
  EXPECT_THAT(
      Error(
          R"({"$defs": {"a": {"anyOf": [{"$ref": "#/$defs/a"}, {"type": "null"}]}},
                        "$ref": "#/$defs/a"})"),
      HasSubstr("$ref cycle through \"#/$defs/a\""));
  // A required recursion has no finite document.
  EXPECT_THAT(Error(R"({"type": "object", "properties": {"a": {"$ref": "#"}},
                        "required": ["a"]})"),
              HasSubstr("no finite document"));
}

TEST(JsonSchemaToGbnf, UnionsAndImpossibleBranches) {
  std::string g =
      Convert(R"({"oneOf": [{"type": "object", "properties": {"a": {}}},
                                         {"type": "string"}, {"enum": []}]})");
  EXPECT_EQ(RuleBody(g, "root"), "alternative-0 | string");
  // Sibling keywords apply to every branch.
  g = Convert(R"({"type": "object", "properties": {"k": {"type": "integer"}},
                  "required": ["k"], "anyOf": [{"properties": {"a": {"type": "null"}},
                  "required": ["a"]}, {"properties": {"b": {"type": "null"}}, "required": ["b"]}]})");
  EXPECT_EQ(RuleBody(g, "root"), "alternative-0 | alternative-1");
  EXPECT_EQ(
      RuleBody(g, "alternative-0"),
      R"("{" space alternative-0-k-kv "," space alternative-0-a-kv space "}")");
}

TEST(JsonSchemaToGbnf, AllOfMerges) {
  std::string g = Convert(R"({"$defs": {"base": {"type": "object",
      "properties": {"id": {"type": "integer"}}, "required": ["id"]}},
      "allOf": [{"$ref": "#/$defs/base"},
                {"properties": {"tag": {"type": "string"}}, "required": ["tag"]}]})");
  EXPECT_EQ(RuleBody(g, "root"),
            R"("{" space id-kv "," space tag-kv space "}")");
  EXPECT_EQ(RuleBody(Convert(R"({"allOf": [{"type": ["integer", "string"]},
                                            {"type": ["number", "null"]}]})"),
                     "root"),
            "integer");
  EXPECT_EQ(RuleBody(Convert(R"({"allOf": [{"type": "integer", "minimum": 1},
                                            {"maximum": 3, "minimum": 2}]})"),
                     "root"),
            "[23]");
  EXPECT_THAT(Error(R"({"allOf": [{"type": "string", "pattern": "a"},
                                  {"type": "string", "pattern": "b"}]})"),
              HasSubstr("allOf combines two different \"pattern\" values"));
  EXPECT_THAT(Error(R"({"allOf": [{"type": "string"}, {"type": "integer"}]})"),
              HasSubstr("no finite document"));
  // $ref with siblings is an allOf.
  EXPECT_EQ(RuleBody(Convert(R"({"$defs": {"n": {"type": "integer"}},
                                  "$ref": "#/$defs/n", "minimum": 0, "maximum": 3})"),
                     "root"),
            "[0-3]");
}

TEST(JsonSchemaToGbnf, UnsupportedKeywordsAreNamedWithTheirPlace) {
  struct Case {
    const char* schema;
    const char* message;
  };
  const Case cases[] = {
      {R"({"properties": {"a": {"not": {}}}})",
       "keyword \"not\" at #/properties/a is not supported"},
      {R"({"items": {"if": {}, "then": {}}})", "keyword \"if\" at #/items"},
      {R"({"type": "object", "patternProperties": {}})",
       "\"patternProperties\" at #"},
      {R"({"type": "object", "minProperties": 1})", "\"minProperties\" at #"},
      {R"({"type": "array", "contains": {}})", "\"contains\" at #"},
      {R"({"type": "array", "uniqueItems": true})",
       "\"uniqueItems\": true at #"},
      {R"({"type": "integer", "multipleOf": 2})", "\"multipleOf\" at #"},
      {R"({"anyOf": [{"type": "string", "contentEncoding": "base64"}]})",
       "\"contentEncoding\" at #/anyOf/0"},
      {R"({"$defs": {"x": {"$anchor": "a"}}, "$ref": "#/$defs/x"})",
       "\"$anchor\" at #/$defs/x"},
      {R"({"type": "string", "nullable": true})", "\"nullable\" at #"},
      {R"({"type": "string", "x-extension": 1})",
       "\"x-extension\" at # is not supported: unknown keyword"},
      {R"({"properties": {"a~b/c": {"$id": "x"}}})",
       "\"$id\" at #/properties/a~0b~1c"},
  };
  for (const Case& c : cases)
    EXPECT_THAT(Error(c.schema), HasSubstr(c.message)) << c.schema;
  // uniqueItems: false is no constraint at all.
  EXPECT_EQ(
      RuleBody(Convert(R"({"type": "array", "uniqueItems": false})"), "root"),
      "array");
}

TEST(JsonSchemaToGbnf, AnnotationsAreIgnored) {
  std::string plain = Convert(
      R"({"type": "object", "properties": {"a": {"type": "integer"}}})");
  std::string annotated = Convert(R"({
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "$id": "https://x.test/s", "title": "t", "description": "d", "$comment": "c",
      "examples": [{"a": 1}], "default": {}, "deprecated": false,
      "type": "object", "properties": {"a": {"type": "integer", "readOnly": true,
      "writeOnly": false, "title": "A", "default": 2}}})");
  EXPECT_EQ(plain, annotated);
}

TEST(JsonSchemaToGbnf, SizesAreBounded) {
  EXPECT_THAT(Error(R"({"type": "string", "maxLength": 100000})"),
              HasSubstr("maxLength 100000 at # exceeds the limit of 4096"));
  EXPECT_THAT(Error(R"({"type": "array", "minItems": 1e300})"),
              HasSubstr("minItems 1e+300 at # exceeds the limit"));
  EXPECT_THAT(Error(R"({"type": "array", "minItems": -1})"),
              HasSubstr("minItems at # must be a non-negative integer"));
  EXPECT_THAT(Error(std::string(300, '[') + std::string(300, ']')),
              HasSubstr("nested deeper than 256"));
  EXPECT_THAT(Error(std::string(2 << 20, ' ') + "{}"),
              HasSubstr("exceeds the limit"));
  // Nested minimum counts: the shortest document is far too long.
  EXPECT_THAT(
      Error(R"({"type": "array", "minItems": 4000, "items": {"type": "array",
                        "minItems": 4000, "items": {"type": "string", "minLength": 4000}}})"),
      HasSubstr("the shortest document the schema admits has"));
  // A schema that expands past the element limit once repetitions are
  // copied.
  std::string wide = R"({"type": "object", "properties": {)";
  for (int i = 0; i < 300; ++i) {
    absl::StrAppend(&wide, i ? "," : "", "\"p", i,
                    R"(": {"type": "string", "maxLength": )", 4096 - i, "}");
  }
  absl::StrAppend(&wide, "}}");
  EXPECT_THAT(Error(wide), HasSubstr("once repetitions are expanded"));
  EXPECT_THAT(Error("{"), HasSubstr("schema is not valid JSON"));
  EXPECT_THAT(Error("[1]"),
              HasSubstr("a schema must be an object or a boolean (at #)"));
}

TEST(JsonSchemaToGbnf, OutputHasNoUnreachableOrUndefinedRules) {
  std::string g =
      Convert(R"({"$defs": {"unused": {"type": "string", "format": "date"}},
                              "type": "object", "properties": {"n": {"type": "integer"}}})");
  EXPECT_THAT(g, Not(HasSubstr("date")));
  EXPECT_THAT(g, Not(HasSubstr("unused")));
}

}  // namespace
}  // namespace ggufd::grammar
