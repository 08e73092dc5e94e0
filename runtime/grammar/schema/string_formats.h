// The string formats the JSON Schema converter supports, as grammar rules for
// the string's content: "date" (RFC 3339 full-date, days checked against the
// month and leap years, years 0001-9999), "time" (hh:mm:ss, optional .sss,
// then Z or an offset, as llama.cpp), "date-time" (date "T" time) and "uuid"
// (8-4-4-4-12 hex digits; llama.cpp's "uuid1".."uuid5" spellings mean the
// same). Each accepted string is valid for the format, so an independent
// validator (Python's jsonschema with its format checker) agrees.
#ifndef GGUFD_RUNTIME_GRAMMAR_SCHEMA_STRING_FORMATS_H_
#define GGUFD_RUNTIME_GRAMMAR_SCHEMA_STRING_FORMATS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/grammar/schema/gbnf_expr.h"
#include "runtime/grammar/schema/grammar_builder.h"

namespace ggufd::grammar::schema {

// Names of the fixed rules the formats define.
std::vector<std::string> StringFormatRuleNames();
// Comma-separated list of the format names, for error messages.
std::string SupportedFormatsList();

// The content rule (without quotes) for `format`, defined in `builder` on
// first use; nullopt for a format that is not supported.
std::optional<Expr> StringFormatContent(std::string_view format,
                                        GrammarBuilder* builder);

}  // namespace ggufd::grammar::schema

#endif  // GGUFD_RUNTIME_GRAMMAR_SCHEMA_STRING_FORMATS_H_
