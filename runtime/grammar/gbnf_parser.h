// GBNF, llama.cpp's grammar format, to a compiled Grammar.
//
// The syntax is llama.cpp's (grammars/README.md): `name ::= alternatives`
// rules (names of [a-zA-Z0-9-]), `|`, `( )`, "literals" and [classes] with
// the escapes \n \t \r \\ \" \[ \] \xHH \uHHHH \UHHHHHHHH, [^...] negation,
// `.` for any character, `* + ? {m} {m,} {m,n}`, `#` comments, rules over
// several lines (newlines inside parentheses and after `|`), and tokens:
// `<[123]>` by id, `<think>` by text, `!` before either for "any other
// token". Repetitions expand the way llama.cpp expands them.
//
// Refused, with the line and column and what is wrong: syntax errors,
// undefined or twice-defined rules, a missing `root`, left recursion (the
// matcher would loop; llama.cpp refuses it too), a `root` that can never
// complete, empty or reversed character classes, and grammars past the
// bounds of grammar.h. Alternatives that can never complete (they need an
// endless rule) are dropped, so generation never walks into a dead end.
#ifndef GGUFD_RUNTIME_GRAMMAR_GBNF_PARSER_H_
#define GGUFD_RUNTIME_GRAMMAR_GBNF_PARSER_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/grammar/grammar.h"

namespace ggufd::grammar {

// InvalidArgument naming the line, the column and the problem. `max_bytes`
// bounds the text (grammars converted from a JSON Schema may be larger
// than the schema).
absl::StatusOr<Grammar> ParseGbnf(std::string_view text,
                                  size_t max_bytes = kMaxGrammarBytes);

}  // namespace ggufd::grammar

#endif  // GGUFD_RUNTIME_GRAMMAR_GBNF_PARSER_H_
