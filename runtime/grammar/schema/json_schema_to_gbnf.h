// Converts a JSON Schema to a GBNF grammar (llama.cpp's format) whose `root`
// matches JSON documents valid for the schema. Coverage follows llama.cpp's
// json-schema-to-grammar; unlike it, nothing is silently ignored.
//
// Supported: "type" (one or a list), "enum", "const", objects ("properties"
// in declared order, "required", "additionalProperties" false/true/schema),
// arrays ("items", "prefixItems" or the older array form of "items" with
// "additionalItems", "minItems", "maxItems"), strings ("minLength",
// "maxLength", "pattern" via RegexToGbnf's dialect with JSON Schema's search
// semantics, "format" date/time/date-time/uuid), integer bounds ("minimum",
// "maximum", "exclusiveMinimum", "exclusiveMaximum", numeric or draft-4
// boolean), "$ref" to "#" / "#/..." pointers in the document (recursion that
// goes through an object or array is fine), "anyOf", "oneOf" (generated as
// anyOf), "allOf" (merged), `{}` / true (any JSON value) and false.
//
// As in llama.cpp: an object schema with "properties" admits no other
// properties unless "additionalProperties" says so; a tuple's items are all
// expected unless "minItems" says otherwise; integers and numbers without
// bounds have at most 16 integer digits; whitespace between tokens is
// bounded (a space, or one or two newlines and up to 20 spaces or tabs), so
// a model cannot loop on whitespace.
//
// Refused with InvalidArgument naming the keyword and its JSON pointer: every
// other keyword except the annotations listed in schema_keywords.cc, bounds
// on non-integer numbers, other formats, remote or anchor $refs, $ref cycles
// that would never produce a character, schemas no finite document
// satisfies, and anything beyond the limits of schema_limits.h.
#ifndef GGUFD_RUNTIME_GRAMMAR_SCHEMA_JSON_SCHEMA_TO_GBNF_H_
#define GGUFD_RUNTIME_GRAMMAR_SCHEMA_JSON_SCHEMA_TO_GBNF_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ggufd::grammar {

absl::StatusOr<std::string> JsonSchemaToGbnf(std::string_view schema_json);

}  // namespace ggufd::grammar

#endif  // GGUFD_RUNTIME_GRAMMAR_SCHEMA_JSON_SCHEMA_TO_GBNF_H_
