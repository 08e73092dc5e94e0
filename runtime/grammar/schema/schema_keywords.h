// Which JSON Schema keywords the converter understands. Every keyword of a
// visited schema must be one of these; anything else is refused by name, so
// no constraint is ever dropped without the caller knowing.
#ifndef GGUFD_RUNTIME_GRAMMAR_SCHEMA_SCHEMA_KEYWORDS_H_
#define GGUFD_RUNTIME_GRAMMAR_SCHEMA_SCHEMA_KEYWORDS_H_

#include <string_view>

namespace ggufd::grammar::schema {

enum class KeywordKind {
  // Changes nothing about which documents are valid: ignored.
  kAnnotation,
  // $defs / definitions: read only through $ref.
  kDefinitions,
  kGeneric,  // type, enum, const, $ref, allOf, anyOf, oneOf
  kObject,   // properties, required, additionalProperties
  kArray,    // items, prefixItems, additionalItems, minItems, maxItems,
             // uniqueItems (false only)
  kString,   // minLength, maxLength, pattern, format
  kNumeric,  // minimum, maximum, exclusiveMinimum, exclusiveMaximum
  kUnsupported,
};

KeywordKind ClassifyKeyword(std::string_view keyword);

// Why a known keyword is refused (empty for keywords nobody defines).
std::string_view UnsupportedReason(std::string_view keyword);

// The annotations accepted and ignored, for documentation and errors.
std::string_view IgnoredAnnotationsList();

}  // namespace ggufd::grammar::schema

#endif  // GGUFD_RUNTIME_GRAMMAR_SCHEMA_SCHEMA_KEYWORDS_H_
