// "allOf" (and "$ref" with sibling keywords) by merging the parts into one
// schema the converter can turn into a grammar: types and enums intersect,
// properties and required lists unite (a property named twice gets both
// schemas, as a nested allOf), lower bounds take the largest and upper
// bounds the smallest. An allOf over anyOf/oneOf distributes into an anyOf
// of merged branches. Parts that cannot be merged exactly (two different
// patterns, formats or item schemas; additionalProperties when several parts
// describe the object) are refused rather than approximated.
#ifndef GGUFD_RUNTIME_GRAMMAR_SCHEMA_SCHEMA_ALL_OF_H_
#define GGUFD_RUNTIME_GRAMMAR_SCHEMA_SCHEMA_ALL_OF_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/grammar/schema/json_schema_converter.h"

namespace ggufd::grammar::schema {

// Each part with its JSON pointer (for errors). The result may be `false`
// (nothing satisfies the parts).
absl::StatusOr<Json> MergeAllOf(
    const std::vector<std::pair<Json, std::string>>& parts,
    const SchemaConverter& converter, int depth);

}  // namespace ggufd::grammar::schema

#endif  // GGUFD_RUNTIME_GRAMMAR_SCHEMA_SCHEMA_ALL_OF_H_
