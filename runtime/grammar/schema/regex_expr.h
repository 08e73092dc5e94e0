// The regex-to-grammar translation shared by RegexToGbnf (raw text, whole
// match) and JSON Schema's "pattern" (characters inside a JSON string, and a
// search: an unanchored side may have any text before or after the match).
#ifndef GGUFD_RUNTIME_GRAMMAR_SCHEMA_REGEX_EXPR_H_
#define GGUFD_RUNTIME_GRAMMAR_SCHEMA_REGEX_EXPR_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/grammar/schema/gbnf_expr.h"
#include "runtime/grammar/schema/grammar_builder.h"

namespace ggufd::grammar::schema {

struct RegexExprOptions {
  // Characters are written as in a JSON string (json_string_chars.h); sets
  // whose encoding is more than one class become rules named after
  // `rule_hint`.
  bool json_string = false;
  // JSON Schema semantics: a side without its anchor gets `any_char*`.
  bool search = false;
  Expr any_char;
  std::string rule_hint = "pattern";
};

absl::StatusOr<Expr> RegexToExpr(std::string_view pattern,
                                 const RegexExprOptions& options,
                                 GrammarBuilder* builder);

}  // namespace ggufd::grammar::schema

#endif  // GGUFD_RUNTIME_GRAMMAR_SCHEMA_REGEX_EXPR_H_
