// Converts a regular expression to a GBNF grammar (llama.cpp's format) whose
// `root` matches exactly the strings the whole expression matches.
//
// The expression is the ECMAScript subset JSON Schema's "pattern" uses:
// literals, escapes (\d \w \s \D \W \S, \n \r \t \f \v \0 \cX, \\, \xHH,
// \uHHHH, \u{H...}), classes with ranges and negation, `.` (any character but
// a line terminator), capturing, named and (?:) groups, alternation, and the
// quantifiers * + ? {m} {m,} {m,n} (lazy forms match the same strings). A
// match is always of the whole text, so `^` and `$` are accepted at the start
// and end of the expression (or of a top-level alternative) and refused
// anywhere else. Backreferences, lookaround, \b/\B and \p{...} are refused
// with InvalidArgument naming the construct; so are counts above
// kMaxRepetition and grammars beyond the limits of schema_limits.h.
#ifndef GGUFD_RUNTIME_GRAMMAR_SCHEMA_REGEX_TO_GBNF_H_
#define GGUFD_RUNTIME_GRAMMAR_SCHEMA_REGEX_TO_GBNF_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ggufd::grammar {

absl::StatusOr<std::string> RegexToGbnf(std::string_view pattern);

}  // namespace ggufd::grammar

#endif  // GGUFD_RUNTIME_GRAMMAR_SCHEMA_REGEX_TO_GBNF_H_
