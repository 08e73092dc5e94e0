#include "runtime/grammar/schema/schema_keywords.h"

#include <string_view>
#include <utility>

namespace ggufd::grammar::schema {
namespace {

struct Entry {
  std::string_view keyword;
  KeywordKind kind;
};

constexpr Entry kKeywords[] = {
    // Annotations. "$id" is only accepted at the root (the converter checks)
    // and "discriminator" (OpenAPI, emitted by Pydantic next to oneOf) only
    // names the property whose const values already tell branches apart.
    {"title", KeywordKind::kAnnotation},
    {"description", KeywordKind::kAnnotation},
    {"default", KeywordKind::kAnnotation},
    {"examples", KeywordKind::kAnnotation},
    {"deprecated", KeywordKind::kAnnotation},
    {"readOnly", KeywordKind::kAnnotation},
    {"writeOnly", KeywordKind::kAnnotation},
    {"$comment", KeywordKind::kAnnotation},
    {"$schema", KeywordKind::kAnnotation},
    {"$id", KeywordKind::kAnnotation},
    {"discriminator", KeywordKind::kAnnotation},
    {"$defs", KeywordKind::kDefinitions},
    {"definitions", KeywordKind::kDefinitions},
    {"type", KeywordKind::kGeneric},
    {"enum", KeywordKind::kGeneric},
    {"const", KeywordKind::kGeneric},
    {"$ref", KeywordKind::kGeneric},
    {"allOf", KeywordKind::kGeneric},
    {"anyOf", KeywordKind::kGeneric},
    {"oneOf", KeywordKind::kGeneric},
    {"properties", KeywordKind::kObject},
    {"required", KeywordKind::kObject},
    {"additionalProperties", KeywordKind::kObject},
    {"items", KeywordKind::kArray},
    {"prefixItems", KeywordKind::kArray},
    {"additionalItems", KeywordKind::kArray},
    {"minItems", KeywordKind::kArray},
    {"maxItems", KeywordKind::kArray},
    {"uniqueItems", KeywordKind::kArray},
    {"minLength", KeywordKind::kString},
    {"maxLength", KeywordKind::kString},
    {"pattern", KeywordKind::kString},
    {"format", KeywordKind::kString},
    {"minimum", KeywordKind::kNumeric},
    {"maximum", KeywordKind::kNumeric},
    {"exclusiveMinimum", KeywordKind::kNumeric},
    {"exclusiveMaximum", KeywordKind::kNumeric},
};

constexpr std::pair<std::string_view, std::string_view> kRefused[] = {
    {"not", "negation cannot be expressed as a grammar"},
    {"if", "conditionals (if/then/else) are not supported"},
    {"then", "conditionals (if/then/else) are not supported"},
    {"else", "conditionals (if/then/else) are not supported"},
    {"dependentSchemas", "dependent schemas are not supported"},
    {"dependentRequired", "dependent requirements are not supported"},
    {"dependencies", "dependencies are not supported"},
    {"patternProperties", "pattern properties are not supported"},
    {"propertyNames", "property-name schemas are not supported"},
    {"minProperties", "property counts are not supported"},
    {"maxProperties", "property counts are not supported"},
    {"unevaluatedProperties", "unevaluated properties are not supported"},
    {"unevaluatedItems", "unevaluated items are not supported"},
    {"contains", "contains/minContains/maxContains are not supported"},
    {"minContains", "contains/minContains/maxContains are not supported"},
    {"maxContains", "contains/minContains/maxContains are not supported"},
    {"multipleOf", "multipleOf is not supported"},
    {"contentEncoding", "string content keywords are not supported"},
    {"contentMediaType", "string content keywords are not supported"},
    {"contentSchema", "string content keywords are not supported"},
    {"$anchor", "anchors are not supported; use \"#/...\" pointers"},
    {"$dynamicRef", "dynamic references are not supported"},
    {"$dynamicAnchor", "dynamic references are not supported"},
    {"$recursiveRef", "recursive references are not supported; use $ref"},
    {"$recursiveAnchor", "recursive references are not supported; use $ref"},
    {"$vocabulary", "vocabularies belong in meta-schemas"},
    {"nullable",
     "OpenAPI's nullable is not JSON Schema; use \"type\": [..., \"null\"]"},
};

}  // namespace

KeywordKind ClassifyKeyword(std::string_view keyword) {
  for (const Entry& e : kKeywords) {
    if (e.keyword == keyword) return e.kind;
  }
  return KeywordKind::kUnsupported;
}

std::string_view UnsupportedReason(std::string_view keyword) {
  for (const auto& [name, reason] : kRefused) {
    if (name == keyword) return reason;
  }
  return {};
}

std::string_view IgnoredAnnotationsList() {
  return "title, description, default, examples, deprecated, readOnly, "
         "writeOnly, $comment, $schema, $id (root only), discriminator";
}

}  // namespace ggufd::grammar::schema
