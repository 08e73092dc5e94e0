// Bounds on what the JSON Schema and regex converters accept and produce.
// A schema or pattern is client input: these keep a request from asking for
// a grammar that costs unbounded memory or time to build, parse or match, and
// each one that is hit is reported as InvalidArgument naming it.
#ifndef GGUFD_RUNTIME_GRAMMAR_SCHEMA_SCHEMA_LIMITS_H_
#define GGUFD_RUNTIME_GRAMMAR_SCHEMA_SCHEMA_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace ggufd::grammar::schema {

// Schema or pattern text given to the converters.
inline constexpr size_t kMaxInputBytes = 1 << 20;
// Generated grammar text.
inline constexpr size_t kMaxGrammarBytes = 1 << 20;
// Elements a GBNF parser creates for the grammar once counted repetitions
// are expanded (llama.cpp copies the repeated element {m,n} times).
inline constexpr int64_t kMaxExpandedElements = 1 << 20;
// Any one count: minItems/maxItems, minLength/maxLength, regex {m,n}.
inline constexpr int64_t kMaxRepetition = 4096;
// Shortest document the grammar admits: beyond this, "valid" output would
// never fit in a generation (and likely comes from nested minimum counts).
inline constexpr int64_t kMaxMinimumDocumentChars = 1 << 20;
// Items of a tuple (prefixItems): each position is its own nested grammar
// expression.
inline constexpr int64_t kMaxTupleItems = 256;
// Nesting of arrays and objects in the schema text itself (JSON values such
// as a deeply nested "const" are copied and printed recursively).
inline constexpr int kMaxJsonNesting = 256;
// Nesting of subschemas (and of $ref / allOf expansion) the converter walks,
// and of groups in a regular expression.
inline constexpr int kMaxSchemaDepth = 128;
inline constexpr int kMaxRegexDepth = 128;
// Branches produced when allOf distributes over anyOf/oneOf.
inline constexpr size_t kMaxAllOfBranches = 256;
// Digits an integer may have where the schema does not bound it (as
// llama.cpp's integral-part: 16).
inline constexpr int kUnboundedIntegerDigits = 16;

}  // namespace ggufd::grammar::schema

#endif  // GGUFD_RUNTIME_GRAMMAR_SCHEMA_SCHEMA_LIMITS_H_
